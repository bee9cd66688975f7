import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { EXECUTION_CHANGES_CHANNEL } from '../../src/store/postgres-changes.js';
import { sqliteFile } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';
import { openTestStore, testDialects, type TestDatabase } from '../support/databases.js';
import { eventually } from '../support/eventually.js';
import { executionRow } from '../support/rows.js';

/** A connection of its own, as another process (another Oasis node, an operator's psql) has. */
interface Outsider {
  setStatus(id: string, status: string): Promise<void>;
  close(): Promise<void>;
}

async function outsider(database: TestDatabase): Promise<Outsider> {
  const statement = 'update job_executions set status = $1 where id = $2';
  if (database.url) {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    return {
      setStatus: async (id, status) => void (await client.query(statement, [status, id])),
      close: () => client.end(),
    };
  }
  const connection = new Database(sqliteFile(database.dataDir));
  const update = connection.prepare(statement.replace(/\$\d/g, '?'));
  return { setStatus: async (id, status) => void update.run(status, id), close: async () => void connection.close() };
}

/** Whether two reads in a row were served from memory: the store hands out the same object. */
async function cached(store: Store, id: string): Promise<boolean> {
  return (await store.jobExecutions.get(id)) === (await store.jobExecutions.get(id));
}

for (const dialect of testDialects()) {
  describe(`store execution cache (${dialect})`, () => {
    let database: TestDatabase;
    let store: Store;
    let other: Outsider;
    before(async () => {
      database = await openTestStore(dialect);
      store = database.store;
      other = await outsider(database);
    });
    after(async () => {
      await other.close();
      await database.drop();
    });

    it('serves an unchanged execution from memory and every write through the store fresh', async () => {
      const { id } = await store.jobExecutions.insert(executionRow({ tenant_id: 't' }));
      await eventually(async () => (await cached(store, id)) || undefined, 'the cache to serve the row');
      const row = (await store.jobExecutions.get(id))!;
      assert.throws(() => {
        (row as { status: string }).status = 'KILLED';
      }, TypeError);

      await store.jobExecutions.update(id, { status: 'RUNNING' });
      assert.equal((await store.jobExecutions.get(id))?.status, 'RUNNING');
      await store.jobExecutions.updateIf(id, { statusIn: ['RUNNING'] }, { status: 'SUCCEEDED' });
      assert.equal((await store.jobExecutions.get(id))?.status, 'SUCCEEDED');
      await store.jobExecutions.delete(id);
      assert.equal(await store.jobExecutions.get(id), undefined);
    });

    it('sees what another process writes', async () => {
      const { id } = await store.jobExecutions.insert(executionRow({ tenant_id: 't' }));
      await eventually(async () => (await cached(store, id)) || undefined, 'the cache to serve the row');
      await other.setStatus(id, 'RUNNING');
      // SQLite's data_version is asked every millisecond at most; PostgreSQL notifies at commit.
      await eventually(
        async () => ((await store.jobExecutions.get(id))?.status === 'RUNNING' ? true : undefined),
        'the change',
      );
    });

    if (dialect === 'postgres') {
      it('reads from the database while the change feed is down, and caches again once it is back', async () => {
        const { id } = await store.jobExecutions.insert(executionRow({ tenant_id: 't' }));
        await eventually(async () => (await cached(store, id)) || undefined, 'the cache to serve the row');
        const admin = new pg.Client({ connectionString: database.url! });
        await admin.connect();
        try {
          const { rows } = await admin.query(
            'select pg_terminate_backend(pid) as ended from pg_stat_activity where datname = current_database() and query = $1',
            [`LISTEN ${EXECUTION_CHANGES_CHANNEL}`],
          );
          assert.equal(rows.length, 1, 'one change feed connection');
        } finally {
          await admin.end();
        }
        await eventually(async () => ((await cached(store, id)) ? undefined : true), 'the cache to be suspended');
        await other.setStatus(id, 'RUNNING');
        assert.equal((await store.jobExecutions.get(id))?.status, 'RUNNING');
        await eventually(async () => (await cached(store, id)) || undefined, 'the feed to come back');
        await other.setStatus(id, 'SUCCEEDED');
        await eventually(
          async () => ((await store.jobExecutions.get(id))?.status === 'SUCCEEDED' ? true : undefined),
          'the change',
        );
      });
    }
  });
}
