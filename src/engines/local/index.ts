import { realpathSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';

import type { Engine } from '../engine.js';
import type { Sandbox } from '../sandbox/index.js';
import { findOnPath } from '../processes/executables.js';
import { LocalEngine, type LocalEngineLogger } from './engine.js';

export { logPaths } from '../processes/workdir.js';
export type { LocalEngineLogger } from './engine.js';

export interface LocalEngineOptions {
  /** `<dataDir>/executions`; each execution gets `<workDir>/<executionId>/`. */
  workDir: string;
  /** This Oasis node; a job can only be found again by the node that started it. */
  nodeId: string;
  /** Time between SIGTERM and SIGKILL when a job is cancelled. */
  killGraceMs: number;
  /** Where Java jobs find `bin/java`; without it, `java` is looked up on PATH. */
  javaHome?: string;
  /** Confines every job; see src/engines/sandbox. */
  sandbox: Sandbox;
  logger?: LocalEngineLogger;
}

/**
 * The engine for kind `local`: Shell and Java jobs run as supervised processes on this host,
 * each in its own process group, surviving (and re-adopted after) an Oasis restart. Linux only:
 * process identity is read from /proc.
 */
export async function createLocalEngine(options: LocalEngineOptions): Promise<Engine> {
  await mkdir(options.workDir, { recursive: true, mode: 0o700 });
  const javaExecutable = options.javaHome ? path.join(options.javaHome, 'bin', 'java') : findOnPath('java');
  if (!javaExecutable) {
    options.logger?.warn({}, 'no java on PATH: Java jobs will fail to start');
  }
  return new LocalEngine({
    workDir: path.resolve(options.workDir),
    nodeId: options.nodeId,
    killGraceMs: options.killGraceMs,
    javaExecutable,
    javaPaths: javaExecutable ? javaPathsOf(javaExecutable) : [],
    sandbox: options.sandbox,
    logger: options.logger,
  });
}

/** The JDK a Java job runs, when it lies outside the system directories every job sees. */
function javaPathsOf(javaExecutable: string): string[] {
  try {
    const home = path.dirname(path.dirname(realpathSync(javaExecutable)));
    return home.startsWith('/usr/') ? [] : [home];
  } catch {
    return [];
  }
}
