import { type Kysely, sql } from 'kysely';
import { coerceError, StoreUnavailableError } from '../errors.js';
import type { DialectName } from './migrations.js';
import { migratePostgres, openPostgres, translatePostgresError } from './postgres.js';
import { clusters } from './repositories/clusters.js';
import { dataSources } from './repositories/data-sources.js';
import { jobBinaries } from './repositories/job-binaries.js';
import { jobBinaryInternals } from './repositories/job-binary-internals.js';
import { jobExecutions } from './repositories/job-executions.js';
import { jobTemplates } from './repositories/job-templates.js';
import { acquireSqlite, migrateSqlite, translateSqliteError } from './sqlite.js';
import type { Store } from './types.js';

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
  logger?: Logger;
}

interface Connection {
  dialect: DialectName;
  db: Kysely<any>;
  release(): Promise<void>;
  migrate(db: Kysely<any>): Promise<number[]>;
  translate(error: unknown): unknown;
}

function connect(options: StoreOptions): Connection {
  if (options.databaseUrl) {
    const db = openPostgres(options.databaseUrl, options.logger);
    return { dialect: 'postgres', db, release: () => db.destroy(), migrate: migratePostgres, translate: translatePostgresError };
  }
  const { db, release } = acquireSqlite(options.dataDir);
  return { dialect: 'sqlite', db, release, migrate: migrateSqlite, translate: translateSqliteError };
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

function createStore({ db, dialect, release, translate }: Connection): Store {
  let closing: Promise<void> | undefined;
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
  return {
    dialect,
    jobBinaryInternals: guard(jobBinaryInternals(db)),
    jobBinaries: guard(jobBinaries(db)),
    dataSources: guard(dataSources(db)),
    jobTemplates: guard(jobTemplates(db)),
    clusters: guard(clusters(db)),
    jobExecutions: guard(jobExecutions(db, dialect)),
    ping: () => call(async () => void (await sql`select 1`.execute(db))),
    close: () => (closing ??= release()),
  };
}

/**
 * Every repository method throws the store's own failure kinds (DuplicateEntryError,
 * StoreUnavailableError) instead of driver errors, so the API layer never sees a dialect.
 */
function translatingErrors<T extends object>(
  repository: T,
  call: <R>(work: () => Promise<R>) => Promise<R>,
): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(repository)) {
    wrapped[name] = typeof method === 'function' ? (...args: unknown[]) => call(() => method(...args)) : method;
  }
  return wrapped as T;
}
