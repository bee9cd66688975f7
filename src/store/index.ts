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
import { migrateSqlite, openSqlite, translateSqliteError } from './sqlite.js';
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

/** Connects, brings the schema up to date and returns the store. */
export async function openStore(options: StoreOptions): Promise<Store> {
  const dialect: DialectName = options.databaseUrl ? 'postgres' : 'sqlite';
  const db = options.databaseUrl ? openPostgres(options.databaseUrl, options.logger).db : openSqlite(options.dataDir);
  const translate = dialect === 'postgres' ? translatePostgresError : translateSqliteError;
  try {
    const applied = await (dialect === 'postgres' ? migratePostgres(db) : migrateSqlite(db));
    if (applied.length > 0) options.logger?.info({ dialect, migrations: applied }, 'database migrated');
  } catch (error) {
    await db.destroy().catch(() => undefined);
    throw coerceError(translate(error));
  }
  return createStore(db, dialect, translate);
}

/** Runs migrations only (the `oasis migrate` command); returns the versions applied. */
export async function migrate(options: StoreOptions): Promise<number[]> {
  const dialect: DialectName = options.databaseUrl ? 'postgres' : 'sqlite';
  const db = options.databaseUrl ? openPostgres(options.databaseUrl, options.logger).db : openSqlite(options.dataDir);
  try {
    return await (dialect === 'postgres' ? migratePostgres(db) : migrateSqlite(db));
  } finally {
    await db.destroy();
  }
}

function createStore(db: Kysely<any>, dialect: DialectName, translate: (error: unknown) => unknown): Store {
  // Calls after close() fail in Kysely with a plain Error; they are an unavailable store too.
  const translateAll = (error: unknown) =>
    error instanceof Error && /driver has already been destroyed/.test(error.message)
      ? new StoreUnavailableError(error)
      : translate(error);
  const guard = <T extends object>(repository: T): T => translatingErrors(repository, translateAll);
  let closing: Promise<void> | undefined;
  return {
    dialect,
    jobBinaryInternals: guard(jobBinaryInternals(db)),
    jobBinaries: guard(jobBinaries(db)),
    dataSources: guard(dataSources(db)),
    jobTemplates: guard(jobTemplates(db)),
    clusters: guard(clusters(db)),
    jobExecutions: guard(jobExecutions(db, dialect)),
    ping: async () => {
      if (closing) throw new StoreUnavailableError('the store is closed');
      try {
        await sql`select 1`.execute(db);
      } catch (error) {
        throw coerceError(translate(error));
      }
    },
    close: () => (closing ??= db.destroy()),
  };
}

/**
 * Every repository method throws the store's own failure kinds (DuplicateEntryError,
 * StoreUnavailableError) instead of driver errors, so the API layer never sees a dialect.
 */
function translatingErrors<T extends object>(repository: T, translate: (error: unknown) => unknown): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(repository)) {
    wrapped[name] =
      typeof method === 'function'
        ? async (...args: unknown[]) => {
            try {
              return await method(...args);
            } catch (error) {
              throw translate(error);
            }
          }
        : method;
  }
  return wrapped as T;
}
