import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

export const ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * What `npm start` runs: the compiled CLI. scripts/bench.sh compiles the sources into
 * OASIS_BENCH_DIST first; run on their own, benchmarks fall back to the sources through tsx
 * (same code, but the loader costs memory, so RSS figures are only meaningful compiled).
 */
function entry(): string[] {
  const dist = process.env.OASIS_BENCH_DIST;
  if (dist && existsSync(path.join(dist, 'cli/main.js')))
    return [...startFlags(), path.join(dist, 'cli/main.js'), 'serve'];
  return [...startFlags(), '--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'serve'];
}

/**
 * The node flags of package.json's `start` script (e.g. the young-generation size), as `npm start`
 * runs; OASIS_BENCH_NODE_FLAGS replaces them when set (bench/node-flags.ts compares candidates).
 */
function startFlags(): string[] {
  const override = process.env.OASIS_BENCH_NODE_FLAGS;
  if (override !== undefined) return override.split(/\s+/).filter(Boolean);
  const scripts = (
    JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  ).scripts;
  const command = scripts.start?.split('&&').pop() ?? '';
  return command.split(/\s+/).filter((word) => /^--[a-z-]+=\S+$/.test(word));
}

export type Dialect = 'sqlite' | 'postgres';

export interface BenchDatabase {
  dialect: Dialect;
  dataDir: string;
  /** OASIS_DATABASE_URL, or null for SQLite in dataDir. */
  url: string | null;
  drop(): Promise<void>;
}

/** The PostgreSQL server of scripts/bench.sh, or undefined (PostgreSQL rows are then skipped). */
export const postgresAdminUrl = (): string | undefined => process.env.OASIS_BENCH_DATABASE_URL || undefined;

/** A fresh data directory and, for PostgreSQL, a fresh database. */
export async function createDatabase(dialect: Dialect): Promise<BenchDatabase> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'oasis-bench-'));
  const removeDir = () => rm(dataDir, { recursive: true, force: true });
  if (dialect === 'sqlite') return { dialect, dataDir, url: null, drop: removeDir };
  const admin = postgresAdminUrl();
  if (!admin) throw new Error('OASIS_BENCH_DATABASE_URL is unset');
  const name = `oasis_bench_${randomBytes(5).toString('hex')}`;
  await adminQuery(admin, `CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    dialect,
    dataDir,
    url: url.toString(),
    drop: async () => {
      await adminQuery(admin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await removeDir();
    },
  };
}

async function adminQuery(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

export interface BenchOasis {
  url: string;
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * A real Oasis process on `database`; its log is drained (a full pipe would stall it).
 * `nodeArgs` go to node itself, e.g. `--cpu-prof` to find where a benchmark's time goes.
 */
export async function startOasis(
  database: BenchDatabase,
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
): Promise<BenchOasis> {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, ...entry()], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? database.dataDir,
      OASIS_PORT: String(port),
      OASIS_DATA_DIR: database.dataDir,
      OASIS_NODE_ID: 'bench',
      ...(database.url ? { OASIS_DATABASE_URL: database.url } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  const keep = (line: string) => {
    tail.push(line);
    if (tail.length > 50) tail.shift();
  };
  createInterface({ input: child.stdout! }).on('line', keep);
  createInterface({ input: child.stderr! }).on('line', keep);
  const exited = once(child, 'exit');
  let gone = false;
  void exited.then(() => (gone = true));
  // Readiness by asking, not by the "ready" log line, so any OASIS_LOG_LEVEL works.
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (gone) throw new Error(`Oasis exited with ${String(child.exitCode)}:\n${tail.join('\n')}`);
    const answered = await fetch(`${url}/openapi.json`).then(
      (response) => response.ok,
      () => false,
    );
    if (answered) break;
    await sleep(50);
  }
  return {
    url,
    pid: child.pid!,
    child,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const CLOCK_TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may itself contain spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** Resident set size in MB, from /proc/<pid>/status. */
export async function rssMegabytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1]);
  return kb / 1024;
}
