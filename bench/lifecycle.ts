/**
 * Lifecycle latencies of local jobs, measured from the jobs themselves:
 * - execute → process started: the job's first act is to print a nanosecond timestamp, compared
 *   with the moment the client sent POST jobs/{id}/execute;
 * - job exit → terminal status visible: the job prints a timestamp just before it exits while the
 *   client polls GET job-executions/{id} every few ms; the gap ends at the first terminal answer;
 * - 500 sleeping jobs at once: all tracked to SUCCEEDED, and the CPU the Oasis process uses while
 *   they run (from /proc/<pid>/stat over a window without any request).
 *
 *   node --import tsx bench/lifecycle.ts   (or `npm run bench` for everything)
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { isTerminal } from '../src/store/statuses.js';
import { monotonicMs, wallClockMs } from './lib/clock.js';
import { createShellJob, execute, request, waitFor } from './lib/fixtures.js';
import { cpuSeconds, createDatabase, type Dialect, postgresAdminUrl, startOasis } from './lib/oasis.js';
import { printTable, progress, type Row } from './lib/report.js';
import { median, quantile } from './lib/stats.js';

const RUNS = 40;
const SHOW_POLL_MS = 5;
const MANY = 500;
const CPU_WINDOW_MS = 10_000;
const START_TARGET_MS = 30;
const VISIBLE_TARGET_MS = 1_000;
const CPU_TARGET = 0.1;

export async function lifecycleBenchmark(dialect: Dialect): Promise<Row[]> {
  const database = await createDatabase(dialect);
  // Room for all the sleepers at once; everything else runs one job at a time.
  const oasis = await startOasis(database, { OASIS_LOCAL_CONCURRENCY: String(MANY + 10) });
  try {
    const stamped = await createShellJob(oasis.url, 'stamped', 'date +%s%N\nsleep 0.2\ndate +%s%N\n');
    const startLatencies: number[] = [];
    const visibleLatencies: number[] = [];
    progress(`lifecycle ${dialect}: ${RUNS} executions, one at a time`);
    for (let run = 0; run < RUNS; run += 1) {
      const sent = wallClockMs();
      const id = await execute(oasis.url, stamped);
      let terminalAt: number | undefined;
      while (terminalAt === undefined) {
        const shown = await request(oasis.url, 'GET', `/job-executions/${id}`);
        const status = shown.job_execution.info.status as string;
        if (isTerminal(status)) {
          if (status !== 'SUCCEEDED') throw new Error(`execution ${id} ended ${status}`);
          terminalAt = wallClockMs();
        } else await sleep(SHOW_POLL_MS);
      }
      const stdout = await readFile(path.join(database.dataDir, 'executions', id, 'stdout'), 'utf8');
      const [started, exiting] = stdout
        .trim()
        .split('\n')
        .map((line) => Number(line) / 1e6);
      startLatencies.push(started! - sent);
      visibleLatencies.push(terminalAt - exiting!);
    }

    const many = await manyJobs(oasis.url, oasis.pid, dialect);
    const ms = (value: number) => `${value.toFixed(1)} ms`;
    return [
      {
        benchmark: `Lifecycle execute → process started (${dialect})`,
        measure: `p50 (p99) over ${RUNS} sequential executions`,
        result: `${ms(median(startLatencies))} (${ms(quantile(startLatencies, 0.99))})`,
        target: `p50 ≤ ${START_TARGET_MS} ms`,
        met: median(startLatencies) <= START_TARGET_MS,
      },
      {
        benchmark: `Lifecycle job exit → terminal status in show (${dialect})`,
        measure: `p99 (p50) over ${RUNS} executions, show polled every ${SHOW_POLL_MS} ms`,
        result: `${ms(quantile(visibleLatencies, 0.99))} (${ms(median(visibleLatencies))})`,
        target: `p99 ≤ ${VISIBLE_TARGET_MS} ms`,
        met: quantile(visibleLatencies, 0.99) <= VISIBLE_TARGET_MS,
      },
      {
        benchmark: `Lifecycle ${MANY} sleeping local jobs (${dialect})`,
        measure: `Oasis CPU while all run (${CPU_WINDOW_MS / 1000}s window, no requests), share of one core`,
        result:
          `${(many.cpu * 100).toFixed(1)}%; all ${MANY} SUCCEEDED: ${many.succeeded === MANY ? 'yes' : `no (${many.succeeded})`}; ` +
          `launching them took ${(many.launchMs / 1000).toFixed(1)} s at ${(many.launchCpu * 100).toFixed(0)}% CPU`,
        target: `< ${CPU_TARGET * 100}%, all tracked`,
        met: many.cpu < CPU_TARGET && many.succeeded === MANY,
      },
    ];
  } finally {
    await oasis.stop();
    await database.drop();
  }
}

async function countWithStatus(base: string, jobId: string, status: string): Promise<number> {
  const page = await request(base, 'GET', `/job-executions?status=${status}&job_id=${jobId}`);
  return (page.job_executions as unknown[]).length;
}

/**
 * Starts MANY jobs that all sleep until one shared deadline, far enough ahead to launch them all
 * and then measure a quiet window while every one of them is running.
 */
async function manyJobs(base: string, pid: number, dialect: Dialect) {
  progress(`lifecycle ${dialect}: ${MANY} sleeping jobs at once`);
  const sleeper = await createShellJob(base, 'sleeper', 'now=$(date +%s)\nsleep $(( $1 - now ))\n');
  const launchBudgetMs = 30_000;
  const deadline = Math.ceil((Date.now() + launchBudgetMs + CPU_WINDOW_MS + 3_000) / 1000);
  const launchStarted = monotonicMs();
  const cpuBeforeLaunch = await cpuSeconds(pid);
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < MANY) {
        next += 1;
        await execute(base, sleeper, [String(deadline)]);
      }
    }),
  );
  await waitFor(
    'every sleeper to run',
    async () => ((await countWithStatus(base, sleeper, 'RUNNING')) === MANY ? true : undefined),
    launchBudgetMs,
    250,
  );
  const launchMs = monotonicMs() - launchStarted;
  const launchCpu = (await cpuSeconds(pid)) - cpuBeforeLaunch;

  await sleep(1_000);
  if (Date.now() + CPU_WINDOW_MS > deadline * 1000) throw new Error('the sleepers end before the CPU window does');
  const before = await cpuSeconds(pid);
  const windowStarted = monotonicMs();
  await sleep(CPU_WINDOW_MS);
  const cpu = ((await cpuSeconds(pid)) - before) / ((monotonicMs() - windowStarted) / 1000);
  const stillRunning = await countWithStatus(base, sleeper, 'RUNNING');
  if (stillRunning !== MANY) throw new Error(`only ${stillRunning} sleepers ran through the CPU window`);

  const succeeded = await waitFor(
    'every sleeper to end',
    async () => {
      const ended = await countWithStatus(base, sleeper, 'SUCCEEDED');
      return ended === MANY ? ended : undefined;
    },
    60_000,
    500,
  );
  return { cpu, succeeded, launchMs, launchCpu: launchCpu / (launchMs / 1000) };
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const rows: Row[] = [];
  for (const dialect of ['sqlite', ...(postgresAdminUrl() ? ['postgres' as const] : [])] as Dialect[]) {
    rows.push(...(await lifecycleBenchmark(dialect)));
  }
  console.log(printTable(rows));
}
