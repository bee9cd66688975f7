import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { insertExecution } from '../support/rows.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { testDialects } from '../support/databases.js';
import {
  assertError,
  call,
  createDataSource,
  createIdleCluster,
  createShellTemplate,
  newProject,
  ok,
} from '../support/resources.js';

const DS_KEYS = [
  'created_at',
  'description',
  'id',
  'is_protected',
  'is_public',
  'name',
  'tenant_id',
  'type',
  'updated_at',
  'url',
];
const SHARE = '2e3c5c6d-8a5e-4bd7-bb1e-21f24b4a6e52';
const SWIFT_CREDENTIALS = { user: 'u', password: 'p' };

for (const dialect of testDialects()) {
  describe(`data-sources (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ dialect });
    });
    after(() => t.close());

    const post = (project: string, body: Record<string, unknown>) =>
      call(t.app, project, 'POST', '/data-sources', body);
    const rejects = async (body: Record<string, unknown>, name: string) =>
      assertError(await post(newProject(), { name: 'ds', ...body }), 400, name);

    test('create, show: 202 and 200, credentials never rendered', async () => {
      const project = newProject();
      const created = ok(
        await post(project, {
          name: 'in',
          type: 'swift',
          url: 'swift://container.sahara/text',
          credentials: SWIFT_CREDENTIALS,
          description: 'input',
        }),
        202,
      ).data_source;
      assert.deepEqual(Object.keys(created).sort(), DS_KEYS);
      assert.equal(created.type, 'swift');
      assert.equal(created.is_protected, false);
      assert.deepEqual(ok(await call(t.app, project, 'GET', `/data-sources/${created.id}`), 200).data_source, created);
    });

    test('valid URLs of every type, with placeholders', async () => {
      const project = newProject();
      const valid: [string, string, Record<string, unknown>?][] = [
        ['hdfs', 'hdfs://namenode:8020/user/out/%JOB_EXEC_ID%'],
        ['hdfs', '/user/relative/is/fine'],
        ['maprfs', 'maprfs:///data/x'],
        ['maprfs', '/data/y'],
        ['swift', 'swift://container/object-%RANDSTR(8)%', SWIFT_CREDENTIALS],
        ['s3', 's3a://bucket/key', { accesskey: 'a', secretkey: 's', endpoint: 'e', ssl: true, bucket_in_path: false }],
        ['manila', `manila://${SHARE}/path`],
        ['file', 'file:///shared/out/%JOB_EXEC_ID%/%RANDSTR(1024)%'],
      ];
      for (const [index, [type, url, credentials]] of valid.entries()) {
        ok(await post(project, { name: `ds${index}`, type, url, ...(credentials ? { credentials } : {}) }), 202);
      }
    });

    test('swift without credentials is INVALID_CREDENTIALS', async () => {
      await rejects({ type: 'swift', url: 'swift://c/o' }, 'INVALID_CREDENTIALS');
      await rejects({ type: 'swift', url: 'swift://c/o', credentials: { user: 'u' } }, 'INVALID_CREDENTIALS');
    });

    test('hdfs with another scheme or no host is INVALID_DATA', async () => {
      assert.match(
        await rejects({ type: 'hdfs', url: 'http://x/y' }, 'INVALID_DATA'),
        /^URL scheme must be 'hdfs'\nError ID: /,
      );
      await rejects({ type: 'hdfs', url: 'hdfs:///no/host' }, 'INVALID_DATA');
      await rejects({ type: 'hdfs', url: '' }, 'INVALID_DATA');
    });

    test('other types: each URL rule is INVALID_DATA', async () => {
      await rejects({ type: 'maprfs', url: 'hdfs://x/y' }, 'INVALID_DATA');
      await rejects(
        { type: 'swift', url: 'swift://container.other/o', credentials: SWIFT_CREDENTIALS },
        'INVALID_DATA',
      );
      await rejects({ type: 'swift', url: 'swift://container/', credentials: SWIFT_CREDENTIALS }, 'INVALID_DATA');
      await rejects({ type: 'swift', url: 'http://container/o', credentials: SWIFT_CREDENTIALS }, 'INVALID_DATA');
      await rejects({ type: 's3', url: 'http://bucket/key' }, 'INVALID_DATA');
      await rejects({ type: 's3', url: 's3://bucket' }, 'INVALID_DATA');
      await rejects({ type: 's3', url: 's3:///key' }, 'INVALID_DATA');
      await rejects({ type: 's3', url: 's3://b/k', credentials: { token: 'x' } }, 'INVALID_DATA');
      await rejects({ type: 's3', url: 's3://b/k', credentials: { ssl: 'yes' } }, 'INVALID_DATA');
      await rejects({ type: 'manila', url: 'manila://not-a-uuid/p' }, 'INVALID_DATA');
      await rejects({ type: 'manila', url: `manila://${SHARE}` }, 'INVALID_DATA');
      await rejects({ type: 'manila', url: `nfs://${SHARE}/p` }, 'INVALID_DATA');
    });

    test('file: file:///absolute/path only, no host, no .. segments', async () => {
      for (const url of [
        'file://host/data',
        'file:relative',
        'file:/single/slash',
        '/no/scheme',
        'file:///',
        'file:///data/../etc',
        'hdfs://h/x',
      ]) {
        await rejects({ type: 'file', url }, 'INVALID_DATA');
      }
    });

    test('an unknown type is VALIDATION_ERROR', async () => {
      assert.match(
        await rejects({ type: 'ftp', url: 'ftp://x/y' }, 'VALIDATION_ERROR'),
        /^type: 'ftp' is not one of \[/,
      );
      await rejects({ type: 'hdfs' }, 'VALIDATION_ERROR');
      await rejects({ type: 'hdfs', url: '/x', extra: 1 }, 'VALIDATION_ERROR');
      await rejects({ type: 'hdfs', url: '/x', credentials: 'secret' }, 'VALIDATION_ERROR');
    });

    test('%RANDSTR(n)% needs n > 0 and a total of at most 1024', async () => {
      assert.match(await rejects({ type: 'hdfs', url: '/tmp/%RANDSTR(0)%' }, 'INVALID_DATA'), /must be positive/);
      await rejects({ type: 'hdfs', url: '/tmp/%RANDSTR(-3)%' }, 'INVALID_DATA');
      assert.match(
        await rejects({ type: 'hdfs', url: '/tmp/%RANDSTR(513)%/%RANDSTR(513)%' }, 'INVALID_DATA'),
        /maximum allowed is 1024/,
      );
    });

    test('an existing visible name is NAME_ALREADY_EXISTS', async () => {
      const project = newProject();
      await createDataSource(t.app, project, { name: 'taken', type: 'hdfs', url: '/a' });
      assert.match(
        assertError(await post(project, { name: 'taken', type: 'hdfs', url: '/b' }), 400, 'NAME_ALREADY_EXISTS'),
        /^Data source with name 'taken' already exists\n/,
      );
      // A public data source's name is taken for everyone who sees it.
      const owner = newProject();
      const name = `public-${randomUUID().slice(0, 8)}`;
      await createDataSource(t.app, owner, { name, type: 'hdfs', url: '/p', is_public: true });
      assertError(await post(newProject(), { name, type: 'hdfs', url: '/q' }), 400, 'NAME_ALREADY_EXISTS');
    });

    test('PUT while a PENDING execution uses the data source is UPDATE_FAILED', async () => {
      const project = newProject();
      const source = await createDataSource(t.app, project, { name: 'busy', type: 'hdfs', url: '/busy' });
      const template = await createShellTemplate(t.app, project, 'busy-template');
      const cluster = await createIdleCluster(t.store, project);
      await insertExecution(t.store, {
        tenant_id: project,
        status: 'PENDING',
        job_id: template.id,
        cluster_id: cluster.id,
        data_source_urls: { [source.id]: '/busy' },
      });
      assert.match(
        assertError(
          await call(t.app, project, 'PUT', `/data-sources/${source.id}`, { name: 'x' }),
          400,
          'UPDATE_FAILED',
        ),
        /used in a PENDING Job/,
      );
      // Used as input of a PENDING execution counts as well.
      const input = await createDataSource(t.app, project, { name: 'input', type: 'hdfs', url: '/in' });
      await insertExecution(t.store, {
        tenant_id: project,
        status: 'PENDING',
        job_id: template.id,
        cluster_id: cluster.id,
        input_id: input.id,
      });
      assertError(
        await call(t.app, project, 'PUT', `/data-sources/${input.id}`, { description: 'x' }),
        400,
        'UPDATE_FAILED',
      );
    });

    test('PUT re-validates the merged data source and the name', async () => {
      const project = newProject();
      const source = await createDataSource(t.app, project, { name: 'orig', type: 'hdfs', url: 'hdfs://nn/a' });
      await createDataSource(t.app, project, { name: 'other', type: 'hdfs', url: '/o' });
      const updated = ok(
        await call(t.app, project, 'PUT', `/data-sources/${source.id}`, { url: 'hdfs://nn/b', description: 'moved' }),
        202,
      ).data_source;
      assert.equal(updated.url, 'hdfs://nn/b');
      assert.equal(updated.description, 'moved');
      assert.notEqual(updated.updated_at, null);
      ok(await call(t.app, project, 'PUT', `/data-sources/${source.id}`, { name: 'orig' }), 202);
      assertError(
        await call(t.app, project, 'PUT', `/data-sources/${source.id}`, { name: 'other' }),
        400,
        'NAME_ALREADY_EXISTS',
      );
      assertError(
        await call(t.app, project, 'PUT', `/data-sources/${source.id}`, { url: 'http://x/y' }),
        400,
        'INVALID_DATA',
      );
      // Switching to swift without credentials fails on the merged check.
      assertError(
        await call(t.app, project, 'PUT', `/data-sources/${source.id}`, { type: 'swift', url: 'swift://c/o' }),
        400,
        'INVALID_CREDENTIALS',
      );
      ok(
        await call(t.app, project, 'PUT', `/data-sources/${source.id}`, {
          type: 'swift',
          url: 'swift://c/o',
          credentials: SWIFT_CREDENTIALS,
        }),
        202,
      );
      // The stored credentials satisfy later checks.
      ok(await call(t.app, project, 'PUT', `/data-sources/${source.id}`, { url: 'swift://c/p' }), 202);
      assertError(
        await call(t.app, project, 'PUT', `/data-sources/${source.id}`, { id: 'x' }),
        400,
        'VALIDATION_ERROR',
      );
      assertError(await call(t.app, project, 'PUT', `/data-sources/${randomUUID()}`, { name: 'x' }), 404, 'NOT_FOUND');
    });

    test('PUT and DELETE: other projects and protection', async () => {
      const project = newProject();
      const source = await createDataSource(t.app, project, {
        name: 'guarded',
        type: 'hdfs',
        url: '/g',
        is_public: true,
        is_protected: true,
      });
      const stranger = newProject();
      ok(await call(t.app, stranger, 'GET', `/data-sources/${source.id}`), 200);
      assertError(
        await call(t.app, stranger, 'PUT', `/data-sources/${source.id}`, { description: 'x' }),
        400,
        'UPDATE_FAILED',
      );
      assertError(await call(t.app, stranger, 'DELETE', `/data-sources/${source.id}`), 400, 'DELETION_FAILED');
      assertError(
        await call(t.app, project, 'PUT', `/data-sources/${source.id}`, { description: 'x' }),
        400,
        'UPDATE_FAILED',
      );
      assertError(await call(t.app, project, 'DELETE', `/data-sources/${source.id}`), 400, 'DELETION_FAILED');
      ok(await call(t.app, project, 'PUT', `/data-sources/${source.id}`, { is_public: false }), 202);
      assertError(await call(t.app, stranger, 'GET', `/data-sources/${source.id}`), 404, 'NOT_FOUND');
      ok(await call(t.app, project, 'PUT', `/data-sources/${source.id}`, { is_protected: false }), 202);
      const deleted = await call(t.app, project, 'DELETE', `/data-sources/${source.id}`);
      assert.equal(deleted.statusCode, 204);
      assert.equal(deleted.body, '');
    });

    test('DELETE of a data source an execution uses is DELETION_FAILED', async () => {
      const project = newProject();
      const output = await createDataSource(t.app, project, { name: 'out', type: 'hdfs', url: '/out' });
      const template = await createShellTemplate(t.app, project, 'writer');
      const cluster = await createIdleCluster(t.store, project);
      await insertExecution(t.store, {
        tenant_id: project,
        status: 'PENDING',
        job_id: template.id,
        cluster_id: cluster.id,
        output_id: output.id,
      });
      assert.match(
        assertError(await call(t.app, project, 'DELETE', `/data-sources/${output.id}`), 400, 'DELETION_FAILED'),
        /being used by job executions/,
      );
    });

    test('list pages strictly after the marker; filters on columns', async () => {
      const project = newProject();
      const ids = [];
      for (const name of ['a', 'b', 'c', 'd', 'e']) {
        ids.push(
          (
            await createDataSource(t.app, project, {
              name: `ds-${name}`,
              type: name < 'c' ? 'hdfs' : 'maprfs',
              url: `/data/${name}`,
            })
          ).id,
        );
      }
      const mine = `tenant_id=${project}&sort_by=name`;
      const page = ok(await call(t.app, project, 'GET', `/data-sources?${mine}&limit=2&marker=${ids[1]}`), 200);
      assert.deepEqual(
        page.data_sources.map((row: any) => row.name),
        ['ds-c', 'ds-d'],
      );
      assert.deepEqual(page.markers, { prev: null, next: ids[3] });
      assert.deepEqual(Object.keys(page.data_sources[0]).sort(), DS_KEYS);

      const maprfs = ok(await call(t.app, project, 'GET', `/data-sources?${mine}&type=maprfs`), 200);
      assert.deepEqual(
        maprfs.data_sources.map((row: any) => row.name),
        ['ds-c', 'ds-d', 'ds-e'],
      );
      const byUrl = ok(await call(t.app, project, 'GET', `/data-sources?${mine}&url=data/b`), 200);
      assert.deepEqual(
        byUrl.data_sources.map((row: any) => row.name),
        ['ds-b'],
      );
      const byType = ok(
        await call(t.app, project, 'GET', `/data-sources?tenant_id=${project}&sort_by=-type&limit=1`),
        200,
      );
      assert.equal(byType.data_sources[0].type, 'maprfs');
      assertError(await call(t.app, project, 'GET', '/data-sources?credentials=x'), 400, 'INVALID_PARAMS_ON_REQUEST');
      assertError(await call(t.app, project, 'GET', '/data-sources?sort_by=url'), 400, 400);
      assertError(await call(t.app, project, 'GET', `/data-sources?marker=${randomUUID()}`), 404, 'NOT_FOUND');
    });
  });
}
