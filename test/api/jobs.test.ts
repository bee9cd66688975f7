import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { LOCAL_CLUSTER_ID } from '../../src/store/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { testDialects } from '../support/databases.js';
import {
  assertError,
  call,
  createBinary,
  createDataSource,
  createShellTemplate,
  createTemplate,
  newProject,
  ok,
} from '../support/resources.js';

const TEMPLATE_KEYS = [
  'created_at',
  'description',
  'id',
  'interface',
  'is_protected',
  'is_public',
  'libs',
  'mains',
  'name',
  'tenant_id',
  'type',
  'updated_at',
];
const INTERFACE_KEYS = [
  'created_at',
  'default',
  'description',
  'id',
  'job_id',
  'location',
  'mapping_type',
  'name',
  'order',
  'required',
  'tenant_id',
  'updated_at',
  'value_type',
];

const arg = (name: string, mapping_type: string, location: string, extra: Record<string, unknown> = {}) => ({
  name,
  mapping_type,
  location,
  required: true,
  ...extra,
});

for (const dialect of testDialects()) {
  describe(`jobs (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ dialect });
    });
    after(() => t.close());

    const post = (project: string, body: Record<string, unknown>) => call(t.app, project, 'POST', '/jobs', body);

    test('create a Pig template: mains and libs rendered in full without extra, interface with every column', async () => {
      const project = newProject();
      const main = await createBinary(t.app, project, 'script.pig', { extra: { user: 'u', password: 'secret' } });
      const lib = await createBinary(t.app, project, 'udf.jar');
      const job = await createTemplate(t.app, project, {
        name: 'pig-job',
        type: 'Pig',
        description: 'counts',
        mains: [main.id],
        libs: [lib.id],
        interface: [
          arg('Reducers', 'configs', 'mapred.reduce.tasks', { value_type: 'number', default: '1', description: null }),
          arg('Input', 'params', 'INPUT', { required: false, default: 'hdfs://nn/in', value_type: 'data_source' }),
          arg('First', 'args', '0', { required: false, default: 'a' }),
        ],
      });
      assert.deepEqual(Object.keys(job).sort(), TEMPLATE_KEYS);
      assert.deepEqual(job.mains, [main]);
      assert.deepEqual(job.libs, [lib]);
      assert.equal(JSON.stringify(job).includes('secret'), false);
      assert.equal(job.interface.length, 3);
      for (const [order, entry] of job.interface.entries()) {
        assert.deepEqual(Object.keys(entry).sort(), INTERFACE_KEYS);
        assert.equal(entry.order, order);
        assert.equal(entry.job_id, job.id);
        assert.equal(entry.tenant_id, project);
      }
      assert.equal(job.interface[0].value_type, 'number');
      assert.equal(job.interface[0].description, null);
      assert.equal(job.interface[2].value_type, 'string');
      assert.deepEqual(ok(await call(t.app, project, 'GET', `/jobs/${job.id}`), 200).job, job);
    });

    test('an unknown type is VALIDATION_ERROR', async () => {
      assertError(await post(newProject(), { name: 'jar.jar', type: 'Jar' }), 400, 'VALIDATION_ERROR');
      assertError(await post(newProject(), { name: 'x', type: 'Shell', mains: ['a', 'a'] }), 400, 'VALIDATION_ERROR');
      assertError(await post(newProject(), { name: 'x', type: 'Shell', mains: [''] }), 400, 'VALIDATION_ERROR');
      assertError(await post(newProject(), { name: 'x', type: 'Shell', bogus: true }), 400, 'VALIDATION_ERROR');
      assertError(await post(newProject(), { type: 'Shell' }), 400, 'VALIDATION_ERROR');
    });

    test('each job type takes the mains and libs it needs', async () => {
      const project = newProject();
      const a = await createBinary(t.app, project, 'a');
      const b = await createBinary(t.app, project, 'b');
      const rule = async (body: Record<string, unknown>, message: RegExp) =>
        assert.match(assertError(await post(project, { name: 'rules', ...body }), 400, 'INVALID_DATA'), message);
      await rule({ type: 'Pig', libs: [a.id] }, /^Pig flow requires main script\n/);
      await rule({ type: 'Spark', libs: [a.id] }, /^Spark job requires main application jar\n/);
      await rule({ type: 'Pig', mains: [a.id], libs: [a.id, b.id] }, /^'mains' and 'libs' overlap\n/);
      await rule({ type: 'Java', mains: [a.id] }, /^Java flow requires libs\n/);
      await rule({ type: 'Java', mains: [a.id], libs: [b.id] }, /^Java flow does not use mains\n/);
      await rule({ type: 'MapReduce.Streaming', mains: [a.id] }, /^MapReduce.Streaming flow does not use mains\n/);
    });

    test('a Streaming template needs no binaries', async () => {
      const job = ok(
        await post(newProject(), { name: 'streaming', type: 'MapReduce.Streaming', streaming: true }),
        202,
      ).job;
      assert.deepEqual([job.mains, job.libs, job.interface], [[], [], []]);
    });

    test('an unknown or invisible binary is 400 NOT_FOUND', async () => {
      const missing = randomUUID();
      assert.match(
        assertError(await post(newProject(), { name: 'x', type: 'Shell', mains: [missing] }), 400, 'NOT_FOUND'),
        new RegExp(`^Job binary '${missing}' does not exist\\n`),
      );
      const foreign = await createBinary(t.app, newProject(), 'foreign');
      assertError(await post(newProject(), { name: 'x', type: 'Java', libs: [foreign.id] }), 400, 'NOT_FOUND');
    });

    test('a duplicate name in a project is DB_DUPLICATE_ENTRY', async () => {
      const project = newProject();
      await createShellTemplate(t.app, project, 'twice');
      assertError(await post(project, { name: 'twice', type: 'MapReduce.Streaming' }), 400, 'DB_DUPLICATE_ENTRY');
    });

    test('template interfaces follow the argument rules', async () => {
      const project = newProject();
      const main = await createBinary(t.app, project, 'main');
      const shell = (args: unknown[]) =>
        post(project, { name: 'iface', type: 'Shell', mains: [main.id], interface: args });
      const rejects = async (args: unknown[], message: RegExp, name = 'INVALID_DATA') =>
        assert.match(assertError(await shell(args), 400, name), message);

      await rejects([arg('A', 'args', '0'), arg('A', 'args', '1')], /Name must be unique/);
      assert.match(
        assertError(
          await post(project, {
            name: 'p',
            type: 'Storm.Pyleus',
            mains: [main.id],
            interface: [arg('A', 'args', '0')],
          }),
          400,
          'INVALID_DATA',
        ),
        /^Only mapping types \[\] are allowed for job type Storm.Pyleus\./,
      );
      assert.match(
        assertError(
          await post(project, { name: 'm', type: 'MapReduce.Streaming', interface: [arg('A', 'params', 'X')] }),
          400,
          'INVALID_DATA',
        ),
        /^Only mapping types \['configs'\] are allowed/,
      );
      await rejects([arg('A', 'args', '1')], /unbroken integer sequence/);
      await rejects([arg('A', 'args', 'fish')], /unbroken integer sequence/);
      await rejects([arg('A', 'args', '0', { required: false })], /must be given default values/);
      await rejects(
        [arg('A', 'configs', 'k'), arg('B', 'configs', 'k')],
        /combination of mapping type and location must be unique/,
      );
      await rejects(
        [arg('A', 'configs', 'k', { value_type: 'number', default: '2.5' })],
        /^Value '2.5' is not a valid number\./,
      );
      await rejects(
        [arg('A', 'params', 'k', { value_type: 'data_source', default: 'no-scheme' })],
        /neither a valid data source ID nor a valid URL/,
      );
      await rejects(
        [arg('A', 'params', 'k', { value_type: 'data_source', default: randomUUID() })],
        /doesn't exist/,
        'INVALID_REFERENCE',
      );
      const source = await createDataSource(t.app, project, { name: 'iface-ds', type: 'hdfs', url: '/x' });
      ok(await shell([arg('A', 'params', 'k', { value_type: 'data_source', default: source.id })]), 202);

      // Schema-level interface errors.
      for (const bad of [
        [{ name: 'A', mapping_type: 'args', location: '0' }],
        [arg('A', 'env', 'X')],
        [arg('', 'args', '0')],
        [{ ...arg('A', 'args', '0'), x: 1 }],
      ]) {
        assertError(await shell(bad), 400, 'VALIDATION_ERROR');
      }
    });

    test('PATCH with an unknown field is VALIDATION_ERROR; PATCH updates', async () => {
      const project = newProject();
      const job = await createShellTemplate(t.app, project, 'patchable');
      assert.match(
        assertError(
          await call(t.app, project, 'PATCH', `/jobs/${job.id}`, { name: 'job', id: '1' }),
          400,
          'VALIDATION_ERROR',
        ),
        /'id' was unexpected/,
      );
      const patched = ok(
        await call(t.app, project, 'PATCH', `/jobs/${job.id}`, { name: 'renamed', description: 'd', is_public: true }),
        202,
      ).job;
      assert.deepEqual([patched.name, patched.description, patched.is_public], ['renamed', 'd', true]);
      assert.notEqual(patched.updated_at, null);
      assert.equal(
        ok(await call(t.app, project, 'PATCH', `/jobs/${job.id}`, { description: null }), 202).job.description,
        '',
      );
      assertError(await call(t.app, project, 'PATCH', `/jobs/${randomUUID()}`, {}), 404, 'NOT_FOUND');
      await createShellTemplate(t.app, project, 'taken');
      assertError(await call(t.app, project, 'PATCH', `/jobs/${job.id}`, { name: 'taken' }), 400, 'DB_DUPLICATE_ENTRY');
    });

    test('PATCH and DELETE: other projects and protection', async () => {
      const project = newProject();
      const job = await createTemplate(t.app, project, {
        name: 'guarded',
        type: 'MapReduce.Streaming',
        is_public: true,
        is_protected: true,
      });
      const stranger = newProject();
      ok(await call(t.app, stranger, 'GET', `/jobs/${job.id}`), 200);
      assertError(await call(t.app, stranger, 'PATCH', `/jobs/${job.id}`, { name: 'x' }), 400, 'UPDATE_FAILED');
      assertError(await call(t.app, stranger, 'DELETE', `/jobs/${job.id}`), 400, 'DELETION_FAILED');
      assert.match(
        assertError(await call(t.app, project, 'PATCH', `/jobs/${job.id}`, { name: 'x' }), 400, 'UPDATE_FAILED'),
        /^Job with id '.*' could not be updated because it's marked as protected\n/,
      );
      assertError(await call(t.app, project, 'DELETE', `/jobs/${job.id}`), 400, 'DELETION_FAILED');
      ok(await call(t.app, project, 'PATCH', `/jobs/${job.id}`, { is_protected: false, is_public: false }), 202);
      assertError(await call(t.app, stranger, 'GET', `/jobs/${job.id}`), 404, 'NOT_FOUND');
      const deleted = await call(t.app, project, 'DELETE', `/jobs/${job.id}`);
      assert.equal(deleted.statusCode, 204);
      assert.equal(deleted.body, '');
    });

    test('DELETE of a template that has executions is DELETION_FAILED', async () => {
      const project = newProject();
      const job = await createShellTemplate(t.app, project, 'ran');
      ok(await call(t.app, project, 'POST', `/jobs/${job.id}/execute`, { cluster_id: LOCAL_CLUSTER_ID }), 202);
      assert.match(
        assertError(await call(t.app, project, 'DELETE', `/jobs/${job.id}`), 400, 'DELETION_FAILED'),
        /^Job deletion failed. This job is being used by job executions.\n/,
      );
    });

    test('config hints answer per job type and 404 for an unknown type', async () => {
      const project = newProject();
      assert.deepEqual(ok(await call(t.app, project, 'GET', '/jobs/config-hints/Java'), 200), {
        job_config: { configs: [], args: [] },
      });
      assert.deepEqual(ok(await call(t.app, project, 'GET', '/jobs/config-hints/Shell'), 200), {
        job_config: { configs: [], params: {}, args: [] },
      });
      const pig = ok(await call(t.app, project, 'GET', '/jobs/config-hints/Pig'), 200).job_config;
      assert.deepEqual(Object.keys(pig).sort(), ['args', 'configs', 'params']);
      for (const hint of pig.configs) assert.deepEqual(Object.keys(hint).sort(), ['description', 'name', 'value']);
      const hive = ok(await call(t.app, project, 'GET', '/jobs/config-hints/Hive'), 200).job_config;
      assert.deepEqual(Object.keys(hive).sort(), ['configs', 'params']);
      const streaming = ok(await call(t.app, project, 'GET', '/jobs/config-hints/MapReduce.Streaming'), 200).job_config;
      assert.ok(streaming.configs.some((hint: { name: string }) => hint.name === 'edp.streaming.mapper'));
      assertError(await call(t.app, project, 'GET', '/jobs/config-hints/Bogus'), 404, 'NOT_FOUND');
    });

    test('list: envelope with full templates, filters, sorting, markers', async () => {
      const project = newProject();
      const a = await createShellTemplate(t.app, project, 'list-a');
      await createTemplate(t.app, project, { name: 'list-b', type: 'MapReduce.Streaming', description: 'streams' });
      await createShellTemplate(t.app, project, 'list-c');
      const mine = `tenant_id=${project}`;
      const all = ok(await call(t.app, project, 'GET', `/jobs?${mine}&sort_by=-name`), 200);
      assert.deepEqual(
        all.jobs.map((job: any) => job.name),
        ['list-c', 'list-b', 'list-a'],
      );
      assert.deepEqual(all.jobs[2], a);
      const shells = ok(await call(t.app, project, 'GET', `/jobs?${mine}&type=Shell&sort_by=name&limit=1`), 200);
      assert.deepEqual(
        shells.jobs.map((job: any) => job.name),
        ['list-a'],
      );
      assert.deepEqual(shells.markers, { prev: null, next: a.id });
      const described = ok(await call(t.app, project, 'GET', `/jobs?${mine}&description=stream`), 200);
      assert.deepEqual(
        described.jobs.map((job: any) => job.name),
        ['list-b'],
      );
      assertError(await call(t.app, project, 'GET', '/jobs?mains=x'), 400, 'INVALID_PARAMS_ON_REQUEST');
      assertError(await call(t.app, project, 'GET', '/jobs?sort_by=description'), 400, 400);
      assertError(await call(t.app, project, 'GET', `/jobs?marker=${randomUUID()}`), 404, 'NOT_FOUND');
    });
  });
}
