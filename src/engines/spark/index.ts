import { mkdir } from 'node:fs/promises';
import path from 'node:path';

import type { Engine } from '../engine.js';
import type { Sandbox } from '../sandbox/index.js';
import { SparkEngine, type SparkEngineLogger } from './engine.js';

export type { SparkEngineLogger } from './engine.js';
export type { SparkClusterSettings } from './settings.js';
export { validateSparkCluster } from './settings.js';
export { statusOfDriverState } from './states.js';

export interface SparkEngineOptions {
  /**
   * `<dataDir>/spark`: client-mode jobs (Python drivers, Shell) run in `<workDir>/<executionId>/`,
   * and JVM application jars are staged there when the cluster names no `shared_dir`.
   */
  workDir: string;
  /** This Oasis node; a client-mode job can only be found again by the node that started it. */
  nodeId: string;
  /** Time between SIGTERM and SIGKILL when a client-mode job is cancelled. */
  killGraceMs: number;
  /** Spark installation on this host for Python drivers, when a cluster names no `spark_home`. */
  sparkHome?: string;
  /** Confines client-mode jobs; see src/engines/sandbox. */
  sandbox: Sandbox;
  /** How long a driver submission waits for the master's answer (default 10 s). */
  submitTimeoutMs?: number;
  logger?: SparkEngineLogger;
}

const SUBMIT_TIMEOUT_MS = 10_000;
/**
 * The master answers a create request within its RPC ask timeout (`spark.rpc.askTimeout`, 120 s
 * by default) or never creates the driver; a margin on top.
 */
const SUBMIT_SETTLE_MS = 150_000;

/**
 * The engine for kind `spark`: runs Spark (and Shell) jobs on a registered Spark standalone
 * cluster. JVM applications are submitted in cluster deploy mode through the master's REST
 * submission server; Python applications and Shell jobs run in client mode as supervised
 * processes on this host. Jobs outlive Oasis and are re-adopted from their refs alone.
 */
export function createSparkEngine(options: SparkEngineOptions): Engine {
  const workDir = path.resolve(options.workDir);
  // Created lazily too, at each submit; this only surfaces a bad path early in the logs.
  void mkdir(workDir, { recursive: true, mode: 0o755 }).catch((error: unknown) => {
    options.logger?.error({ err: error, workDir }, 'cannot create the spark work directory');
  });
  return new SparkEngine({
    workDir,
    nodeId: options.nodeId,
    killGraceMs: options.killGraceMs,
    sparkHome: options.sparkHome,
    sandbox: options.sandbox,
    submitTimeoutMs: options.submitTimeoutMs ?? SUBMIT_TIMEOUT_MS,
    submitSettleMs: SUBMIT_SETTLE_MS,
    logger: options.logger,
  });
}
