import { statSync } from 'node:fs';
import { type Kysely, sql } from 'kysely';
import type { Database } from './database.js';
import { coerceError, StoreUnavailableError } from '../errors.js';
import type { DialectName } from './migrations.js';
import { migratePostgres, openPostgres, translatePostgresError } from './postgres.js';
import { clusters } from './repositories/clusters.js';
import { dataSources } from './repositories/data-sources.js';
import { jobBinaries } from './repositories/job-binaries.js';
import { jobBinaryInternals } from './repositories/job-binary-internals.js';
import { idempotencyKeys } from './repositories/idempotency-keys.js';
import { jobExecutions } from './repositories/job-executions.js';
import { jobTemplates } from './repositories/job-templates.js';
import { executionEvents } from './repositories/execution-events.js';
import { webhooks } from './repositories/webhooks.js';
import { EXECUTION_EVENTS_CHANNEL } from './migrations/execution-events.js';
import { EventSignal } from './event-signal.js';
import { acquireSqlite, migrateSqlite, sqliteFile, translateSqliteError } from './sqlite.js';
import { withRowCache } from './cached-executions.js';
import { listenForChanges } from './postgres-changes.js';
import { RowCache } from './row-cache.js';
import type { DatabaseStats, JobExecutionRecord, Store, StoreTransaction } from './types.js';

export { LOCAL_CLUSTER_ID, MIGRATIONS } from './migrations.js';
export type * from './types.js';

interface Logger {
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
}

export interface StoreOptions {
  /** postgres://… for PostgreSQL; null for SQLite at `<dataDir>/oasis.db`. */
  databaseUrl: string | null;
  dataDir: string;
  /** PostgreSQL: the longest wait for a connection or a statement (10 s by default). */
  timeoutMs?: number;
  logger?: Logger;
}

interface Connection {
  dialect: DialectName;
  db: Kysely<Database>;
  release(): Promise<void>;
  migrate(db: Kysely<Database>): Promise<number[]>;
  translate(error: unknown): unknown;
  /** Starts keeping the cache of executions coherent with other processes' writes. */
  executionCache(): { cache: RowCache<JobExecutionRecord>; stop(): Promise<void> };
  stats(): DatabaseStats;
  /** Tells of appended execution events (see Store.onEventsAppended). */
  eventSignal(): EventSignal;
}

/** Executions kept in memory per process: enough for every execution clients are watching. */
const CACHED_EXECUTIONS = 2_000;

function connect(options: StoreOptions): Connection {
  const { databaseUrl, logger } = options;
  if (databaseUrl) {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const { db, stats } = openPostgres(databaseUrl, { timeoutMs, logger });
    return {
      dialect: 'postgres',
      db,
      release: () => db.destroy(),
      migrate: migratePostgres,
      translate: translatePostgresError,
      stats: () => ({ dialect: 'postgres', ...stats() }),
      executionCache: () => {
        const cache = new RowCache<JobExecutionRecord>(CACHED_EXECUTIONS, { suspended: true });
        const feed = listenForChanges(
          databaseUrl,
          { changed: (id) => cache.invalidate(id), lost: () => cache.suspend(), listening: () => cache.resume() },
          { connectTimeoutMs: timeoutMs, logger },
        );
        return { cache, stop: () => feed.close() };
      },
      // A connection of its own, opened when the first reader subscribes.
      eventSignal: () =>
        new EventSignal((signal) =>
          listenForChanges(
            databaseUrl,
            { changed: () => signal.raise(), lost: () => undefined, listening: () => signal.raise() },
            { connectTimeoutMs: timeoutMs, logger, channel: EXECUTION_EVENTS_CHANNEL },
          ),
        ),
    };
  }
  const { db, release, dataVersion } = acquireSqlite(options.dataDir);
  return {
    dialect: 'sqlite',
    db,
    release,
    migrate: migrateSqlite,
    translate: translateSqliteError,
    stats: () => ({ dialect: 'sqlite', bytes: filesSize(sqliteFile(options.dataDir), ['', '-wal']) }),
    executionCache: () => ({ cache: sqliteExecutionCache(db, dataVersion), stop: async () => undefined }),
    eventSignal: () => new EventSignal((signal) => watchDataVersion(dataVersion, () => signal.raise())),
  };
}

/**
 * Other processes' commits (an operator's sqlite3, a script) are noticed through data_version,
 * asked at most this often: the pragma costs two lock syscalls, a fifth of a cached read when
 * asked every time, and a write by another process may go unseen for this long.
 */
const EXTERNAL_CHECK_MS = 1;

/**
 * Stores opened in one process on one SQLite file share its connection, so they share its cache
 * too: data_version does not see commits made through the same connection.
 */
const sqliteCaches = new WeakMap<Kysely<Database>, RowCache<JobExecutionRecord>>();

function sqliteExecutionCache(db: Kysely<Database>, dataVersion: () => number): RowCache<JobExecutionRecord> {
  let cache = sqliteCaches.get(db);
  if (!cache) {
    let seen = dataVersion();
    let checkedAt = performance.now();
    const checkExternalChanges = () => {
      const now = performance.now();
      if (now - checkedAt < EXTERNAL_CHECK_MS) return;
      checkedAt = now;
      const version = dataVersion();
      if (version !== seen) {
        seen = version;
        cache!.clear();
      }
    };
    cache = new RowCache<JobExecutionRecord>(CACHED_EXECUTIONS, { checkExternalChanges });
    sqliteCaches.set(db, cache);
  }
  return cache;
}

/** Connects, brings the schema up to date and returns the store. */
export async function openStore(options: StoreOptions): Promise<Store> {
  const connection = connect(options);
  const { dialect } = connection;
  try {
    const applied = await connection.migrate(connection.db);
    if (applied.length > 0) options.logger?.info({ dialect, migrations: applied }, 'database migrated');
  } catch (error) {
    await connection.release().catch(() => undefined);
    throw coerceError(connection.translate(error));
  }
  return createStore(connection);
}

/** Runs migrations only (the `oasis migrate` command); returns the versions applied. */
export async function migrate(options: StoreOptions): Promise<number[]> {
  const connection = connect(options);
  try {
    return await connection.migrate(connection.db);
  } catch (error) {
    throw coerceError(connection.translate(error));
  } finally {
    await connection.release();
  }
}

/** The database file and its write-ahead log, as they stand on disk. */
function filesSize(file: string, suffixes: string[]): number {
  let bytes = 0;
  for (const suffix of suffixes) {
    try {
      bytes += statSync(file + suffix).size;
    } catch {
      // Not there (no WAL yet).
    }
  }
  return bytes;
}

/**
 * Another process's commit to the SQLite file changes data_version: checked this often while a
 * reader of events is subscribed. This process's own writes are signalled as they finish.
 */
const SQLITE_EVENTS_CHECK_MS = 250;

function watchDataVersion(dataVersion: () => number, changed: () => void): { close(): Promise<void> } {
  let seen = dataVersion();
  const timer = setInterval(() => {
    let version: number;
    try {
      version = dataVersion();
    } catch {
      // The connection is closing; a timer must not throw out of the event loop.
      return;
    }
    if (version === seen) return;
    seen = version;
    changed();
  }, SQLITE_EVENTS_CHECK_MS);
  timer.unref();
  return { close: async () => clearInterval(timer) };
}

function createStore({ db, dialect, eventSignal, executionCache, release, stats, translate }: Connection): Store {
  let closing: Promise<void> | undefined;
  const { cache, stop: stopCache } = executionCache();
  const events = eventSignal();
  const stop = () => Promise.all([stopCache(), events.close()]).then(() => undefined);
  // A closed store refuses work itself: its SQLite connection may live on for another store.
  const call = async <R>(work: () => Promise<R>): Promise<R> => {
    if (closing) throw new StoreUnavailableError('the store is closed');
    try {
      return await work();
    } catch (error) {
      throw coerceError(translate(error));
    }
  };
  const guard = <T extends object>(repository: T): T => translatingErrors(repository, call);
  const translated = async <R>(work: () => Promise<R>): Promise<R> => {
    try {
      return await work();
    } catch (error) {
      throw coerceError(translate(error));
    }
  };
  const repositories = (handle: Kysely<Database>, wrap: <T extends object>(repository: T) => T): StoreTransaction => ({
    dialect,
    jobBinaryInternals: wrap(jobBinaryInternals(handle)),
    jobBinaries: wrap(jobBinaries(handle)),
    dataSources: wrap(dataSources(handle)),
    jobTemplates: wrap(jobTemplates(handle)),
    clusters: wrap(clusters(handle)),
    jobExecutions: wrap(withRowCache(jobExecutions(handle, dialect), cache, handle)),
    idempotencyKeys: wrap(idempotencyKeys(handle)),
  });
  const outside = repositories(db, guard);
  return {
    ...outside,
    jobExecutions: events.afterWrites(outside.jobExecutions),
    executionEvents: guard(executionEvents(db)),
    webhooks: guard(webhooks(db, dialect)),
    onEventsAppended: (listener) => events.subscribe(listener),
    // Readers of the event log hear of a transaction's executions once it has committed.
    transaction: (work) =>
      call(() =>
        db
          .transaction()
          .execute((tx) => work(repositories(tx, (repository) => translatingErrors(repository, translated)))),
      ).then((result) => {
        events.raise();
        return result;
      }),
    ping: () => call(async () => void (await sql`select 1`.execute(db))),
    databaseStats: stats,
    close: () => (closing ??= stop().then(release)),
  };
}

/**
 * Every repository method throws the store's own failure kinds (DuplicateEntryError,
 * StoreUnavailableError) instead of driver errors, so the API layer never sees a dialect.
 */
function translatingErrors<T extends object>(repository: T, call: <R>(work: () => Promise<R>) => Promise<R>): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(repository)) {
    wrapped[name] = typeof method === 'function' ? (...args: unknown[]) => call(() => method(...args)) : method;
  }
  return wrapped as T;
}
