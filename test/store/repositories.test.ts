import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { DuplicateEntryError, StoreUnavailableError } from '../../src/errors.js';
import { LOCAL_CLUSTER_ID, openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/types.js';
import { openTestStore, testDialects, type TestDatabase } from '../support/databases.js';
import { executionRow } from '../support/rows.js';
import { newBinary, newCluster, newDataSource, newTemplate } from './fixtures.js';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

for (const dialect of testDialects()) {
  describe(`store repositories (${dialect})`, () => {
    let database: TestDatabase;
    let store: Store;
    before(async () => {
      database = await openTestStore(dialect);
      store = database.store;
    });
    after(() => database.drop());

    it('seeds the built-in local cluster', async () => {
      const local = await store.clusters.get(LOCAL_CLUSTER_ID);
      assert.ok(local);
      assert.match(local.created_at, ISO);
      assert.deepEqual(
        { ...local, created_at: 'x' },
        {
          id: LOCAL_CLUSTER_ID,
          tenant_id: 'oasis',
          is_public: true,
          is_protected: true,
          created_at: 'x',
          updated_at: null,
          name: 'local',
          description: 'Runs jobs as supervised processes on the Oasis host',
          plugin_name: 'local',
          hadoop_version: '1.0',
          engine: 'local',
          status: 'Active',
          status_description: '',
          cluster_configs: {},
        },
      );
      assert.equal(store.dialect, dialect);
    });

    it('inserts, gets, updates and deletes a job binary', async () => {
      const row = newBinary('t1', { extra: { user: 'u', password: 'p', port: 8080, secure: true } });
      const inserted = await store.jobBinaries.insert(row);
      assert.match(inserted.created_at, ISO);
      assert.equal(inserted.updated_at, null);
      assert.deepEqual(await store.jobBinaries.get(row.id), inserted);
      assert.deepEqual(
        { ...inserted, created_at: undefined, updated_at: undefined },
        { ...row, created_at: undefined, updated_at: undefined },
      );

      const updated = await store.jobBinaries.update(row.id, { description: 'changed', is_public: null });
      assert.ok(updated);
      assert.equal(updated.description, 'changed');
      assert.equal(updated.is_public, null);
      assert.match(updated.updated_at!, ISO);
      assert.equal(updated.created_at, inserted.created_at);
      assert.deepEqual(await store.jobBinaries.get(row.id), updated);

      assert.equal(await store.jobBinaries.delete(row.id), true);
      assert.equal(await store.jobBinaries.get(row.id), undefined);
      assert.equal(await store.jobBinaries.delete(row.id), false);
      assert.equal(await store.jobBinaries.update(row.id, { description: 'gone' }), undefined);
    });

    it('round-trips data sources and clusters with their JSON fields', async () => {
      const source = newDataSource('t1', { credentials: { access_key: 'a', nested: { list: [1, 'two', null] } } });
      assert.deepEqual((await store.dataSources.insert(source)).credentials, source.credentials);
      assert.deepEqual((await store.dataSources.get(source.id))?.credentials, source.credentials);
      const cluster = newCluster('t1');
      assert.deepEqual(
        (await store.clusters.get((await store.clusters.insert(cluster)).id))?.cluster_configs,
        cluster.cluster_configs,
      );
      const patched = await store.clusters.update(cluster.id, { status: 'Error', cluster_configs: {} });
      assert.equal(patched?.status, 'Error');
      assert.deepEqual(patched?.cluster_configs, {});
    });

    it('keeps template mains and libs in order and finds templates using a binary', async () => {
      const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
      const template = newTemplate('t1', {
        mains: [b, a],
        libs: [c, a],
        interface: [
          {
            id: 'i1',
            name: 'x',
            description: null,
            mapping_type: 'args',
            location: '1',
            value_type: 'string',
            required: true,
            default: null,
            order: 0,
          },
        ],
      });
      const inserted = await store.jobTemplates.insert(template);
      assert.deepEqual(
        [inserted.mains, inserted.libs],
        [
          [b, a],
          [c, a],
        ],
      );
      const fetched = await store.jobTemplates.get(template.id);
      assert.deepEqual([fetched?.mains, fetched?.libs, fetched?.interface], [[b, a], [c, a], template.interface]);
      assert.deepEqual(await store.jobBinaries.templatesUsing(a), [template.id]);
      assert.deepEqual(await store.jobBinaries.templatesUsing(c), [template.id]);

      const updated = await store.jobTemplates.update(template.id, { libs: [], description: 'd' });
      assert.deepEqual([updated?.mains, updated?.libs, updated?.description], [[b, a], [], 'd']);
      assert.deepEqual(await store.jobBinaries.templatesUsing(c), []);

      const listed = await store.jobTemplates.list({
        tenantId: 't1',
        filters: [{ field: 'id', op: 'eq', value: template.id }],
        sort: { field: 'id', descending: false },
        markerMode: 'after',
      });
      assert.deepEqual(
        listed.items.map((item) => item.mains),
        [[b, a]],
      );
      assert.deepEqual(
        (await store.jobTemplates.findByName('t1', template.name)).map((item) => item.mains),
        [[b, a]],
      );

      assert.equal(await store.jobTemplates.delete(template.id), true);
      assert.deepEqual(await store.jobBinaries.templatesUsing(a), []);
    });

    it('raises DuplicateEntryError for a second name in one tenant only', async () => {
      const template = await store.jobTemplates.insert(newTemplate('t1', { name: 'same' }));
      await assert.rejects(store.jobTemplates.insert(newTemplate('t1', { name: 'same' })), (error: unknown) => {
        assert.ok(error instanceof DuplicateEntryError);
        assert.deepEqual(error.columns, ['tenant_id', 'name']);
        return true;
      });
      await store.jobTemplates.insert(newTemplate('t2', { name: 'same' }));
      // The failed insert left no mains behind.
      assert.deepEqual((await store.jobTemplates.get(template.id))?.mains, []);

      await store.jobBinaries.insert(newBinary('t1', { name: 'same' }));
      await assert.rejects(store.jobBinaries.insert(newBinary('t1', { name: 'same' })), DuplicateEntryError);
      await store.jobBinaryInternals.insertWithData({ ...newBinary('t1'), name: 'same' }, Buffer.from('x'));
      await assert.rejects(
        store.jobBinaryInternals.insertWithData({ ...newBinary('t1'), name: 'same' }, Buffer.from('y')),
        DuplicateEntryError,
      );
      // Data sources may share names (Sahara checks that in the API, not the schema).
      await store.dataSources.insert(newDataSource('t1', { name: 'same' }));
      await store.dataSources.insert(newDataSource('t1', { name: 'same' }));
    });

    it('stores job binary internal bytes apart and deletes them with the row', async () => {
      const data = Buffer.from([0, 1, 2, 255, 254, 0, 10, 13]);
      const { id } = newBinary('t1');
      const inserted = await store.jobBinaryInternals.insertWithData(
        { id, tenant_id: 't1', is_public: false, is_protected: false, name: `jbi-${id}` },
        data,
      );
      assert.equal(inserted.datasize, data.length);
      assert.equal('data' in inserted, false);
      assert.deepEqual(await store.jobBinaryInternals.getData(id), data);
      const listed = await store.jobBinaryInternals.list({
        tenantId: 't1',
        filters: [{ field: 'id', op: 'eq', value: id }],
        sort: { field: 'name', descending: false },
        markerMode: 'after',
      });
      assert.deepEqual(listed.items, [inserted]);
      assert.equal(await store.jobBinaryInternals.delete(id), true);
      assert.equal(await store.jobBinaryInternals.getData(id), undefined);
      assert.equal(await store.jobBinaryInternals.get(id), undefined);

      const empty = await store.jobBinaryInternals.insertWithData(
        { id: randomUUID(), tenant_id: 't1', is_public: false, is_protected: false, name: `empty-${id}` },
        Buffer.alloc(0),
      );
      assert.equal(empty.datasize, 0);
      assert.deepEqual(await store.jobBinaryInternals.getData(empty.id), Buffer.alloc(0));
    });

    it('finds binaries referencing an internal binary', async () => {
      const jbi = randomUUID();
      const binary = await store.jobBinaries.insert(newBinary('t2', { url: `internal-db://${jbi}` }));
      await store.jobBinaries.insert(newBinary('t2', { url: `internal-db://${jbi}x` }));
      assert.deepEqual(await store.jobBinaries.referencingInternal(jbi), [binary.id]);
    });

    it('finds executions by data source (input, output, data_source_urls) and by template', async () => {
      const source = randomUUID();
      const template = randomUUID();
      const asInput = await store.jobExecutions.insert(
        executionRow({ tenant_id: 't1', input_id: source, job_id: template }),
      );
      const asOutput = await store.jobExecutions.insert(
        executionRow({ tenant_id: 't2', output_id: source, status: 'RUNNING' }),
      );
      const asUrl = await store.jobExecutions.insert(
        executionRow({ tenant_id: 't3', data_source_urls: { [source]: 'hdfs://x', other: 'y' }, status: 'SUCCEEDED' }),
      );
      // Mentioned only inside a url value: not a use.
      await store.jobExecutions.insert(
        executionRow({ tenant_id: 't3', data_source_urls: { other: `swift://${source}:` } }),
      );
      assert.deepEqual(
        new Set(await store.dataSources.executionsUsing(source)),
        new Set([asInput.id, asOutput.id, asUrl.id]),
      );
      assert.deepEqual(
        new Set(await store.dataSources.executionsUsing(source, ['RUNNING', 'PENDING'])),
        new Set([asInput.id, asOutput.id]),
      );
      assert.deepEqual(await store.dataSources.executionsUsing(source, []), []);
      assert.deepEqual(await store.jobTemplates.executionsOf(template), [asInput.id]);
    });

    it('round-trips every execution field', async () => {
      const row = executionRow({
        tenant_id: 't1',
        status: 'RUNNING',
        info: { status: 'RUNNING', nested: { a: [1, 2] } },
        engine_job_id: 'pid-1',
        return_code: '0',
        job_configs: {
          configs: { 'mapred.x': 1, flag: true },
          params: { P: 'v' },
          args: ['a', 'b'],
          job_execution_info: { x: 'y' },
        },
        extra: { neutron: {} },
        data_source_urls: { a: 'b' },
        start_time: new Date().toISOString(),
        lease_owner: 'node-a',
        lease_expires_at: new Date().toISOString(),
        cancel_requested: true,
        is_public: true,
        is_protected: null,
      });
      const inserted = await store.jobExecutions.insert(row);
      assert.deepEqual(await store.jobExecutions.get(row.id), inserted);
      for (const [field, value] of Object.entries(row)) {
        assert.deepEqual(inserted[field as keyof typeof inserted], value, field);
      }
    });

    it('findByName returns visible rows only', async () => {
      const name = `shared-${randomUUID()}`;
      const own = await store.dataSources.insert(newDataSource('a', { name }));
      const foreignPublic = await store.dataSources.insert(newDataSource('b', { name, is_public: true }));
      await store.dataSources.insert(newDataSource('b', { name }));
      const found = await store.dataSources.findByName('a', name);
      assert.deepEqual(new Set(found.map((row) => row.id)), new Set([own.id, foreignPublic.id]));
    });

    it('runs a second store on the same database alongside, and outlives it', async () => {
      const second = await openStore({ databaseUrl: database.url, dataDir: database.dataDir });
      // Interleaved transactions of two stores must neither deadlock nor fail.
      const work = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 === 0 ? store : second).jobTemplates.insert(
            newTemplate('pair', { mains: [randomUUID()], libs: [randomUUID()] }),
          ),
        ),
      );
      for (const template of work) assert.equal((await store.jobTemplates.get(template.id))?.mains.length, 1);
      await second.close();
      await assert.rejects(second.jobTemplates.get(work[0]!.id), StoreUnavailableError);
      assert.ok(await store.jobTemplates.get(work[0]!.id));
    });

    it('answers ping and closes twice', async () => {
      const extra = await openTestStore(dialect);
      await extra.store.ping();
      await extra.store.close();
      await extra.store.close();
      await extra.drop();
    });
  });
}
