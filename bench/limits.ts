/**
 * Input limits: one project sending the largest bodies the limits allow must not hold up another
 * project's requests. A heavy project (its own process, 4 connections) loops over an execute
 * with job_configs at every limit, a template create at every limit, a page of 20 of each list
 * those fill and the whole list of its executions; meanwhile another project reads one
 * execution, one request at a time. The same reads without the heavy load are the baseline;
 * loaded and baseline phases alternate within one run, so a shared machine's drift hits both
 * alike. Target: the loaded p99 under 50 ms.
 *
 *   node --import tsx bench/limits.ts      (or `npm run bench` for everything)
 *
 * OASIS_BENCH_HEAVY_CONNECTIONS (4) and OASIS_BENCH_HEAVY_KINDS (e.g. `execute,template`) vary the
 * heavy side, to find which of its requests holds the others up.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { LIMITS } from '../src/api/limits.js';
import { openStore } from '../src/store/index.js';
import type { HeavyClientData, HeavyKind, HeavyReport } from './lib/heavy-client.js';
import { createShellJob, PROJECT, request, seedExecutions } from './lib/fixtures.js';
import { type BenchDatabase, createDatabase, type Dialect, postgresAdminUrl, startOasis } from './lib/oasis.js';
import { printTable, progress, type Row } from './lib/report.js';
import { median, quantile, spread } from './lib/stats.js';

const ROUNDS = 3;
const SECONDS = 6;
const HEAVY_PROJECT = 'heavy';
const HEAVY_CONNECTIONS = Number(process.env.OASIS_BENCH_HEAVY_CONNECTIONS ?? 4);
const LIST_LIMIT = 20;
const TARGET_P99_MS = 50;

export async function limitsBenchmark(dialect: Dialect): Promise<Row[]> {
  const database = await createDatabase(dialect);
  const oasis = await startOasis(database);
  let client: ChildProcess | undefined;
  try {
    progress(`limits ${dialect}: setting up`);
    const quietJob = await createShellJob(oasis.url, 'quiet', 'exit 0\n');
    await seedExecutions(database, quietJob, 1);
    const [shown] = (await request(oasis.url, 'GET', '/job-executions?limit=1')).job_executions as { id: string }[];
    const showUrl = `${oasis.url}/v1.1/${PROJECT}/job-executions/${shown!.id}`;
    const data = await heavySetup(oasis.url, database);

    client = fork(new URL('./lib/heavy-client.ts', import.meta.url), { execArgv: ['--import', 'tsx'] });
    const heavy = client;
    heavy.send({ type: 'setup', data });
    // Until the end, the heavy client exiting is a failure of the run.
    let ending = false;
    const exited = once(heavy, 'exit').then(([code]) => {
      if (!ending) throw new Error(`the heavy client exited with ${String(code)}`);
      return [undefined] as unknown as [HeavyReport];
    });
    exited.catch(() => undefined);
    const reports: HeavyReport[] = [];
    const phase = async (loaded: boolean): Promise<number[]> => {
      if (loaded) {
        heavy.send({ type: 'start' });
        // Every heavy connection has a request in flight before the clock starts.
        await sleep(1_000);
      }
      const samples = await showLatencies(showUrl, SECONDS * 1000);
      if (loaded) {
        const stopped = once(heavy, 'message') as Promise<[HeavyReport]>;
        heavy.send({ type: 'stop' });
        reports.push((await Promise.race([stopped, exited]))[0]);
      }
      return samples;
    };

    // Warm-up of both sides: JIT, connection pools, caches.
    await showLatencies(showUrl, 1_000);
    await phase(true);
    reports.length = 0;

    const baseline: number[][] = [];
    const loaded: number[][] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      progress(`limits ${dialect}: round ${round + 1}/${ROUNDS}`);
      if (round % 2 === 0) {
        baseline.push(await phase(false));
        loaded.push(await phase(true));
      } else {
        loaded.push(await phase(true));
        baseline.push(await phase(false));
      }
    }
    ending = true;
    return rowsOf(dialect, baseline, loaded, reports);
  } finally {
    if (client?.connected) {
      const exited = once(client, 'exit');
      client.disconnect();
      await exited;
    }
    await oasis.stop();
    await database.drop();
  }
}

/**
 * The heavy project: a queue for its executions (a Spark cluster whose master never answers,
 * stored directly as registering one takes the admin role; executions on it stay PENDING, so the
 * measurement is of the API, not of jobs), a Shell template to execute, and as many binaries as a
 * template at the limits names.
 */
async function heavySetup(base: string, database: BenchDatabase): Promise<HeavyClientData> {
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${base}/v1.1/${HEAVY_PROJECT}${path}`, {
      method,
      headers: { 'content-type': typeof body === 'string' ? 'application/octet-stream' : 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status !== 202) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
    return JSON.parse(text) as Record<string, any>;
  };
  const jbi = (await call('PUT', '/job-binary-internals/heavy.sh', 'exit 0\n')).job_binary_internal.id as string;
  const binaryIds: string[] = [];
  for (let i = 0; i < LIMITS.binaries * 2; i += 1) {
    binaryIds.push(
      (await call('POST', '/job-binaries', { name: `heavy-${i}.sh`, url: `internal-db://${jbi}` })).job_binary.id,
    );
  }
  const templateId = (await call('POST', '/jobs', { name: 'heavy', type: 'Shell', mains: [binaryIds[0]] })).job
    .id as string;

  const store = await openStore({ databaseUrl: database.url, dataDir: database.dataDir });
  const clusterId = randomUUID();
  try {
    await store.clusters.insert({
      id: clusterId,
      tenant_id: HEAVY_PROJECT,
      is_public: false,
      is_protected: false,
      name: 'unreachable',
      description: '',
      plugin_name: 'spark',
      hadoop_version: '3.5.0',
      engine: 'spark',
      status: 'Error',
      status_description: 'never answers',
      cluster_configs: { spark: { master: 'spark://127.0.0.1:9', rest_url: 'http://127.0.0.1:9' } },
    });
  } finally {
    await store.close();
  }
  return {
    base,
    project: HEAVY_PROJECT,
    templateId,
    clusterId,
    binaryIds,
    connections: HEAVY_CONNECTIONS,
    listLimit: LIST_LIMIT,
    // To find which request holds the others up: e.g. OASIS_BENCH_HEAVY_KINDS=execute.
    ...(process.env.OASIS_BENCH_HEAVY_KINDS
      ? { kinds: process.env.OASIS_BENCH_HEAVY_KINDS.split(',') as HeavyKind[] }
      : {}),
    limits: LIMITS,
  };
}

/** GET `url` one request at a time for `ms`; the wall time of each, body read, in ms. */
async function showLatencies(url: string, ms: number): Promise<number[]> {
  const samples: number[] = [];
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    const started = performance.now();
    const response = await fetch(url);
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
    samples.push(performance.now() - started);
  }
  return samples;
}

function rowsOf(dialect: Dialect, baseline: number[][], loaded: number[][], reports: HeavyReport[]): Row[] {
  const p99 = (values: number[]) => quantile(values, 0.99);
  const all = (rounds: number[][]) => rounds.flat();
  const loadedP99 = p99(all(loaded));
  const ms = (value: number) => value.toFixed(1);
  const heavyKinds: HeavyKind[] = ['execute', 'template', 'list executions', 'list templates', 'list all executions'];
  const heavy = heavyKinds
    .map((kind) => {
      const latencies = reports.flatMap((report) => report.latencies[kind]);
      return `${kind} ${latencies.length}× p50 ${ms(median(latencies))} ms`;
    })
    .join('; ');
  const sizes = reports[0]?.bodyBytes;
  return [
    {
      benchmark: `Limits: show beside a heavy project (${dialect})`,
      measure: `another project's show p99 ms, heavy load vs none (${ROUNDS}× ${SECONDS}s each, alternating; sequential requests)`,
      result:
        `${ms(loadedP99)} vs ${ms(p99(all(baseline)))} (per round ${spread(loaded.map(p99), 1)} vs ${spread(baseline.map(p99), 1)}); ` +
        `p50 ${ms(median(all(loaded)))} vs ${ms(median(all(baseline)))}; ${all(loaded).length} vs ${all(baseline).length} requests`,
      target: `< ${TARGET_P99_MS}`,
      met: loadedP99 < TARGET_P99_MS,
    },
    {
      benchmark: `Limits: the heavy project (${dialect})`,
      measure: `its requests (${HEAVY_CONNECTIONS} conn.; execute ${kib(sizes?.execute)}, template ${kib(sizes?.template)}, pages of ${LIST_LIMIT})`,
      result: heavy,
      target: '',
      met: null,
    },
  ];
}

const kib = (bytes: number | undefined) => (bytes === undefined ? '?' : `${Math.round(bytes / 1024)} KiB`);

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const rows: Row[] = [];
  for (const dialect of ['sqlite', ...(postgresAdminUrl() ? ['postgres' as const] : [])] as Dialect[]) {
    rows.push(...(await limitsBenchmark(dialect)));
  }
  console.log(printTable(rows));
}
