import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import type { EngineJobRef, EngineStatus, JobFile, JobSpec, Submission } from '../../../src/engines/engine.js';
import type { ClusterRecord, ConfigValue, JobType } from '../../../src/store/types.js';
import { isTerminal } from '../../../src/store/statuses.js';

const run = promisify(execFile);
const FIXTURES = fileURLToPath(new URL('../../fixtures/spark/', import.meta.url));

/** The real cluster started by scripts/spark.sh (`spark_start`). */
export interface SparkTestCluster {
  masterUrl: string;
  restUrl: string;
  webUrl: string;
  sparkHome: string;
}

/**
 * The cluster from the environment; undefined (tests skip) outside CI when spark.sh was not
 * sourced, and a loud failure in CI, where a missing cluster must never pass for a green run.
 */
export function sparkCluster(): SparkTestCluster | undefined {
  const { SPARK_MASTER_URL, SPARK_REST_URL, SPARK_MASTER_WEB, SPARK_HOME } = process.env;
  if (SPARK_MASTER_URL && SPARK_REST_URL && SPARK_MASTER_WEB && SPARK_HOME) {
    return {
      masterUrl: SPARK_MASTER_URL,
      restUrl: SPARK_REST_URL,
      webUrl: SPARK_MASTER_WEB,
      sparkHome: SPARK_HOME,
    };
  }
  if (process.env.CI) {
    throw new Error('CI is set but no Spark cluster: source scripts/spark.sh and run spark_start');
  }
  return undefined;
}

export const SKIP_REASON = 'no Spark cluster (source scripts/spark.sh && spark_start)';

export function clusterRecord(cluster: SparkTestCluster, spark: Record<string, unknown> = {}): ClusterRecord {
  return {
    id: 'spark-test-cluster',
    tenant_id: 'tenant',
    is_public: false,
    is_protected: false,
    created_at: new Date().toISOString(),
    updated_at: null,
    name: 'spark-test',
    description: '',
    plugin_name: 'spark',
    hadoop_version: '3.5.9',
    engine: 'spark',
    status: 'Active',
    status_description: '',
    cluster_configs: {
      spark: {
        master: cluster.masterUrl,
        rest_url: cluster.restUrl,
        web_url: cluster.webUrl,
        spark_home: cluster.sparkHome,
        python: 'python3',
        ...spark,
      },
    },
  };
}

export interface Fixtures {
  /** The application jar: WordCount, Sleeper, Thrower, Greeter. */
  appJar: string;
  /** A library jar with Greeting, used by Greeter. */
  libJar: string;
  python: (name: string) => string;
}

let built: Promise<Fixtures> | undefined;

/** Compiles the Java fixtures against the cluster's own Spark jars (once per process). */
export function buildFixtures(cluster: SparkTestCluster): Promise<Fixtures> {
  built ??= (async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'oasis-spark-fixtures-'));
    const sourceDir = path.join(FIXTURES, 'java');
    const sources = (await readdir(sourceDir, { recursive: true }))
      .filter((file) => file.endsWith('.java'))
      .map((file) => path.join(sourceDir, file));
    const classes = path.join(out, 'classes');
    const classPath = path.join(cluster.sparkHome, 'jars', '*');
    await run('javac', ['-cp', classPath, '-d', classes, ...sources]);
    const pkg = path.join('org', 'oasis', 'fixtures');
    const appClasses = (await readdir(path.join(classes, pkg)))
      .filter((file) => !file.startsWith('Greeting'))
      .map((file) => path.join(pkg, file));
    const appJar = path.join(out, 'oasis-fixtures.jar');
    const libJar = path.join(out, 'oasis-greeting.jar');
    await run('jar', ['cf', appJar, ...appClasses], { cwd: classes });
    await run('jar', ['cf', libJar, path.join(pkg, 'Greeting.class')], { cwd: classes });
    return { appJar, libJar, python: (name) => path.join(FIXTURES, 'python', name) };
  })();
  return built;
}

export const jobFile = (file: string, name = path.basename(file)): JobFile => ({
  name,
  url: `internal-db://${name}`,
  read: () => readFile(file),
});

export interface JobOptions {
  jobType?: JobType;
  mains: JobFile[];
  libs?: JobFile[];
  configs?: Record<string, ConfigValue>;
  params?: Record<string, ConfigValue>;
  args?: string[];
}

/** Small drivers and executors, one core per application: the test workers are tiny. */
export const SMALL_APP: Record<string, ConfigValue> = {
  'spark.driver.memory': '512m',
  'spark.executor.memory': '512m',
  'spark.cores.max': '1',
};

let counter = 0;

export function jobSpec(options: JobOptions): JobSpec {
  counter += 1;
  return {
    executionId: `${process.pid}-${Date.now()}-${counter}`,
    jobType: options.jobType ?? 'Spark',
    templateName: `spark-test-${counter}`,
    mains: options.mains,
    libs: options.libs ?? [],
    configs: options.configs ?? {},
    params: options.params ?? {},
    args: options.args ?? [],
    inputUrl: null,
    outputUrl: null,
  };
}

export const refOf = (job: JobSpec, submission: Submission): EngineJobRef => ({
  executionId: job.executionId,
  engineJobId: submission.engineJobId,
  extra: submission.extra,
});

/** Polls until `accept` holds; fails with the last value after a generous deadline. */
export async function pollUntil<T>(
  read: () => Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs = 120_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await read();
    if (accept(last)) return last;
    await sleep(250);
  }
  throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(last)}`);
}

export const untilTerminal = (read: () => Promise<EngineStatus>): Promise<EngineStatus> =>
  pollUntil(read, (status) => isTerminal(status.status));

export interface MasterApp {
  id: string;
  name: string;
  state: string;
}

export interface MasterDriver {
  id: string;
  state: string;
  worker: string;
  mainclass: string;
}

export async function masterJson(cluster: SparkTestCluster): Promise<{
  activeapps: MasterApp[];
  completedapps: MasterApp[];
  activedrivers: MasterDriver[];
  completeddrivers: MasterDriver[];
  workers: { id: string; state: string; memory: number; webuiaddress: string }[];
}> {
  const response = await fetch(`${cluster.webUrl}/json/`);
  return (await response.json()) as Awaited<ReturnType<typeof masterJson>>;
}

/**
 * The master's drivers (running and completed) that were launched for this execution. The
 * master's /json does not say which submission a driver came from, but each driver's log starts
 * with its launch command, which names the application jar staged under the execution's id.
 */
export async function driversOfExecution(
  spark: SparkTestCluster,
  mainClass: string,
  executionId: string,
): Promise<MasterDriver[]> {
  const master = await masterJson(spark);
  const candidates = [...master.activedrivers, ...master.completeddrivers].filter(
    (driver) => driver.mainclass === mainClass,
  );
  const ours: MasterDriver[] = [];
  for (const driver of candidates) {
    // The master keeps listing workers that died (another test kills one): their logs are gone.
    const worker = master.workers.find((candidate) => candidate.id === driver.worker && candidate.state === 'ALIVE');
    if (!worker) continue;
    const query = new URLSearchParams({ driverId: driver.id, logType: 'stderr', offset: '0', byteLength: '65536' });
    const log = await fetch(`${worker.webuiaddress}/log/?${query}`)
      .then((response) => (response.ok ? response.text() : ''))
      .catch(() => '');
    if (log.includes(`/${executionId}/`)) ours.push(driver);
  }
  return ours;
}

/** `word<TAB>count` lines of every part file of a Spark output directory. */
export async function readCounts(dir: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const file of (await readdir(dir)).filter((name) => name.startsWith('part-')).sort()) {
    for (const line of (await readFile(path.join(dir, file), 'utf8')).split('\n')) {
      if (!line) continue;
      const [word, count] = line.split('\t');
      counts.set(word ?? '', Number(count));
    }
  }
  return counts;
}

/** Counts words the plain way, to check Spark's answer against. */
export function expectedCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const word of text.split(/\s+/).filter(Boolean)) counts.set(word, (counts.get(word) ?? 0) + 1);
  return counts;
}
