import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { DataSourceRecord, JobExecutionRecord, ListQuery, Owned, Page, Store } from '../../src/store/types.js';
import { LOCAL_CLUSTER_ID } from '../../src/store/index.js';
import { openTestStore, testDialects, type TestDatabase } from '../support/databases.js';
import { executionRow } from '../support/rows.js';
import { newCluster, newDataSource, newTemplate } from './fixtures.js';

type Mode = ListQuery['markerMode'];

/** Sahara's marker rules (docs/compatibility.md#paging-markers) over the whole sorted list L, as plain array code. */
function expectedPage(L: string[], mode: Mode, marker: string | undefined, limit: number | undefined): Page<string> {
  const upTo = (from: number) => (limit === undefined ? L.slice(from) : L.slice(from, from + limit));
  if (mode === 'after') {
    const p = marker === undefined ? -1 : L.indexOf(marker);
    const rest = L.slice(p + 1);
    const items = limit === undefined ? rest : rest.slice(0, limit);
    const next = limit !== undefined && rest.length > limit ? items[limit - 1]! : null;
    const prev = marker !== undefined && limit !== undefined && p - limit >= 0 ? L[p - limit]! : null;
    return { items, prev, next };
  }
  if (marker === undefined) {
    return { items: upTo(0), prev: null, next: limit !== undefined && L.length > limit ? L[limit - 1]! : null };
  }
  const p = L.indexOf(marker);
  if (p < 0) return { items: upTo(0), prev: null, next: null };
  if (limit === undefined) return { items: upTo(p), prev: null, next: null };
  return { items: upTo(p), prev: L[p - limit] ?? null, next: L[p + limit] ?? null };
}

type Key = string | boolean | null;
/** The store's order: sort key ascending with nulls first, then id; descending is the exact reverse. */
function sortedIds<T extends Owned>(rows: T[], key: (row: T) => Key, descending: boolean): string[] {
  const rank = (value: Key) =>
    (value === null ? [0, ''] : [1, typeof value === 'boolean' ? Number(value) : value]) as [number, string | number];
  const ordered = [...rows].sort((a, b) => {
    const [ra, va] = rank(key(a));
    const [rb, vb] = rank(key(b));
    if (ra !== rb) return ra - rb;
    if (va !== vb) return va < vb ? -1 : 1;
    return a.id < b.id ? -1 : 1;
  });
  const ids = ordered.map((row) => row.id);
  return descending ? ids.reverse() : ids;
}

const ids = (page: Page<Owned>): Page<string> => ({ ...page, items: page.items.map((item) => item.id) });

for (const dialect of testDialects()) {
  describe(`store listing (${dialect})`, () => {
    let database: TestDatabase;
    let store: Store;
    before(async () => {
      database = await openTestStore(dialect);
      store = database.store;
    });
    after(() => database.drop());

    const query = (over: Partial<ListQuery> & { tenantId: string }): ListQuery => ({
      filters: [],
      sort: { field: 'id', descending: false },
      markerMode: 'after',
      ...over,
    });

    it('shows own rows and public rows of other tenants, with filters applying to both', async () => {
      // A database of its own: the public rows made here would show in every other list.
      const isolated = await openTestStore(dialect);
      const store = isolated.store;
      const own = await store.dataSources.insert(newDataSource('vis-a', { type: 'hdfs' }));
      const ownSwift = await store.dataSources.insert(newDataSource('vis-a', { type: 'swift' }));
      const foreignPublic = await store.dataSources.insert(newDataSource('vis-b', { type: 'hdfs', is_public: true }));
      await store.dataSources.insert(newDataSource('vis-b', { type: 'swift', is_public: true, description: 'vis' }));
      await store.dataSources.insert(newDataSource('vis-b', { type: 'hdfs', is_public: false }));
      await store.dataSources.insert(newDataSource('vis-b', { type: 'hdfs', is_public: null }));
      const visible = (
        await store.dataSources.list(
          query({ tenantId: 'vis-a', filters: [{ field: 'description', op: 'eq', value: '' }] }),
        )
      ).items;
      assert.deepEqual(new Set(visible.map((row) => row.id)), new Set([own.id, ownSwift.id, foreignPublic.id]));
      const hdfs = await store.dataSources.list(
        query({
          tenantId: 'vis-a',
          filters: [
            { field: 'type', op: 'eq', value: 'hdfs' },
            { field: 'description', op: 'eq', value: '' },
          ],
        }),
      );
      assert.deepEqual(new Set(hdfs.items.map((row) => row.id)), new Set([own.id, foreignPublic.id]));
      await isolated.drop();
    });

    it("filters with 'eq' (null too), case-insensitive 'ieq' and case-sensitive 'contains' without wildcards", async () => {
      const tenantId = 'filters';
      const names = ['a%b', 'axb', 'A_b', 'a_b', 'plain'];
      const rows = new Map<string, DataSourceRecord>();
      for (const name of names)
        rows.set(name, await store.dataSources.insert(newDataSource(tenantId, { name, url: `hdfs://h/${name}` })));
      await store.dataSources.update(rows.get('plain')!.id, { description: 'touched' });
      const names_of = async (filters: ListQuery['filters']) =>
        (
          await store.dataSources.list(query({ tenantId, filters, sort: { field: 'name', descending: false } }))
        ).items.map((row) => row.name);

      assert.deepEqual(await names_of([{ field: 'name', op: 'eq', value: 'a_b' }]), ['a_b']);
      assert.deepEqual(await names_of([{ field: 'updated_at', op: 'eq', value: null }]), ['A_b', 'a%b', 'a_b', 'axb']);
      assert.deepEqual(await names_of([{ field: 'name', op: 'ieq', value: 'A_B' }]), ['A_b', 'a_b']);
      assert.deepEqual(await names_of([{ field: 'name', op: 'contains', value: '%' }]), ['a%b']);
      assert.deepEqual(await names_of([{ field: 'name', op: 'contains', value: '_' }]), ['A_b', 'a_b']);
      assert.deepEqual(await names_of([{ field: 'name', op: 'contains', value: 'a_' }]), ['a_b']);
      assert.deepEqual(await names_of([{ field: 'url', op: 'contains', value: 'h/A' }]), ['A_b']);
      assert.deepEqual(await names_of([{ field: 'name', op: 'contains', value: '' }]), [
        'A_b',
        'a%b',
        'a_b',
        'axb',
        'plain',
      ]);
      assert.deepEqual(
        await names_of([
          { field: 'is_public', op: 'eq', value: false },
          { field: 'name', op: 'contains', value: 'x' },
        ]),
        ['axb'],
      );
      assert.deepEqual(await names_of([{ field: 'is_public', op: 'eq', value: true }]), []);
    });

    it('pages data sources by every sort field in both directions, strictly after the marker', async () => {
      const tenantId = 'paging';
      const rows: DataSourceRecord[] = [];
      const specs = [
        { name: 'b', description: 'x', type: 'hdfs', url: 'u3', is_public: true },
        { name: 'a', description: 'x', type: 'swift', url: 'u1', is_public: null },
        { name: 'c', description: '', type: 'hdfs', url: 'u2', is_public: false },
        { name: 'a2', description: 'y', type: 's3', url: 'u2', is_public: false },
        { name: 'B', description: 'x', type: 'hdfs', url: 'u0', is_public: null },
        { name: 'd', description: '', type: 'file', url: 'u9', is_public: false },
      ] as const;
      for (const [index, spec] of specs.entries()) {
        rows.push(await store.dataSources.insert(newDataSource(tenantId, { ...spec, is_protected: index % 2 === 0 })));
      }
      for (const row of rows.slice(0, 2))
        rows[rows.indexOf(row)] = (await store.dataSources.update(row.id, { description: row.description }))!;
      const fields = [
        'id',
        'name',
        'description',
        'type',
        'url',
        'is_public',
        'is_protected',
        'created_at',
        'updated_at',
        'tenant_id',
      ] as const;
      for (const field of fields) {
        for (const descending of [false, true]) {
          const L = sortedIds(rows, (row) => row[field], descending);
          await checkEveryPage(
            store.dataSources.list,
            { tenantId, sort: { field, descending }, markerMode: 'after' },
            L,
          );
        }
      }
    });

    it('pages executions starting at the marker, sorted by template, cluster and status names', async () => {
      const tenantId = 'exec-paging';
      const cluster = await store.clusters.insert(newCluster(tenantId, { name: 'alpha' }));
      const goneCluster = randomUUID();
      const templates = [
        await store.jobTemplates.insert(newTemplate(tenantId, { name: 'wordcount' })),
        await store.jobTemplates.insert(newTemplate(tenantId, { name: 'Pi' })),
      ];
      const specs: Array<{ job: string; cluster: string; status: string; start?: string }> = [
        { job: templates[0]!.id, cluster: LOCAL_CLUSTER_ID, status: 'RUNNING', start: '2024-01-01T00:00:00.000Z' },
        { job: templates[1]!.id, cluster: cluster.id, status: 'SUCCEEDED', start: '2023-01-01T00:00:00.000Z' },
        { job: randomUUID(), cluster: cluster.id, status: 'PENDING' },
        { job: templates[0]!.id, cluster: goneCluster, status: 'KILLED', start: '2024-01-01T00:00:00.000Z' },
        { job: templates[1]!.id, cluster: LOCAL_CLUSTER_ID, status: 'RUNNING' },
      ];
      const rows: JobExecutionRecord[] = [];
      for (const spec of specs) {
        rows.push(
          await store.jobExecutions.insert(
            executionRow({
              tenant_id: tenantId,
              job_id: spec.job,
              cluster_id: spec.cluster,
              status: spec.status,
              start_time: spec.start ?? null,
            }),
          ),
        );
      }
      const templateName = (row: JobExecutionRecord) => templates.find((t) => t.id === row.job_id)?.name ?? null;
      const clusterName = (row: JobExecutionRecord) =>
        row.cluster_id === LOCAL_CLUSTER_ID ? 'local' : row.cluster_id === cluster.id ? 'alpha' : null;
      const keys: Record<string, (row: JobExecutionRecord) => Key> = {
        id: (row) => row.id,
        job_template: templateName,
        cluster: clusterName,
        status: (row) => row.status,
        start_time: (row) => row.start_time,
        end_time: (row) => row.end_time,
        created_at: (row) => row.created_at,
        cluster_id: (row) => row.cluster_id,
      };
      for (const [field, key] of Object.entries(keys)) {
        for (const descending of [false, true]) {
          const L = sortedIds(rows, key, descending);
          await checkEveryPage(
            store.jobExecutions.list,
            { tenantId, sort: { field, descending }, markerMode: 'at' },
            L,
          );
        }
      }

      const filtered = async (filters: ListQuery['filters']) =>
        new Set(
          (await store.jobExecutions.list(query({ tenantId, filters, markerMode: 'at' }))).items.map((row) => row.id),
        );
      const matching = (predicate: (row: JobExecutionRecord) => boolean) =>
        new Set(rows.filter(predicate).map((row) => row.id));
      assert.deepEqual(
        await filtered([{ field: 'cluster.name', op: 'contains', value: 'lph' }]),
        matching((row) => clusterName(row) === 'alpha'),
      );
      assert.deepEqual(
        await filtered([{ field: 'job.name', op: 'contains', value: 'count' }]),
        matching((row) => templateName(row) === 'wordcount'),
      );
      assert.deepEqual(await filtered([{ field: 'job.name', op: 'contains', value: 'pi' }]), new Set());
      assert.deepEqual(
        await filtered([{ field: 'status', op: 'ieq', value: 'running' }]),
        matching((row) => row.status === 'RUNNING'),
      );
      assert.deepEqual(
        await filtered([{ field: 'start_time', op: 'eq', value: null }]),
        matching((row) => row.start_time === null),
      );

      // A marker outside the filtered list: the page starts at the beginning, without markers.
      const running = rows
        .filter((row) => row.status === 'RUNNING')
        .map((row) => row.id)
        .sort();
      const outside = rows.find((row) => row.status === 'PENDING')!.id;
      const page = await store.jobExecutions.list(
        query({
          tenantId,
          markerMode: 'at',
          marker: outside,
          limit: 1,
          filters: [{ field: 'status', op: 'ieq', value: 'RUNNING' }],
        }),
      );
      assert.deepEqual(ids(page), { items: [running[0]], prev: null, next: null });
    });

    it('follows the reference examples for L=[a,b,c,d,e], limit 2', async () => {
      const tenantId = 'examples';
      // Public rows of the other tests are visible too; the examples need exactly five rows.
      const own: ListQuery['filters'] = [{ field: 'tenant_id', op: 'eq', value: tenantId }];
      const rows = [];
      for (const name of ['a', 'b', 'c', 'd', 'e'])
        rows.push(await store.dataSources.insert(newDataSource(tenantId, { name })));
      const [a, b, c, d, e] = rows.map((row) => row.id);
      const dsPage = async (marker?: string) =>
        ids(
          await store.dataSources.list(
            query({
              tenantId,
              filters: own,
              sort: { field: 'name', descending: false },
              limit: 2,
              ...(marker ? { marker } : {}),
            }),
          ),
        );
      assert.deepEqual(await dsPage(), { items: [a, b], prev: null, next: b });
      assert.deepEqual(await dsPage(b), { items: [c, d], prev: null, next: d });
      assert.deepEqual(await dsPage(c), { items: [d, e], prev: a, next: null });

      const executions = [];
      for (const status of ['a', 'b', 'c', 'd', 'e'])
        executions.push(await store.jobExecutions.insert(executionRow({ tenant_id: tenantId, status })));
      const [ea, eb, , ed, ee] = executions.map((row) => row.id);
      const exPage = async (marker?: string) =>
        ids(
          await store.jobExecutions.list(
            query({
              tenantId,
              filters: own,
              markerMode: 'at',
              sort: { field: 'status', descending: false },
              limit: 2,
              ...(marker ? { marker } : {}),
            }),
          ),
        );
      assert.deepEqual(await exPage(), { items: [ea, eb], prev: null, next: eb });
      assert.deepEqual(await exPage(eb), { items: [eb, executions[2]!.id], prev: null, next: ed });
      assert.deepEqual(await exPage(ed), { items: [ed, ee], prev: eb, next: null });
    });
  });
}

/** Compares the store's page with the reference rules for every marker of L (and none), limits 1, 2, 3 and none. */
async function checkEveryPage(
  list: (query: ListQuery) => Promise<Page<Owned>>,
  base: Pick<ListQuery, 'tenantId' | 'sort' | 'markerMode'>,
  L: string[],
): Promise<void> {
  for (const marker of [undefined, ...L]) {
    for (const limit of [1, 2, 3, undefined]) {
      const query: ListQuery = { ...base, filters: [] };
      if (marker !== undefined) query.marker = marker;
      if (limit !== undefined) query.limit = limit;
      const label = `sort ${base.sort.descending ? '-' : ''}${base.sort.field}, marker ${marker && L.indexOf(marker)}, limit ${limit}`;
      assert.deepEqual(ids(await list(query)), expectedPage(L, base.markerMode, marker, limit), label);
    }
  }
}
