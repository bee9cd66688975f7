/**
 * HTTP throughput and latency at 16 connections for show, a page of 20 executions, the full list
 * of 1000 executions (one job template's) and execute, on a real
 * Oasis process, against a bare node:http server answering the same bytes (the ceiling). Oasis
 * and the ceiling run back to back in every round (their order alternating), and the table shows
 * the per-round ratios, so a shared machine's drift hits both sides alike.
 *
 *   node --import tsx bench/http.ts        (or `npm run bench` for everything)
 */
import { pathToFileURL } from 'node:url';
import { type Recorded, record, startCeiling } from './lib/ceiling.js';
import { createShellJob, executeBody, PROJECT, request, seedExecutions, waitFor } from './lib/fixtures.js';
import { type LoadOptions, type LoadResult, load } from './lib/load.js';
import { cpuSeconds, createDatabase, type Dialect, postgresAdminUrl, startOasis } from './lib/oasis.js';
import { printTable, progress, type Row } from './lib/report.js';
import { median, pairedRatios, spread } from './lib/stats.js';

const ROUNDS = 3;
const SECONDS = 3;
/** Execute runs a fixed number of requests, so the jobs they queue stay few enough to drain. */
const EXECUTE_REQUESTS = 600;
/** Oasis's default; the instant jobs queue behind it and drain between rounds. */
const LOCAL_CONCURRENCY = 8;
/** The executions of the full list, all of one job template. */
const FULL_LIST = 1000;

/** Oasis's req/s ÷ the ceiling's, per endpoint with a target. */
const RATIO_TARGETS: Partial<Record<Endpoint, number>> = { show: 0.5, list: 0.3, full: 0.2 };
/** Oasis's CPU per row of the full list, µs. */
const ROW_CPU_TARGET_US = 5;
/** The full list's p99 ÷ its p50 at 16 connections. */
const FULL_TAIL_TARGET = 10;

type Endpoint = 'show' | 'list' | 'full' | 'execute';
const ENDPOINTS = ['show', 'list', 'full', 'execute'] as const;
const NAMES: Record<Endpoint, string> = {
  show: 'show',
  list: 'list (page of 20)',
  full: `list (all ${FULL_LIST})`,
  execute: 'execute',
};
/** The rows one answer lists. */
const ROWS: Partial<Record<Endpoint, number>> = { list: 20, full: FULL_LIST };

/** One measured run of Oasis: throughput, latency, and the CPU Oasis spent per request. */
type OasisRun = LoadResult & { cpuPerRequest: number };

interface Side {
  oasis: OasisRun[];
  ceiling: LoadResult[];
}

export async function httpBenchmark(dialect: Dialect): Promise<Row[]> {
  const database = await createDatabase(dialect);
  const oasis = await startOasis(database, { OASIS_LOCAL_CONCURRENCY: String(LOCAL_CONCURRENCY) });
  try {
    const jobId = await createShellJob(oasis.url, 'instant', 'exit 0\n');
    await seedExecutions(database, jobId, 200);
    const listedJobId = await createShellJob(oasis.url, 'listed', 'exit 0\n');
    await seedExecutions(database, listedJobId, FULL_LIST);
    const [first] = (await request(oasis.url, 'GET', '/job-executions?limit=1')).job_executions as { id: string }[];
    const paths: Record<Endpoint, { method: 'GET' | 'POST'; path: string; body?: unknown }> = {
      show: { method: 'GET', path: `/v1.1/${PROJECT}/job-executions/${first!.id}` },
      list: { method: 'GET', path: `/v1.1/${PROJECT}/job-executions?limit=20` },
      full: { method: 'GET', path: `/v1.1/${PROJECT}/job-executions?job_id=${listedJobId}` },
      execute: { method: 'POST', path: `/v1.1/${PROJECT}/jobs/${jobId}/execute`, body: executeBody() },
    };
    const answers: Record<string, Recorded> = {};
    for (const { method, path, body } of Object.values(paths)) {
      answers[`${method} ${path}`] = await record(oasis.url, method, path, body);
    }
    await drained(oasis.url);
    const ceiling = await startCeiling(answers);
    try {
      const options = (base: string, endpoint: Endpoint): LoadOptions => {
        const { method, path, body } = paths[endpoint];
        const shape = endpoint === 'execute' ? { amount: EXECUTE_REQUESTS } : { duration: SECONDS };
        return { url: `${base}${path}`, method, body, ...shape };
      };
      // Warm-up: JIT, connection pools, SQLite page cache.
      for (const endpoint of ['show', 'list', 'full'] as const) {
        await load({ ...options(oasis.url, endpoint), duration: 1 });
        await load({ ...options(ceiling.url, endpoint), duration: 1 });
      }
      const sides: Record<Endpoint, Side> = {
        show: { oasis: [], ceiling: [] },
        list: { oasis: [], ceiling: [] },
        full: { oasis: [], ceiling: [] },
        execute: { oasis: [], ceiling: [] },
      };
      for (let round = 0; round < ROUNDS; round += 1) {
        for (const endpoint of ENDPOINTS) {
          progress(`http ${dialect} ${endpoint} round ${round + 1}/${ROUNDS}`);
          const runOasis = async () => {
            const cpuBefore = await cpuSeconds(oasis.pid);
            const run = await load(options(oasis.url, endpoint));
            const cpuPerRequest = ((await cpuSeconds(oasis.pid)) - cpuBefore) / run.requests;
            sides[endpoint].oasis.push({ ...run, cpuPerRequest });
          };
          const runCeiling = async () => sides[endpoint].ceiling.push(await load(options(ceiling.url, endpoint)));
          if (round % 2 === 0) {
            await runOasis();
            await runCeiling();
          } else {
            await runCeiling();
            await runOasis();
          }
          // The queued jobs finish before the next measurement, so it does not pay for them.
          if (endpoint === 'execute') await drained(oasis.url);
        }
      }
      return ENDPOINTS.flatMap((endpoint) => rowsOf(dialect, endpoint, sides[endpoint]));
    } finally {
      await ceiling.stop();
    }
  } finally {
    await oasis.stop();
    await database.drop();
  }
}

/** Waits until no execution of the project is PENDING or RUNNING. */
async function drained(base: string): Promise<void> {
  await waitFor('queued executions to finish', async () => {
    for (const status of ['PENDING', 'RUNNING']) {
      const page = await request(base, 'GET', `/job-executions?status=${status}&limit=1`);
      if ((page.job_executions as unknown[]).length > 0) return undefined;
    }
    return true;
  });
}

function rowsOf(dialect: Dialect, endpoint: Endpoint, side: Side): Row[] {
  const benchmark = `HTTP ${NAMES[endpoint]} (${dialect})`;
  const ratios = pairedRatios(
    side.oasis.map((run) => run.rps),
    side.ceiling.map((run) => run.rps),
  );
  const rps = (runs: LoadResult[]) => spread(runs.map((run) => run.rps));
  const latency = (runs: LoadResult[]) =>
    `${spread(runs.map((run) => run.p50))} / ${spread(runs.map((run) => run.p99))}`;
  const shape =
    endpoint === 'execute'
      ? `${EXECUTE_REQUESTS} requests, local concurrency ${LOCAL_CONCURRENCY}`
      : `${SECONDS}s runs`;
  const ratioTarget = RATIO_TARGETS[endpoint];
  const rows: Row[] = [
    {
      benchmark,
      measure: `req/s Oasis ÷ ceiling (16 conn., ${ROUNDS}× ${shape})`,
      result: `${spread(ratios, 2)}: Oasis ${rps(side.oasis)} req/s, ceiling ${rps(side.ceiling)} req/s`,
      target: ratioTarget === undefined ? '' : `≥ ${ratioTarget.toFixed(2)}`,
      met: ratioTarget === undefined ? null : median(ratios) >= ratioTarget,
    },
    {
      benchmark,
      measure: 'latency p50 / p99 ms, Oasis vs ceiling',
      result: `${latency(side.oasis)} vs ${latency(side.ceiling)}`,
      target: '',
      met: null,
    },
  ];
  const listed = ROWS[endpoint];
  if (listed !== undefined) {
    const perRow = side.oasis.map((run) => (run.cpuPerRequest / listed) * 1e6);
    const full = endpoint === 'full';
    rows.push({
      benchmark,
      measure: 'Oasis CPU per listed row, µs',
      result: `${spread(perRow, 1)} (${spread(
        side.oasis.map((run) => run.cpuPerRequest * 1e3),
        2,
      )} ms per request)`,
      target: full ? `≤ ${ROW_CPU_TARGET_US}` : '',
      met: full ? median(perRow) <= ROW_CPU_TARGET_US : null,
    });
  }
  if (endpoint === 'full') {
    const tails = side.oasis.map((run) => run.p99 / Math.max(run.p50, 1));
    rows.push({
      benchmark,
      measure: 'Oasis latency p99 ÷ p50 (16 conn.)',
      result: spread(tails, 1),
      target: `≤ ${FULL_TAIL_TARGET}`,
      met: median(tails) <= FULL_TAIL_TARGET,
    });
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const rows: Row[] = [];
  for (const dialect of ['sqlite', ...(postgresAdminUrl() ? ['postgres' as const] : [])] as Dialect[]) {
    rows.push(...(await httpBenchmark(dialect)));
  }
  console.log(printTable(rows));
}
