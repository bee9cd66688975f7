/**
 * What the job sandbox costs, side by side in one run: two Oasis processes, one with bubblewrap
 * (the default) and one with OASIS_SANDBOX=off, take turns running the same trivial job. Each
 * round measures, for both, execute → the job's first instruction (the job prints a nanosecond
 * timestamp) and execute → SUCCEEDED visible in show; the ratio is taken per round, so the drift
 * of a shared machine hits both sides alike.
 *
 *   node --import tsx bench/sandbox.ts   (or `npm run bench` for everything)
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { isTerminal } from '../src/store/statuses.js';
import { monotonicMs, wallClockMs } from './lib/clock.js';
import { createShellJob, execute, request } from './lib/fixtures.js';
import { createDatabase, startOasis, type BenchDatabase, type BenchOasis } from './lib/oasis.js';
import { printTable, progress, type Row } from './lib/report.js';
import { median, pairedRatios, quantile, spread } from './lib/stats.js';

const ROUNDS = 60;
/** Rounds run first and not counted: until both processes' hot paths are compiled, either may lag. */
const WARM_UP_ROUNDS = 10;
const SHOW_POLL_MS = 2;
const START_TARGET_MS = 30;
const RATIO_TARGET = 1.3;

interface Side {
  database: BenchDatabase;
  oasis: BenchOasis;
  job: string;
}

async function side(sandbox: 'bubblewrap' | 'off'): Promise<Side> {
  const database = await createDatabase('sqlite');
  const oasis = await startOasis(database, { OASIS_SANDBOX: sandbox, OASIS_LOG_LEVEL: 'warn' });
  const job = await createShellJob(oasis.url, 'trivial', 'date +%s%N\n');
  return { database, oasis, job };
}

/** One trivial execution: [execute → job started, execute → SUCCEEDED visible], in ms. */
async function once({ database, oasis, job }: Side): Promise<[number, number]> {
  const sent = wallClockMs();
  const sentAt = monotonicMs();
  const id = await execute(oasis.url, job);
  for (;;) {
    const status = (await request(oasis.url, 'GET', `/job-executions/${id}`)).job_execution.info.status as string;
    if (isTerminal(status)) {
      if (status !== 'SUCCEEDED') throw new Error(`execution ${id} ended ${status}`);
      break;
    }
    await sleep(SHOW_POLL_MS);
  }
  const done = monotonicMs() - sentAt;
  const stdout = await readFile(path.join(database.dataDir, 'executions', id, 'stdout'), 'utf8');
  return [Number(stdout.trim()) / 1e6 - sent, done];
}

export async function sandboxBenchmark(): Promise<Row[]> {
  const sandboxed = await side('bubblewrap');
  const unconfined = await side('off');
  try {
    progress(`sandbox: ${ROUNDS} rounds of a trivial job, sandboxed and unsandboxed in turn`);
    const started = { sandboxed: [] as number[], unconfined: [] as number[] };
    const done = { sandboxed: [] as number[], unconfined: [] as number[] };
    // Warm-up rounds, then alternating order so neither side always goes first.
    for (let round = 0; round < WARM_UP_ROUNDS; round += 1) {
      await once(sandboxed);
      await once(unconfined);
    }
    for (let round = 0; round < ROUNDS; round += 1) {
      const order = round % 2 === 0 ? (['sandboxed', 'unconfined'] as const) : (['unconfined', 'sandboxed'] as const);
      for (const name of order) {
        const [start, end] = await once(name === 'sandboxed' ? sandboxed : unconfined);
        started[name].push(start);
        done[name].push(end);
      }
    }
    const ratios = pairedRatios(done.sandboxed, done.unconfined);
    const ms = (value: number) => `${value.toFixed(1)} ms`;
    return [
      {
        benchmark: 'Sandbox: execute → process started, sandboxed (sqlite)',
        measure: `p50 (p99) over ${ROUNDS} executions; unsandboxed p50 ${ms(median(started.unconfined))}`,
        result: `${ms(median(started.sandboxed))} (${ms(quantile(started.sandboxed, 0.99))})`,
        target: `p50 ≤ ${START_TARGET_MS} ms`,
        met: median(started.sandboxed) <= START_TARGET_MS,
      },
      {
        benchmark: 'Sandbox: trivial job, sandboxed ÷ unsandboxed (sqlite)',
        measure: `execute → SUCCEEDED in show, paired per round; ${ms(median(done.sandboxed))} vs ${ms(median(done.unconfined))}`,
        result: `${spread(ratios, 2)}`,
        target: `median ≤ ${RATIO_TARGET}×`,
        met: median(ratios) <= RATIO_TARGET,
      },
    ];
  } finally {
    for (const { oasis, database } of [sandboxed, unconfined]) {
      await oasis.stop();
      await database.drop();
    }
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  console.log(printTable(await sandboxBenchmark()));
}
