import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import pg from 'pg';
import { openStore } from '../../src/store/index.js';
import { sqliteFile } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';

export type TestDialect = 'sqlite' | 'postgres';

/**
 * The dialects every database test runs on: SQLite always, PostgreSQL when
 * OASIS_TEST_DATABASE_URL names a server (scripts/test.sh starts one). In CI a missing
 * PostgreSQL is an error, so it can never be skipped silently.
 */
export function testDialects(): TestDialect[] {
  if (process.env.OASIS_TEST_DATABASE_URL) return ['sqlite', 'postgres'];
  if (process.env.CI === 'true') {
    throw new Error('CI=true but OASIS_TEST_DATABASE_URL is unset: source scripts/postgres.sh and run postgres_start');
  }
  return ['sqlite'];
}

export interface TestDatabase {
  store: Store;
  /** The PostgreSQL URL of the fresh database, or null for SQLite. */
  url: string | null;
  /** For SQLite the database is `<dataDir>/oasis.db`; a temp dir in both cases. */
  dataDir: string;
  /** Closes the store and removes the database. */
  drop(): Promise<void>;
}

/** A fresh, isolated, migrated database for one test (file): a temp dir, or a new PG database. */
export async function openTestStore(dialect: TestDialect): Promise<TestDatabase> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'oasis-test-'));
  const removeDir = () => rmSync(dataDir, { recursive: true, force: true });
  if (dialect === 'sqlite') {
    const store = await openStore({ databaseUrl: null, dataDir });
    return {
      store,
      url: null,
      dataDir,
      drop: async () => {
        await store.close();
        removeDir();
      },
    };
  }

  const adminUrl = process.env.OASIS_TEST_DATABASE_URL;
  if (!adminUrl) throw new Error('OASIS_TEST_DATABASE_URL is unset');
  const name = `oasis_t_${randomBytes(6).toString('hex')}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const store = await openStore({ databaseUrl: url.toString(), dataDir });
  return {
    store,
    url: url.toString(),
    dataDir,
    drop: async () => {
      await store.close();
      // WITH (FORCE) ends connections a test left open (e.g. a second store on the same database).
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      removeDir();
    },
  };
}

async function adminQuery(adminUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/**
 * A connection of its own to a test database, as another process (another Oasis node, an
 * operator's psql or sqlite3) has: its writes reach a store only through the change feed.
 * Statements use PostgreSQL's `$1` placeholders; SQLite gets them as `?`.
 */
export interface Outsider {
  run(statement: string, params: unknown[]): Promise<void>;
  close(): Promise<void>;
}

export async function outsider(database: Pick<TestDatabase, 'url' | 'dataDir'>): Promise<Outsider> {
  if (database.url) {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    return {
      run: async (statement, params) => void (await client.query(statement, params)),
      close: () => client.end(),
    };
  }
  const connection = new Database(sqliteFile(database.dataDir));
  return {
    run: async (statement, params) => void connection.prepare(statement.replace(/\$\d+/g, '?')).run(...params),
    close: async () => void connection.close(),
  };
}
