/**
 * Node flags for `npm start`, chosen from show, list and memory measured together: for each
 * candidate set of flags, a real Oasis on SQLite with 1,200 executions answers show, a page of
 * 20 and the full list of 1,000 (16 connections, 3 s each), then idles. Candidates alternate
 * round by round so a shared machine's drift hits them alike. Reports req/s, Oasis's CPU per
 * request, resident memory right after the load and after 10 s idle.
 *
 *   node --import tsx bench/node-flags.ts [rounds] ['<flags>' ...]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createShellJob, PROJECT, request, seedExecutions } from './lib/fixtures.js';
import { load } from './lib/load.js';
import { cpuSeconds, createDatabase, rssMegabytes, startOasis } from './lib/oasis.js';
import { printTable, progress, type Row } from './lib/report.js';
import { spread } from './lib/stats.js';

const rounds = Number(process.argv[2] ?? 2);
const candidates =
  process.argv.length > 3 ? process.argv.slice(3) : ['', '--max-semi-space-size=2', '--max-semi-space-size=8'];
const ENDPOINTS = ['show', 'list', 'full'] as const;
const IDLE_MS = 10_000;

interface Sample {
  rps: Record<string, number>;
  cpuMs: Record<string, number>;
  p99: Record<string, number>;
  loadedRss: number;
  idleRss: number;
}

async function measure(flags: string): Promise<Sample> {
  process.env.OASIS_BENCH_NODE_FLAGS = flags;
  const database = await createDatabase('sqlite');
  const oasis = await startOasis(database);
  try {
    const jobId = await createShellJob(oasis.url, 'listed', 'exit 0\n');
    await seedExecutions(database, jobId, 1000);
    const [first] = (await request(oasis.url, 'GET', '/job-executions?limit=1')).job_executions as { id: string }[];
    const urls = {
      show: `${oasis.url}/v1.1/${PROJECT}/job-executions/${first!.id}`,
      list: `${oasis.url}/v1.1/${PROJECT}/job-executions?limit=20`,
      full: `${oasis.url}/v1.1/${PROJECT}/job-executions?job_id=${jobId}`,
    };
    for (const endpoint of ENDPOINTS) await load({ url: urls[endpoint], duration: 1 });
    const sample: Sample = { rps: {}, cpuMs: {}, p99: {}, loadedRss: 0, idleRss: 0 };
    for (const endpoint of ENDPOINTS) {
      const before = await cpuSeconds(oasis.pid);
      const run = await load({ url: urls[endpoint], duration: 3 });
      sample.rps[endpoint] = run.rps;
      sample.p99[endpoint] = run.p99;
      sample.cpuMs[endpoint] = (((await cpuSeconds(oasis.pid)) - before) / run.requests) * 1000;
    }
    sample.loadedRss = await rssMegabytes(oasis.pid);
    await sleep(IDLE_MS);
    sample.idleRss = await rssMegabytes(oasis.pid);
    return sample;
  } finally {
    await oasis.stop();
    await database.drop();
  }
}

const samples = new Map<string, Sample[]>(candidates.map((flags) => [flags, []]));
for (let round = 0; round < rounds; round += 1) {
  const order = round % 2 === 0 ? candidates : [...candidates].reverse();
  for (const flags of order) {
    progress(`node flags '${flags}' round ${round + 1}/${rounds}`);
    samples.get(flags)!.push(await measure(flags));
  }
}
const rows: Row[] = [];
for (const [flags, runs] of samples) {
  const cell = (pick: (sample: Sample) => number, digits = 0) => spread(runs.map(pick), digits);
  rows.push({
    benchmark: `node ${flags || '(no flags)'}`,
    measure: 'req/s show / page of 20 / all 1000; CPU ms per request; p99 ms of all 1000; RSS MB loaded → idle',
    result:
      `${cell((s) => s.rps.show!)} / ${cell((s) => s.rps.list!)} / ${cell((s) => s.rps.full!)}; ` +
      `${cell((s) => s.cpuMs.show!, 3)} / ${cell((s) => s.cpuMs.list!, 3)} / ${cell((s) => s.cpuMs.full!, 2)}; ` +
      `${cell((s) => s.p99.full!)}; ${cell((s) => s.loadedRss)} → ${cell((s) => s.idleRss)}`,
    target: '',
    met: null,
  });
}
console.log(printTable(rows));
