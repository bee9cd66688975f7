/**
 * Every benchmark, in one run, on SQLite and (when scripts/bench.sh started one) PostgreSQL.
 * Prints one markdown table of ratios and figures to stdout; progress goes to stderr.
 */
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { httpBenchmark } from './http.js';
import { lifecycleBenchmark } from './lifecycle.js';
import { limitsBenchmark } from './limits.js';
import { sandboxBenchmark } from './sandbox.js';
import { ROOT, type Dialect, postgresAdminUrl } from './lib/oasis.js';
import { printTable, progress, type Row } from './lib/report.js';
import { scaleBenchmark } from './scale.js';

function machine(): string {
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim()
    ? ' (+ uncommitted src changes)'
    : '';
  return [
    `date ${new Date().toISOString()}, commit ${commit}${dirty}, node ${process.version}`,
    `${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB memory`,
  ].join('\n');
}

const dialects: Dialect[] = ['sqlite', ...(postgresAdminUrl() ? ['postgres' as const] : [])];
const started = Date.now();
const rows: Row[] = [];
for (const dialect of dialects) rows.push(...(await httpBenchmark(dialect)));
for (const dialect of dialects) rows.push(...(await scaleBenchmark(dialect)));
for (const dialect of dialects) rows.push(...(await lifecycleBenchmark(dialect)));
for (const dialect of dialects) rows.push(...(await limitsBenchmark(dialect)));
// The sandbox's cost does not depend on the database.
rows.push(...(await sandboxBenchmark()));
progress(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);

console.log(machine());
console.log();
console.log(printTable(rows));
const missed = rows.filter((row) => row.met === false);
if (missed.length > 0) {
  console.log(`\n${missed.length} target(s) missed`);
  process.exitCode = 1;
}
