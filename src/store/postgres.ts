import { Kysely, PostgresDialect, sql } from 'kysely';
import type { Database } from './database.js';
import pg from 'pg';
import {
  DuplicateEntryError,
  InvalidTextError,
  isDiskFull,
  StorageFullError,
  StoreUnavailableError,
} from '../errors.js';
import { applyPendingMigrations } from './migrations.js';

interface Logger {
  warn(object: object, message?: string): void;
}

/**
 * A pool that heals by itself: pg drops a client whose connection broke when it is released or
 * errors while idle, so after the server comes back the next query opens a fresh connection.
 *
 * Nothing waits on the server longer than `timeoutMs`: a stopped server refuses at once, but a
 * frozen one (a stalled disk, a paused VM, a network cut) would hold every request forever. The
 * server cancels a statement at `timeoutMs` (which leaves the connection usable); the client gives
 * up a little later, for a server that cannot even do that.
 */
export function openPostgres(
  databaseUrl: string,
  options: { timeoutMs: number; logger?: Logger },
): { db: Kysely<Database>; stats(): { connections: number; idle: number; waiting: number } } {
  const { timeoutMs, logger } = options;
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: 10,
    connectionTimeoutMillis: timeoutMs,
    statement_timeout: timeoutMs,
    query_timeout: timeoutMs + CLIENT_TIMEOUT_MARGIN_MS,
  });
  // Without a listener an idle client's error (server restart) would crash the process.
  pool.on('error', (error) => logger?.warn({ err: summary(error) }, 'idle PostgreSQL connection failed'));
  // The pool listens only to idle clients: a checked-out one (between the statements of a
  // transaction, or between acquire and query) whose socket breaks would emit an unhandled
  // 'error' and crash Oasis. Its next statement fails instead, and the pool discards it.
  pool.on('connect', (client) => {
    client.on('error', (error) => logger?.warn({ err: summary(error) }, 'PostgreSQL connection failed while in use'));
  });
  return {
    db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }),
    stats: () => ({ connections: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
  };
}

/** What a connection error says, without the client object pg attaches (it holds the credentials). */
function summary(error: Error): { message: string; code?: unknown } {
  return { message: error.message, code: (error as { code?: unknown }).code };
}

const CLIENT_TIMEOUT_MARGIN_MS = 1_000;

/** Arbitrary but fixed: every Oasis node takes this advisory lock while migrating. */
const MIGRATION_LOCK_KEY = 7_353_917_401;
const MIGRATION_LOCK_RETRY_MS = 100;

export async function migratePostgres(db: Kysely<Database>): Promise<number[]> {
  return db.connection().execute(async (connection) => {
    // Tried rather than waited for: another node's migration may outlast the statement timeout.
    for (;;) {
      const { rows } = await sql<{
        locked: boolean;
      }>`select pg_try_advisory_lock(${MIGRATION_LOCK_KEY}) as locked`.execute(connection);
      if (rows[0]?.locked) break;
      await new Promise((resolve) => setTimeout(resolve, MIGRATION_LOCK_RETRY_MS));
    }
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

/** 57014: a statement cancelled, which only statement_timeout does here. */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '57014',
]);
const UNAVAILABLE_MESSAGES =
  /Connection terminated|not queryable|timeout exceeded when trying to connect|Query read timeout|Cannot use a pool after calling end|terminating connection/i;

function isUnavailable(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'))) return true;
  // Node reports a refused connection to every address of a host as an AggregateError.
  if (error instanceof AggregateError && error.errors.some((inner) => inner instanceof Error && isUnavailable(inner))) {
    return true;
  }
  return UNAVAILABLE_MESSAGES.test(error.message);
}

/**
 * 22021: `invalid byte sequence for encoding "UTF8": 0x00`, a NUL in a text parameter;
 * 22P05: untranslatable character. SQLite stores both, so the API refuses such text first.
 */
const INVALID_TEXT_CODES = new Set(['22021', '22P05']);

export function translatePostgresError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  if (isDiskFull(error)) return new StorageFullError(error);
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && INVALID_TEXT_CODES.has(code)) return new InvalidTextError(error);
  if (code === '23505') {
    // detail: "Key (tenant_id, name)=(t, n) already exists."
    const detail = String((error as { detail?: unknown }).detail ?? '');
    const columns = /^Key \(([^)]*)\)=/.exec(detail)?.[1]?.split(', ') ?? [];
    return new DuplicateEntryError(columns);
  }
  return isUnavailable(error) ? new StoreUnavailableError(error) : error;
}
