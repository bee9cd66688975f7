import { mkdir } from 'node:fs/promises';
import path from 'node:path';

import type { Engine } from '../engine.js';
import { YarnEngine, type YarnEngineLogger } from './engine.js';
import { run } from './submit-client.js';

export type { YarnEngineLogger } from './engine.js';
export type { YarnClusterSettings } from './settings.js';
export { validateYarnCluster } from './settings.js';
export { executionStatusOf } from './states.js';
export { tagOf } from './job-spec.js';

export interface YarnEngineOptions {
  /** `<dataDir>/yarn`: binaries and job files are staged in `<workDir>/executions/<id>/`. */
  workDir: string;
  /** This Oasis node (YARN jobs are found again by id from any node). */
  nodeId: string;
  /**
   * The Hadoop client classpath on this host, for clusters that name no `hadoop_classpath`.
   * Without it, `hadoop classpath` is asked at the first submission.
   */
  hadoopClasspath?: string;
  /** The JDK whose java, javac and jar run the submission client; else they come from PATH. */
  javaHome?: string;
  logger?: YarnEngineLogger;
}

/**
 * The engine for kind `yarn` (Sahara plugin `vanilla`): MapReduce, MapReduce.Streaming and
 * Java jobs on a Hadoop cluster, with HDFS data sources. Each job is a real YARN application
 * tagged `oasis-<execution id>`; its application id is the engine job id.
 */
export function createYarnEngine(options: YarnEngineOptions): Engine {
  const workDir = path.resolve(options.workDir);
  void mkdir(workDir, { recursive: true, mode: 0o755 }).catch((error: unknown) => {
    options.logger?.error({ err: error, workDir }, 'cannot create the yarn work directory');
  });
  const javaBin = (tool: string) => (options.javaHome ? path.join(options.javaHome, 'bin', tool) : tool);
  let asked: Promise<string> | undefined;
  const defaultClasspath = (): Promise<string> => {
    if (options.hadoopClasspath) return Promise.resolve(options.hadoopClasspath);
    asked ??= askHadoopClasspath().catch((error: unknown) => {
      asked = undefined;
      throw error;
    });
    return asked;
  };
  return new YarnEngine({ workDir, nodeId: options.nodeId, defaultClasspath, javaBin, logger: options.logger });
}

async function askHadoopClasspath(): Promise<string> {
  const result = await run('hadoop', ['classpath'], { timeoutMs: 60_000 }).catch((error: unknown) => {
    throw new Error(`no Hadoop client classpath is configured and \`hadoop classpath\` cannot run (${String(error)})`);
  });
  if (result.code !== 0 || !result.stdout.trim())
    throw new Error(`\`hadoop classpath\` failed: ${result.stderr.slice(0, 500)}`);
  return result.stdout.trim();
}
