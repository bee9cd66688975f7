import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { EXECUTION_CHANGES_CHANNEL } from '../../src/store/postgres-changes.js';
import type { ListQuery, Store } from '../../src/store/types.js';
import { openTestStore, outsider, type Outsider, testDialects, type TestDatabase } from '../support/databases.js';
import { eventually } from '../support/eventually.js';
import { executionRow } from '../support/rows.js';

/** Another process's update of one execution's status. */
const setStatus = (other: Outsider, id: string, status: string) =>
  other.run('update job_executions set status = $1 where id = $2', [status, id]);

/** A tenant's whole list of executions, in id order. */
const listOf = (tenantId: string, filters: ListQuery['filters'] = []): ListQuery => ({
  tenantId,
  filters,
  sort: { field: 'id', descending: false },
  markerMode: 'at',
});

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
      await setStatus(other, id, 'RUNNING');
      // SQLite's data_version is asked every millisecond at most; PostgreSQL notifies at commit.
      await eventually(
        async () => ((await store.jobExecutions.get(id))?.status === 'RUNNING' ? true : undefined),
        'the change',
      );
    });

    it('lists unchanged executions from memory and every write through the store at once', async () => {
      const tenant = `list-${dialect}`;
      const ids: string[] = [];
      for (let i = 0; i < 3; i += 1)
        ids.push((await store.jobExecutions.insert(executionRow({ tenant_id: tenant }))).id);
      ids.sort();
      const listed = async () => (await store.jobExecutions.list(listOf(tenant))).items;
      await eventually(async () => (await cached(store, ids[0]!)) || undefined, 'the cache to serve the rows');
      // The rows a list hands out are the cached objects a show hands out.
      const rows = await listed();
      assert.deepEqual(
        rows.map((row) => row.id),
        ids,
      );
      assert.equal(rows[0], await store.jobExecutions.get(ids[0]!));
      assert.ok(Object.isFrozen(rows[1]));
      // An unchanged list is the same page again.
      const whole = listOf(tenant);
      await eventually(
        async () => (await store.jobExecutions.list(whole)) === (await store.jobExecutions.list(whole)) || undefined,
        'the list to be kept',
      );

      await store.jobExecutions.update(ids[1]!, { status: 'RUNNING' });
      assert.equal((await listed())[1]?.status, 'RUNNING');
      await store.jobExecutions.delete(ids[2]!);
      assert.deepEqual(
        (await listed()).map((row) => row.id),
        ids.slice(0, 2),
      );
      const added = await store.jobExecutions.insert(executionRow({ tenant_id: tenant }));
      assert.ok((await listed()).some((row) => row.id === added.id));
      // The filter runs in the database: a cached row that no longer matches is not listed.
      const running = [{ field: 'status', op: 'eq' as const, value: 'RUNNING' }];
      assert.deepEqual(
        (await store.jobExecutions.list(listOf(tenant, running))).items.map((row) => row.id),
        [ids[1]],
      );
      await store.jobExecutions.update(ids[1]!, { status: 'KILLED' });
      assert.deepEqual((await store.jobExecutions.list(listOf(tenant, running))).items, []);
    });

    it('lists what another process writes', async () => {
      const tenant = `outside-${dialect}`;
      const { id } = await store.jobExecutions.insert(executionRow({ tenant_id: tenant }));
      await eventually(async () => (await cached(store, id)) || undefined, 'the cache to serve the row');
      assert.equal((await store.jobExecutions.list(listOf(tenant))).items[0]?.status, 'PENDING');
      await setStatus(other, id, 'RUNNING');
      // SQLite's data_version is asked every millisecond at most; PostgreSQL notifies at commit.
      await eventually(
        async () => (await store.jobExecutions.list(listOf(tenant))).items[0]?.status === 'RUNNING' || undefined,
        'the change in the list',
      );
      await other.run('delete from job_executions where id = $1', [id]);
      await eventually(
        async () => (await store.jobExecutions.list(listOf(tenant))).items.length === 0 || undefined,
        'the delete in the list',
      );
    });

    it("never lists another tenant's cached rows, and lists them once another process makes them public", async () => {
      const mine = await store.jobExecutions.insert(executionRow({ tenant_id: `mine-${dialect}` }));
      const theirs = await store.jobExecutions.insert(executionRow({ tenant_id: `theirs-${dialect}` }));
      for (const { id } of [mine, theirs]) {
        await eventually(async () => (await cached(store, id)) || undefined, 'the cache to serve the row');
      }
      const visible = async () =>
        (await store.jobExecutions.list(listOf(`mine-${dialect}`))).items
          .map((row) => row.id)
          .filter((id) => id === mine.id || id === theirs.id);
      // Their list is kept in memory too; it is never answered to another tenant's query.
      const theirList = listOf(`theirs-${dialect}`);
      await eventually(
        async () =>
          (await store.jobExecutions.list(theirList)) === (await store.jobExecutions.list(theirList)) || undefined,
        'their list to be kept',
      );
      assert.deepEqual(await visible(), [mine.id]);
      await other.run('update job_executions set is_public = $1 where id = $2', [
        dialect === 'postgres' ? true : 1,
        theirs.id,
      ]);
      await eventually(async () => (await visible()).includes(theirs.id) || undefined, 'the public row in the list');
      const shared = (await store.jobExecutions.list(listOf(`mine-${dialect}`))).items.find(
        (row) => row.id === theirs.id,
      );
      assert.equal(shared?.is_public, true);
      await other.run('update job_executions set is_public = $1 where id = $2', [
        dialect === 'postgres' ? false : 0,
        theirs.id,
      ]);
      await eventually(async () => ((await visible()).includes(theirs.id) ? undefined : true), 'the row to go');
      assert.deepEqual(await visible(), [mine.id]);
    });

    it("lists a transaction's own writes inside it, and nothing of them once it rolls back", async () => {
      const tenant = `tx-${dialect}`;
      const { id } = await store.jobExecutions.insert(executionRow({ tenant_id: tenant }));
      await eventually(async () => (await cached(store, id)) || undefined, 'the cache to serve the row');
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.jobExecutions.update(id, { status: 'KILLED' });
          assert.equal((await tx.jobExecutions.list(listOf(tenant))).items[0]?.status, 'KILLED');
          throw new Error('rolled back');
        }),
        /rolled back/,
      );
      assert.equal((await store.jobExecutions.list(listOf(tenant))).items[0]?.status, 'PENDING');
      assert.equal((await store.jobExecutions.get(id))?.status, 'PENDING');
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
        await setStatus(other, id, 'RUNNING');
        assert.equal((await store.jobExecutions.get(id))?.status, 'RUNNING');
        await eventually(async () => (await cached(store, id)) || undefined, 'the feed to come back');
        await setStatus(other, id, 'SUCCEEDED');
        await eventually(
          async () => ((await store.jobExecutions.get(id))?.status === 'SUCCEEDED' ? true : undefined),
          'the change',
        );
      });
    }
  });
}
