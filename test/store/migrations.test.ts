import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { StoreUnavailableError } from '../../src/errors.js';
import { LOCAL_CLUSTER_ID, MIGRATIONS, migrate, openStore } from '../../src/store/index.js';
import { openTestStore, testDialects } from '../support/databases.js';

const run = promisify(execFile);
const REPO = path.resolve(import.meta.dirname, '../..');

/** Opens a store in a child process: a second Oasis node, with its own connection and event loop. */
async function openInChildProcess(databaseUrl: string | null, dataDir: string): Promise<void> {
  const script = `
    import { openStore } from ${JSON.stringify(path.join(REPO, 'src/store/index.ts'))};
    const store = await openStore({ databaseUrl: ${JSON.stringify(databaseUrl)}, dataDir: ${JSON.stringify(dataDir)} });
    await store.ping();
    await store.close();`;
  await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO });
}

async function ledger(databaseUrl: string | null, dataDir: string): Promise<number[]> {
  const store = await openStore({ databaseUrl, dataDir });
  await store.close();
  return migrate({ databaseUrl, dataDir });
}

for (const dialect of testDialects()) {
  describe(`store migrations (${dialect})`, () => {
    it('migrates once when several nodes start together on an empty database', async () => {
      const database = await openTestStore(dialect);
      await database.store.close();
      // An empty database of the same kind, which the child processes migrate at the same time.
      const dataDir = mkdtempSync(path.join(tmpdir(), 'oasis-migrate-'));
      let url: string | null = null;
      const admin = process.env.OASIS_TEST_DATABASE_URL;
      const name = `oasis_t_migrate_${process.pid}_${Date.now()}`;
      if (dialect === 'postgres') {
        const client = new pg.Client({ connectionString: admin });
        await client.connect();
        await client.query(`CREATE DATABASE ${name}`);
        await client.end();
        const parsed = new URL(admin!);
        parsed.pathname = `/${name}`;
        url = parsed.toString();
      }
      try {
        await Promise.all([1, 2, 3, 4].map(() => openInChildProcess(url, dataDir)));
        const store = await openStore({ databaseUrl: url, dataDir });
        assert.equal((await store.clusters.get(LOCAL_CLUSTER_ID))?.name, 'local');
        const all = await store.clusters.list({
          tenantId: 'oasis',
          filters: [],
          sort: { field: 'id', descending: false },
          markerMode: 'after',
        });
        assert.equal(all.items.length, 1, 'the local cluster was seeded once');
        await store.close();
        assert.deepEqual(await ledger(url, dataDir), [], 'nothing is left to apply');
      } finally {
        if (dialect === 'postgres') {
          const client = new pg.Client({ connectionString: admin });
          await client.connect();
          await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          await client.end();
        }
        rmSync(dataDir, { recursive: true, force: true });
        await database.drop();
      }
    });

    it('reopens a migrated database without applying anything', async () => {
      const database = await openTestStore(dialect);
      const versions = MIGRATIONS.map((migration) => migration.version);
      assert.deepEqual(
        versions,
        [...versions].sort((a, b) => a - b),
        'migrations are in order',
      );
      assert.equal(new Set(versions).size, versions.length, 'versions are unique');
      assert.deepEqual(await migrate({ databaseUrl: database.url, dataDir: database.dataDir }), []);
      const again = await openStore({ databaseUrl: database.url, dataDir: database.dataDir });
      await again.ping();
      await again.close();
      await database.drop();
    });
  });
}

describe('store availability', () => {
  it('reports an unreachable PostgreSQL as StoreUnavailableError', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'oasis-unreachable-'));
    await assert.rejects(
      openStore({ databaseUrl: 'postgres://postgres@127.0.0.1:1/none', dataDir }),
      StoreUnavailableError,
    );
    rmSync(dataDir, { recursive: true, force: true });
  });

  if (testDialects().includes('postgres')) {
    it('recovers by itself after the server drops every connection', async () => {
      const database = await openTestStore('postgres');
      const { store } = database;
      await Promise.all([
        store.ping(),
        store.ping(),
        store.jobBinaries.list({
          tenantId: 't',
          filters: [],
          sort: { field: 'id', descending: false },
          markerMode: 'after',
        }),
      ]);
      const admin = new pg.Client({ connectionString: process.env.OASIS_TEST_DATABASE_URL });
      await admin.connect();
      const database_name = new URL(database.url!).pathname.slice(1);
      await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [database_name],
      );
      await admin.end();

      const deadline = Date.now() + 20_000;
      let healthy = false;
      while (!healthy && Date.now() < deadline) {
        try {
          await store.jobBinaries.get('anything');
          await store.ping();
          healthy = true;
        } catch (error) {
          assert.ok(error instanceof StoreUnavailableError, `unexpected error: ${String(error)}`);
          await sleep(50);
        }
      }
      assert.ok(healthy, 'the store answered again');
      await database.drop();
    });
  }

  it('answers StoreUnavailableError after close', async () => {
    const database = await openTestStore(testDialects()[0]!);
    await database.store.close();
    await assert.rejects(database.store.ping(), StoreUnavailableError);
    await assert.rejects(database.store.jobExecutions.get('any'), StoreUnavailableError);
    await database.drop();
  });
});
