/**
 * Scale: the latency of one list page (limit=20) with 1k and with 100k executions in the table,
 * and the resident memory of an idle Oasis holding 100k executions. Two Oasis processes run side
 * by side, one per table size, and the requests alternate between them, so both see the same
 * machine. Tables are filled through the Store API, not HTTP.
 *
 *   node --import tsx bench/scale.ts       (or `npm run bench` for everything)
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { createShellJob, PROJECT, seedExecutions } from './lib/fixtures.js';
import { createDatabase, type Dialect, postgresAdminUrl, rssMegabytes, startOasis } from './lib/oasis.js';
import { printTable, progress, type Row } from './lib/report.js';
import { median, quantile, spread } from './lib/stats.js';

const SMALL = 1_000;
const LARGE = 100_000;
const SAMPLES = 400;
const LATENCY_TARGET = 1.5;
const RSS_TARGET_MB = 120;

/** One request's wall time in ms, body read. */
async function timed(url: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(url);
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
  return performance.now() - started;
}

export async function scaleBenchmark(dialect: Dialect): Promise<Row[]> {
  const databases = [await createDatabase(dialect), await createDatabase(dialect)] as const;
  const instances = [await startOasis(databases[0]), await startOasis(databases[1])] as const;
  try {
    for (const [index, count] of [SMALL, LARGE].entries()) {
      progress(`scale ${dialect}: filling a table with ${count} executions`);
      const jobId = await createShellJob(instances[index]!.url, 'seeded', 'exit 0\n');
      await seedExecutions(databases[index]!, jobId, count);
    }
    const pages = instances.map((oasis) => `${oasis.url}/v1.1/${PROJECT}/job-executions?limit=20`);
    // Warm-up, then alternate: small, large, large, small, ...
    for (let i = 0; i < 50; i += 1) for (const page of pages) await timed(page);
    progress(`scale ${dialect}: ${SAMPLES} list requests on each table`);
    const samples: [number[], number[]] = [[], []];
    for (let i = 0; i < SAMPLES; i += 1) {
      const order = i % 2 === 0 ? [0, 1] : [1, 0];
      for (const index of order) samples[index as 0 | 1].push(await timed(pages[index]!));
    }
    // Idle: no requests, the pollers keep running.
    await sleep(3_000);
    const rss = [await rssMegabytes(instances[0].pid), await rssMegabytes(instances[1].pid)];

    const [small, large] = samples;
    const ratio = median(large) / median(small);
    const ms = (values: number[]) => `p50 ${median(values).toFixed(2)} ms, p99 ${quantile(values, 0.99).toFixed(2)} ms`;
    return [
      {
        benchmark: `Scale list page (${dialect})`,
        measure: `p50 latency 100k ÷ 1k rows (${SAMPLES} alternating sequential requests each)`,
        result: `${ratio.toFixed(2)}: 1k ${ms(small)}; 100k ${ms(large)}`,
        target: `≤ ${LATENCY_TARGET}`,
        met: ratio <= LATENCY_TARGET,
      },
      {
        benchmark: `Scale idle RSS (${dialect})`,
        measure: 'resident memory of Oasis, MB, 100k rows (1k rows)',
        result: `${spread([rss[1]!])} (${spread([rss[0]!])})`,
        target: `≤ ${RSS_TARGET_MB}`,
        met: rss[1]! <= RSS_TARGET_MB,
      },
    ];
  } finally {
    for (const oasis of instances) await oasis.stop();
    for (const database of databases) await database.drop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const rows: Row[] = [];
  for (const dialect of ['sqlite', ...(postgresAdminUrl() ? ['postgres' as const] : [])] as Dialect[]) {
    rows.push(...(await scaleBenchmark(dialect)));
  }
  console.log(printTable(rows));
}
