import { mkdirSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, sql, type SqliteDatabase } from 'kysely';
import type { Database } from './database.js';
import { DuplicateEntryError, isDiskFull, StorageFullError, StoreUnavailableError } from '../errors.js';
import { applyPendingMigrations } from './migrations.js';

/** How long a writer waits for another connection's write lock before giving up (SQLITE_BUSY). */
const BUSY_TIMEOUT_MS = 10_000;

export function sqliteFile(dataDir: string): string {
  return path.join(dataDir, 'oasis.db');
}

/**
 * Opens `<dataDir>/oasis.db` in WAL mode, so readers never wait for the writer. Stores opened on
 * the same file in one process share one connection: better-sqlite3 is synchronous, so a second
 * connection waiting on the first one's open transaction would block the very event loop that
 * has to finish that transaction (a deadlock until busy_timeout). Across processes the file
 * locks and busy_timeout serialise writers.
 */
export function acquireSqlite(dataDir: string): SqliteHandle {
  const file = path.resolve(sqliteFile(dataDir));
  let shared = openFiles.get(file);
  if (!shared) {
    shared = { ...openSqlite(file), users: 0 };
    openFiles.set(file, shared);
  }
  shared.users += 1;
  const entry = shared;
  let released = false;
  return {
    db: entry.db,
    dataVersion: entry.dataVersion,
    release: async () => {
      if (released) return;
      released = true;
      entry.users -= 1;
      if (entry.users > 0) return;
      openFiles.delete(file);
      await entry.db.destroy();
    },
  };
}

export interface SqliteHandle {
  db: Kysely<Database>;
  /**
   * SQLite's data_version: it changes when another connection (another process) commits to the
   * database, and only then; this connection's own commits leave it alone.
   */
  dataVersion(): number;
  release(): Promise<void>;
}

const openFiles = new Map<string, Omit<SqliteHandle, 'release'> & { users: number }>();

function openSqlite(file: string): Omit<SqliteHandle, 'release'> {
  mkdirSync(path.dirname(file), { recursive: true });
  const raw = new BetterSqlite3(file);
  raw.pragma('journal_mode = WAL');
  raw.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  raw.pragma('synchronous = NORMAL');
  // PostgreSQL's strpos, so that the shared SQL has one case-sensitive substring test.
  raw.function('strpos', { deterministic: true }, (haystack: unknown, needle: unknown) =>
    haystack === null || needle === null ? null : String(haystack).indexOf(String(needle)) + 1,
  );
  const dataVersion = raw.prepare('pragma data_version').pluck();
  return {
    db: new Kysely<Database>({ dialect: new SqliteDialect({ database: withBooleanParameters(raw) }) }),
    dataVersion: () => dataVersion.get() as number,
  };
}

const MAX_CACHED_STATEMENTS = 500;

const ALREADY_ROLLED_BACK: ReturnType<SqliteDatabase['prepare']> = {
  reader: false,
  all: () => [],
  run: () => ({ changes: 0, lastInsertRowid: 0 }),
  iterate: () => [][Symbol.iterator](),
};

/**
 * better-sqlite3 refuses JavaScript booleans as parameters; SQLite stores them as 0/1, so they
 * are converted here and the repositories pass booleans on both dialects.
 */
function withBooleanParameters(raw: BetterSqlite3.Database): SqliteDatabase {
  const convert = (parameters: ReadonlyArray<unknown>) =>
    parameters.map((value) => (typeof value === 'boolean' ? Number(value) : value));
  // Kysely prepares every query afresh, and preparing costs as much as running a primary-key
  // lookup: it was a quarter of the CPU of GET /job-executions/{id}. The SQL texts come from a
  // fixed set of query builders, so keeping statements by text hits almost always; the bound only
  // guards against texts that vary (IN lists of varying length). Queries run one at a time on
  // this connection, so a statement is never in use twice at once.
  const statements = new Map<string, BetterSqlite3.Statement>();
  const prepared = (query: string): BetterSqlite3.Statement => {
    let statement = statements.get(query);
    if (!statement) {
      statement = raw.prepare(query);
      if (statements.size >= MAX_CACHED_STATEMENTS) statements.delete(statements.keys().next().value!);
      statements.set(query, statement);
    }
    return statement;
  };
  return {
    close: () => raw.close(),
    prepare(query) {
      // SQLite rolls a transaction back by itself on some errors (SQLITE_FULL among them); the
      // rollback that follows would then fail and hide the real error behind "no transaction".
      if (query === 'rollback' && !raw.inTransaction) return ALREADY_ROLLED_BACK;
      const statement = prepared(query);
      return {
        reader: statement.reader,
        all: (parameters) => statement.all(convert(parameters)),
        run: (parameters) => statement.run(convert(parameters)),
        iterate: (parameters) => statement.iterate(convert(parameters)) as IterableIterator<unknown>,
      };
    },
  };
}

/**
 * BEGIN IMMEDIATE takes SQLite's write lock before reading the ledger, so a second process
 * migrating at the same moment waits (busy_timeout) and then finds the work done.
 */
export async function migrateSqlite(db: Kysely<Database>): Promise<number[]> {
  return db.connection().execute(async (connection) => {
    await sql`begin immediate`.execute(connection);
    try {
      const applied = await applyPendingMigrations(connection, 'sqlite', (work) => work());
      await sql`commit`.execute(connection);
      return applied;
    } catch (error) {
      await sql`rollback`.execute(connection);
      throw error;
    }
  });
}

const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR|READONLY)/;

export function translateSqliteError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  if (isDiskFull(error)) return new StorageFullError(error);
  const code = (error as { code?: unknown }).code;
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    // "UNIQUE constraint failed: job_templates.tenant_id, job_templates.name"
    const columns =
      error.message
        .split(': ')[1]
        ?.split(', ')
        .map((column) => column.split('.').pop()!) ?? [];
    return new DuplicateEntryError(columns);
  }
  if ((typeof code === 'string' && UNAVAILABLE.test(code)) || /database connection is not open/.test(error.message)) {
    return new StoreUnavailableError(error);
  }
  return error;
}
