import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { Engine, EngineCluster, JobSpec } from '../../src/engines/engine.js';
import { createSparkEngine } from '../../src/engines/spark/index.js';
import type { ExecutionStatus } from '../../src/store/statuses.js';
import { jobSandbox } from '../support/sandbox.js';
import { binary, cluster as localCluster, engineFixture, shellJob } from './local/helpers.js';
import * as spark from './spark/support.js';
import * as yarn from './yarn/support.js';

/**
 * One engine on its real cluster, as the conformance suite drives it: three small jobs (one
 * that succeeds, one that fails, one that runs until cancelled) and how the engine's status
 * mapping names the failure.
 */
export interface ConformanceSubject {
  name: string;
  engine: Engine;
  cluster: EngineCluster;
  succeeding(): Promise<JobSpec>;
  failing(): Promise<JobSpec>;
  /** Runs far longer than any test: it ends only when cancelled. */
  long(): Promise<JobSpec>;
  /** The status a job that fails on its own ends with. */
  failedStatus: ExecutionStatus;
  dispose(): Promise<void>;
}

/** The shell scripts every process-supervising subject runs. */
const SHELL = { succeeding: 'exit 0\n', failing: 'echo failing >&2; exit 3\n', long: 'sleep 600\n' };

export async function localSubject(): Promise<ConformanceSubject> {
  const fixture = await engineFixture();
  return {
    name: 'local',
    engine: fixture.engine,
    cluster: localCluster,
    succeeding: async () => shellJob(SHELL.succeeding),
    failing: async () => shellJob(SHELL.failing),
    long: async () => shellJob(SHELL.long),
    failedStatus: 'DONEWITHERROR',
    dispose: () => fixture.dispose(),
  };
}

/** Shell jobs on a Spark cluster: client mode, supervised on the Oasis host. */
export async function sparkClientSubject(cluster: spark.SparkTestCluster): Promise<ConformanceSubject> {
  const workDir = await mkdtemp(path.join(tmpdir(), 'oasis-conformance-spark-client-'));
  const engine = createSparkEngine({ workDir, nodeId: 'test-node', killGraceMs: 1_000, sandbox: jobSandbox() });
  const shell = (script: string): JobSpec => spark.jobSpec({ jobType: 'Shell', mains: [binary('main.sh', script)] });
  return {
    name: 'spark (client mode)',
    engine,
    cluster: spark.clusterRecord(cluster),
    succeeding: async () => shell(SHELL.succeeding),
    failing: async () => shell(SHELL.failing),
    long: async () => shell(SHELL.long),
    failedStatus: 'DONEWITHERROR',
    dispose: async () => {
      await engine.close();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

/** JVM applications on a Spark cluster: cluster mode, drivers submitted to the master. */
export async function sparkClusterSubject(cluster: spark.SparkTestCluster): Promise<ConformanceSubject> {
  const workDir = await mkdtemp(path.join(tmpdir(), 'oasis-conformance-spark-cluster-'));
  const engine = createSparkEngine({ workDir, nodeId: 'test-node', killGraceMs: 1_000, sandbox: jobSandbox() });
  const fixtures = await spark.buildFixtures(cluster);
  const application = (mainClass: string, args: string[]): JobSpec =>
    spark.jobSpec({
      mains: [spark.jobFile(fixtures.appJar)],
      configs: { ...spark.SMALL_APP, 'edp.java.main_class': mainClass },
      args,
    });
  return {
    name: 'spark (cluster mode)',
    engine,
    cluster: spark.clusterRecord(cluster),
    succeeding: async () => application('org.oasis.fixtures.Sleeper', ['0']),
    failing: async () => application('org.oasis.fixtures.Thrower', ['on', 'purpose']),
    long: async () => application('org.oasis.fixtures.Sleeper', ['600']),
    failedStatus: 'DONEWITHERROR',
    dispose: async () => {
      await engine.close();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

/** Java jobs on a YARN cluster. */
export async function yarnSubject(hadoop: yarn.HadoopTestCluster): Promise<ConformanceSubject> {
  const engine = await yarn.newEngine(hadoop);
  const writer = (action: string): Promise<JobSpec> =>
    yarn.hdfsWriterJob(hadoop, yarn.hdfsPath(hadoop, 'out.txt'), action);
  return {
    name: 'yarn',
    engine,
    cluster: yarn.clusterRecord(hadoop),
    succeeding: async () => writer('written'),
    failing: async () => writer('fail'),
    long: async () => writer('sleep:600000'),
    failedStatus: 'FAILED',
    dispose: () => engine.close(),
  };
}
