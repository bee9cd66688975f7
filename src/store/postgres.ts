import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { DuplicateEntryError, StoreUnavailableError } from '../errors.js';
import { applyPendingMigrations } from './migrations.js';

interface Logger {
  warn(object: object, message?: string): void;
}

/**
 * A pool that heals by itself: pg drops a client whose connection broke when it is released or
 * errors while idle, so after the server comes back the next query opens a fresh connection.
 */
export function openPostgres(databaseUrl: string, logger?: Logger): Kysely<any> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10, connectionTimeoutMillis: 10_000 });
  // Without a listener an idle client's error (server restart) would crash the process.
  pool.on('error', (error) => logger?.warn({ err: summary(error) }, 'idle PostgreSQL connection failed'));
  // The pool listens only to idle clients: a checked-out one (between the statements of a
  // transaction, or between acquire and query) whose socket breaks would emit an unhandled
  // 'error' and crash Oasis. Its next statement fails instead, and the pool discards it.
  pool.on('connect', (client) => {
    client.on('error', (error) => logger?.warn({ err: summary(error) }, 'PostgreSQL connection failed while in use'));
  });
  return new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
}

/** What a connection error says, without the client object pg attaches (it holds the credentials). */
function summary(error: Error): { message: string; code?: unknown } {
  return { message: error.message, code: (error as { code?: unknown }).code };
}

/** Arbitrary but fixed: every Oasis node takes this advisory lock while migrating. */
const MIGRATION_LOCK_KEY = 7_353_917_401;

export async function migratePostgres(db: Kysely<any>): Promise<number[]> {
  return db.connection().execute(async (connection) => {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`.execute(connection);
    try {
      return await applyPendingMigrations(connection, 'postgres', async (work) => {
        await sql`begin`.execute(connection);
        try {
          await work();
          await sql`commit`.execute(connection);
        } catch (error) {
          await sql`rollback`.execute(connection);
          throw error;
        }
      });
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`.execute(connection);
    }
  });
}

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', '57P01', '57P02', '57P03', '53300']);
const UNAVAILABLE_MESSAGES =
  /Connection terminated|not queryable|timeout exceeded when trying to connect|Cannot use a pool after calling end|terminating connection/i;

function isUnavailable(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'))) return true;
  // Node reports a refused connection to every address of a host as an AggregateError.
  if (error instanceof AggregateError && error.errors.some((inner) => inner instanceof Error && isUnavailable(inner))) {
    return true;
  }
  return UNAVAILABLE_MESSAGES.test(error.message);
}

export function translatePostgresError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  if ((error as { code?: unknown }).code === '23505') {
    // detail: "Key (tenant_id, name)=(t, n) already exists."
    const detail = String((error as { detail?: unknown }).detail ?? '');
    const columns = /^Key \(([^)]*)\)=/.exec(detail)?.[1]?.split(', ') ?? [];
    return new DuplicateEntryError(columns);
  }
  return isUnavailable(error) ? new StoreUnavailableError(error) : error;
}
