import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { insertExecution } from '../support/rows.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { testDialects } from '../support/databases.js';
import {
  assertError,
  call,
  createBinary,
  createIdleCluster,
  createTemplate,
  newProject,
  ok,
  uploadJbi,
} from '../support/resources.js';

const BINARY_KEYS = [
  'created_at',
  'description',
  'id',
  'is_protected',
  'is_public',
  'name',
  'tenant_id',
  'updated_at',
  'url',
];
const SHARE = '2e3c5c6d-8a5e-4bd7-bb1e-21f24b4a6e52';

for (const dialect of testDialects()) {
  describe(`job-binaries (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ dialect });
    });
    after(() => t.close());

    const post = (project: string, body: Record<string, unknown>) =>
      call(t.app, project, 'POST', '/job-binaries', body);

    test('create an internal-db binary: 202, no extra rendered, show and data', async () => {
      const project = newProject();
      const jbi = await uploadJbi(t.app, project, 'main.sh', 'echo main');
      const created = ok(
        await post(project, {
          name: 'main.sh',
          url: `internal-db://${jbi.id}`,
          description: 'the main',
          extra: { user: 'u', password: 'p' },
        }),
        202,
      ).job_binary;
      assert.deepEqual(Object.keys(created).sort(), BINARY_KEYS);
      assert.equal(created.description, 'the main');
      assert.deepEqual(ok(await call(t.app, project, 'GET', `/job-binaries/${created.id}`), 200).job_binary, created);
      const data = await call(t.app, project, 'GET', `/job-binaries/${created.id}/data`);
      assert.equal(data.statusCode, 200);
      assert.equal(data.headers['content-type'], 'application/octet-stream');
      assert.equal(data.body, 'echo main');
    });

    test('remote binaries are accepted by scheme: swift, s3, manila, hdfs', async () => {
      const project = newProject();
      ok(await post(project, { name: 'a', url: 'swift://container/a.jar', extra: { user: 'u', password: 'p' } }), 202);
      ok(
        await post(project, {
          name: 'b',
          url: 's3://bucket/b.jar',
          extra: { accesskey: 'a', secretkey: 's', endpoint: 'e' },
        }),
        202,
      );
      ok(await post(project, { name: 'c', url: `manila://${SHARE}/c.jar` }), 202);
      const hdfs = ok(await post(project, { name: 'd', url: 'hdfs://namenode:8020/user/d.jar' }), 202).job_binary;
      ok(await post(project, { name: 'e', url: 'hdfs://namenode/e.jar' }), 202);
      // Oasis keeps no bytes for remote binaries.
      assertError(await call(t.app, project, 'GET', `/job-binaries/${hdfs.id}/data`), 400, 'INVALID_DATA');
    });

    test('internal-db with a non-uuid is VALIDATION_ERROR valid_job_location', async () => {
      const message = assertError(
        await post(newProject(), { name: 'x', url: 'internal-db://abacaba' }),
        400,
        'VALIDATION_ERROR',
      );
      assert.match(message, /^url: 'internal-db:\/\/abacaba' is not a 'valid_job_location'\nError ID: /);
      for (const url of [
        'swift://',
        `manila://not-a-uuid/x`,
        `manila://${SHARE}`,
        'hdfs:///x',
        'hdfs://host:port/x',
        'hdfs://host',
      ]) {
        assertError(await post(newProject(), { name: 'x', url }), 400, 'VALIDATION_ERROR');
      }
    });

    test('an unknown scheme is INVALID_DATA "Invalid job binary"; no scheme is INVALID_DATA', async () => {
      assert.match(
        assertError(await post(newProject(), { name: 'x', url: 'ftp://h/x' }), 400, 'INVALID_DATA'),
        /^Invalid job binary\n/,
      );
      assert.match(
        assertError(await post(newProject(), { name: 'x', url: '/just/a/path' }), 400, 'INVALID_DATA'),
        /^Job binary url must have a scheme\n/,
      );
    });

    test('swift without extra user and password is BAD_JOB_BINARY', async () => {
      assertError(await post(newProject(), { name: 'x', url: 'swift://c/x.jar' }), 400, 'BAD_JOB_BINARY');
      assertError(
        await post(newProject(), { name: 'x', url: 'swift://c/x.jar', extra: { user: 'u' } }),
        400,
        'BAD_JOB_BINARY',
      );
    });

    test('internal-db naming an unknown or invisible JBI is INVALID_REFERENCE', async () => {
      assertError(
        await post(newProject(), { name: 'x', url: `internal-db://${randomUUID()}` }),
        400,
        'INVALID_REFERENCE',
      );
      const foreign = await uploadJbi(t.app, newProject(), 'private.sh');
      assertError(
        await post(newProject(), { name: 'x', url: `internal-db://${foreign.id}` }),
        400,
        'INVALID_REFERENCE',
      );
    });

    test('s3 with extra missing endpoint is INVALID_DATA; s3 naming no object is BAD_JOB_BINARY', async () => {
      assertError(
        await post(newProject(), { name: 'x', url: 's3://b/x.jar', extra: { accesskey: 'a', secretkey: 's' } }),
        400,
        'INVALID_DATA',
      );
      const creds = { accesskey: 'a', secretkey: 's', endpoint: 'e' };
      assertError(await post(newProject(), { name: 'x', url: 's3://bucket/', extra: creds }), 400, 'BAD_JOB_BINARY');
    });

    test('schema: unknown fields, bad names and non-simple extra are VALIDATION_ERROR', async () => {
      const project = newProject();
      assertError(await post(project, { name: 'x', url: 'hdfs://h/x', foo: 1 }), 400, 'VALIDATION_ERROR');
      assertError(await post(project, { name: '.x', url: 'hdfs://h/x' }), 400, 'VALIDATION_ERROR');
      assertError(await post(project, { url: 'hdfs://h/x' }), 400, 'VALIDATION_ERROR');
      assertError(await post(project, { name: 'x', url: 'hdfs://h/x', extra: { a: 1.5 } }), 400, 'VALIDATION_ERROR');
    });

    test('duplicate names in a project are DB_DUPLICATE_ENTRY', async () => {
      const project = newProject();
      ok(await post(project, { name: 'dup', url: 'hdfs://h/x' }), 202);
      assertError(await post(project, { name: 'dup', url: 'hdfs://h/y' }), 400, 'DB_DUPLICATE_ENTRY');
    });

    test('PUT on an unknown id is 400 NOT_FOUND (no existence pre-check)', async () => {
      assertError(
        await call(t.app, newProject(), 'PUT', `/job-binaries/${randomUUID()}`, { name: 'x' }),
        400,
        'NOT_FOUND',
      );
    });

    test('PUT updates; internal-db urls cannot change; binaries of PENDING executions cannot change', async () => {
      const project = newProject();
      const binary = await createBinary(t.app, project, 'put.sh');
      const updated = ok(
        await call(t.app, project, 'PUT', `/job-binaries/${binary.id}`, { description: 'now described' }),
        202,
      ).job_binary;
      assert.equal(updated.description, 'now described');
      assert.notEqual(updated.updated_at, null);
      ok(await call(t.app, project, 'PUT', `/job-binaries/${binary.id}`, { url: binary.url }), 202);

      const other = await uploadJbi(t.app, project, 'other.sh');
      assertError(
        await call(t.app, project, 'PUT', `/job-binaries/${binary.id}`, { url: `internal-db://${other.id}` }),
        400,
        'UPDATE_FAILED',
      );
      assertError(
        await call(t.app, project, 'PUT', `/job-binaries/${binary.id}`, { url: `internal-db://${randomUUID()}` }),
        400,
        'INVALID_REFERENCE',
      );
      assertError(
        await call(t.app, project, 'PUT', `/job-binaries/${binary.id}`, { url: 'ftp://x/y' }),
        400,
        'INVALID_DATA',
      );

      const remote = ok(await post(project, { name: 'remote', url: 'hdfs://h/r.sh' }), 202).job_binary;
      // On update, Sahara skips the credential checks.
      ok(await call(t.app, project, 'PUT', `/job-binaries/${remote.id}`, { url: 'swift://c/r.sh' }), 202);

      const template = await createTemplate(t.app, project, { name: 'pending', type: 'Shell', mains: [remote.id] });
      const cluster = await createIdleCluster(t.store, project);
      await insertExecution(t.store, {
        tenant_id: project,
        status: 'PENDING',
        job_id: template.id,
        cluster_id: cluster.id,
      });
      assert.match(
        assertError(
          await call(t.app, project, 'PUT', `/job-binaries/${remote.id}`, { description: 'x' }),
          400,
          'UPDATE_FAILED',
        ),
        /is used in a PENDING job/,
      );
    });

    test('PUT by another project, and on a protected binary, is UPDATE_FAILED', async () => {
      const project = newProject();
      const binary = ok(
        await post(project, { name: 'pub', url: 'hdfs://h/p', is_public: true, is_protected: true }),
        202,
      ).job_binary;
      assertError(
        await call(t.app, newProject(), 'PUT', `/job-binaries/${binary.id}`, { description: 'x' }),
        400,
        'UPDATE_FAILED',
      );
      assertError(
        await call(t.app, project, 'PUT', `/job-binaries/${binary.id}`, { description: 'x' }),
        400,
        'UPDATE_FAILED',
      );
      ok(
        await call(t.app, project, 'PUT', `/job-binaries/${binary.id}`, { is_protected: false, description: 'x' }),
        202,
      );
      // Another project's private binary is not found.
      const hidden = ok(await post(project, { name: 'hidden', url: 'hdfs://h/h' }), 202).job_binary;
      assertError(
        await call(t.app, newProject(), 'PUT', `/job-binaries/${hidden.id}`, { name: 'x' }),
        400,
        'NOT_FOUND',
      );
      assertError(await call(t.app, newProject(), 'GET', `/job-binaries/${hidden.id}`), 404, 'NOT_FOUND');
    });

    test('DELETE of a binary a template uses is DELETION_FAILED; otherwise 204', async () => {
      const project = newProject();
      const used = await createBinary(t.app, project, 'used.sh');
      await createTemplate(t.app, project, { name: 'user', type: 'Shell', mains: [used.id] });
      assert.match(
        assertError(await call(t.app, project, 'DELETE', `/job-binaries/${used.id}`), 400, 'DELETION_FAILED'),
        /JobBinary is referenced and cannot be deleted/,
      );
      const free = await createBinary(t.app, project, 'free.sh');
      const deleted = await call(t.app, project, 'DELETE', `/job-binaries/${free.id}`);
      assert.equal(deleted.statusCode, 204);
      assert.equal(deleted.body, '');
      assertError(await call(t.app, project, 'DELETE', `/job-binaries/${free.id}`), 404, 'NOT_FOUND');
    });

    test('123 (v2 only, adapted): GET data of an internal-db binary whose JBI is invisible is INVALID_REFERENCE', async () => {
      const owner = newProject();
      const jbi = await uploadJbi(t.app, owner, 'shared.sh');
      const binary = ok(
        await post(owner, { name: 'shared', url: `internal-db://${jbi.id}`, is_public: true }),
        202,
      ).job_binary;
      assertError(await call(t.app, newProject(), 'GET', `/job-binaries/${binary.id}/data`), 400, 'INVALID_REFERENCE');
      ok(await call(t.app, owner, 'PATCH', `/job-binary-internals/${jbi.id}`, { is_public: true }), 202);
      const data = await call(t.app, newProject(), 'GET', `/job-binaries/${binary.id}/data`);
      assert.equal(data.statusCode, 200);
    });

    test('an unknown marker is ignored (first page, markers present); list filters', async () => {
      const project = newProject();
      for (const name of ['b1', 'a1', 'c1'])
        ok(await post(project, { name, url: `hdfs://nn/${name}.jar`, description: `about ${name}` }), 202);
      const page = ok(
        await call(t.app, project, 'GET', `/job-binaries?marker=${randomUUID()}&sort_by=name&tenant_id=${project}`),
        200,
      );
      assert.deepEqual(
        page.binaries.map((row: any) => row.name),
        ['a1', 'b1', 'c1'],
      );
      assert.deepEqual(page.markers, { prev: null, next: null });
      assert.deepEqual(Object.keys(page.binaries[0]).sort(), BINARY_KEYS);

      const byUrl = ok(await call(t.app, project, 'GET', '/job-binaries?url=b1.jar'), 200);
      assert.deepEqual(
        byUrl.binaries.map((row: any) => row.name),
        ['b1'],
      );
      const byDescription = ok(
        await call(t.app, project, 'GET', '/job-binaries?description=about&sort_by=-name&limit=2'),
        200,
      );
      assert.deepEqual(
        byDescription.binaries.map((row: any) => row.name),
        ['c1', 'b1'],
      );
      assert.equal(byDescription.markers.next, byDescription.binaries[1].id);
      assertError(await call(t.app, project, 'GET', '/job-binaries?extra=x'), 400, 'INVALID_PARAMS_ON_REQUEST');
      assertError(await call(t.app, project, 'GET', '/job-binaries?sort_by=url'), 400, 400);
    });
  });
}
