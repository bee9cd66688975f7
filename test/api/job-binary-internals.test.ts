import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, type TestApp } from '../support/app.js';
import { testDialects } from '../support/databases.js';
import { assertError, call, createBinary, newProject, ok, uploadJbi } from '../support/resources.js';

const JBI_KEYS = ['created_at', 'datasize', 'id', 'is_protected', 'is_public', 'name', 'tenant_id', 'updated_at'];

for (const dialect of testDialects()) {
  describe(`job-binary-internals (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ dialect });
    });
    after(() => t.close());

    const put = (project: string, name: string, payload: string | Buffer) =>
      t.app.inject({
        method: 'PUT',
        url: `/v1.1/${project}/job-binary-internals/${name}`,
        payload,
        headers: { 'content-type': 'application/octet-stream' },
      });

    test('upload stores the bytes and renders only their size', async () => {
      const project = newProject();
      const jbi = ok(await put(project, 'x.pig', Buffer.from('text')), 202).job_binary_internal;
      assert.deepEqual(Object.keys(jbi).sort(), JBI_KEYS);
      assert.equal(jbi.datasize, 4);
      assert.equal(jbi.name, 'x.pig');
      assert.equal(jbi.tenant_id, project);
      assert.equal(jbi.is_public, false);
      assert.match(jbi.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);

      const shown = ok(await call(t.app, project, 'GET', `/job-binary-internals/${jbi.id}`), 200).job_binary_internal;
      assert.deepEqual(shown, jbi);
      const data = await call(t.app, project, 'GET', `/job-binary-internals/${jbi.id}/data`);
      assert.equal(data.statusCode, 200);
      assert.equal(data.headers['content-type'], 'application/octet-stream');
      assert.equal(data.body, 'text');
    });

    test('binary data round-trips byte for byte, whatever the content type', async () => {
      const project = newProject();
      const bytes = Buffer.from([0, 255, 1, 254, 10, 13]);
      const jbi = ok(
        await t.app.inject({
          method: 'PUT',
          url: `/v1.1/${project}/job-binary-internals/b.bin`,
          payload: bytes,
          headers: { 'content-type': 'text/plain' },
        }),
        202,
      ).job_binary_internal;
      const data = await call(t.app, project, 'GET', `/job-binary-internals/${jbi.id}/data`);
      assert.deepEqual(data.rawPayload, bytes);
    });

    test('an empty body is BAD_JOB_BINARY', async () => {
      assertError(await put(newProject(), 'x.pig', ''), 400, 'BAD_JOB_BINARY');
    });

    test('a name that is not a valid_name is BAD_JOB_BINARY', async () => {
      const message = assertError(await put(newProject(), '-bad.pig', 'data'), 400, 'BAD_JOB_BINARY');
      assert.match(message, /^-bad\.pig is not a valid name\nError ID: /);
    });

    test('a body over 5120 KiB is DATA_TOO_BIG', async () => {
      assertError(await put(newProject(), 'x.pig', Buffer.alloc(6 * 1024 * 1024, 1)), 400, 'DATA_TOO_BIG');
      // One byte over the limit reaches the handler, which reports the size.
      const message = assertError(
        await put(newProject(), 'x.pig', Buffer.alloc(5120 * 1024 + 1, 1)),
        400,
        'DATA_TOO_BIG',
      );
      assert.match(message, /greater than the maximum \(5120KB\)/);
      ok(await put(newProject(), 'x.pig', Buffer.alloc(5120 * 1024, 1)), 202);
    });

    test('a second upload with the same name is DB_DUPLICATE_ENTRY', async () => {
      const project = newProject();
      await uploadJbi(t.app, project, 'same.sh');
      assertError(await put(project, 'same.sh', 'again'), 400, 'DB_DUPLICATE_ENTRY');
      // Another project may use the name.
      await uploadJbi(t.app, newProject(), 'same.sh');
    });

    test('PATCH rejects unknown fields with VALIDATION_ERROR', async () => {
      const project = newProject();
      const jbi = await uploadJbi(t.app, project, 'p.sh');
      const message = assertError(
        await call(t.app, project, 'PATCH', `/job-binary-internals/${jbi.id}`, { id: '1', name: 'q.sh' }),
        400,
        'VALIDATION_ERROR',
      );
      assert.match(message, /Additional properties are not allowed \('id' was unexpected\)/);
      assertError(
        await call(t.app, project, 'PATCH', `/job-binary-internals/${jbi.id}`, { name: '-q' }),
        400,
        'VALIDATION_ERROR',
      );
    });

    test('PATCH renames and publishes; the owner only; protection holds', async () => {
      const project = newProject();
      const other = newProject();
      const jbi = await uploadJbi(t.app, project, 'r.sh');
      const renamed = ok(
        await call(t.app, project, 'PATCH', `/job-binary-internals/${jbi.id}`, { name: 's.sh', is_public: true }),
        202,
      );
      assert.equal(renamed.job_binary_internal.name, 's.sh');
      assert.equal(renamed.job_binary_internal.is_public, true);
      assert.notEqual(renamed.job_binary_internal.updated_at, null);

      // Public: visible to the other project, but not theirs to change or delete.
      ok(await call(t.app, other, 'GET', `/job-binary-internals/${jbi.id}`), 200);
      assert.match(
        assertError(
          await call(t.app, other, 'PATCH', `/job-binary-internals/${jbi.id}`, { name: 't.sh' }),
          400,
          'UPDATE_FAILED',
        ),
        /wasn't created in this tenant/,
      );
      assertError(await call(t.app, other, 'DELETE', `/job-binary-internals/${jbi.id}`), 400, 'DELETION_FAILED');

      ok(await call(t.app, project, 'PATCH', `/job-binary-internals/${jbi.id}`, { is_protected: true }), 202);
      assert.match(
        assertError(
          await call(t.app, project, 'PATCH', `/job-binary-internals/${jbi.id}`, { name: 'u.sh' }),
          400,
          'UPDATE_FAILED',
        ),
        /marked as protected/,
      );
      assertError(await call(t.app, project, 'DELETE', `/job-binary-internals/${jbi.id}`), 400, 'DELETION_FAILED');
      ok(await call(t.app, project, 'PATCH', `/job-binary-internals/${jbi.id}`, { is_public: false }), 202);
      ok(
        await call(t.app, project, 'PATCH', `/job-binary-internals/${jbi.id}`, { is_protected: false, name: 'v.sh' }),
        202,
      );
    });

    test('private JBIs of another project are 404 everywhere', async () => {
      const project = newProject();
      const jbi = await uploadJbi(t.app, project, 'hidden.sh');
      const other = newProject();
      for (const [method, path] of [
        ['GET', `/job-binary-internals/${jbi.id}`],
        ['GET', `/job-binary-internals/${jbi.id}/data`],
        ['PATCH', `/job-binary-internals/${jbi.id}`],
        ['DELETE', `/job-binary-internals/${jbi.id}`],
      ] as const) {
        assert.match(
          assertError(await call(t.app, other, method, path, method === 'PATCH' ? {} : undefined), 404, 'NOT_FOUND'),
          /not found/,
        );
      }
    });

    test('DELETE answers 204 with an empty body; a JBI a job binary points at is DELETION_FAILED', async () => {
      const project = newProject();
      const loose = await uploadJbi(t.app, project, 'loose.sh');
      const deleted = await call(t.app, project, 'DELETE', `/job-binary-internals/${loose.id}`);
      assert.equal(deleted.statusCode, 204);
      assert.equal(deleted.body, '');
      assertError(await call(t.app, project, 'GET', `/job-binary-internals/${loose.id}`), 404, 'NOT_FOUND');

      const binary = await createBinary(t.app, project, 'used');
      const jbiId = binary.url.slice('internal-db://'.length);
      assertError(await call(t.app, project, 'DELETE', `/job-binary-internals/${jbiId}`), 400, 'DELETION_FAILED');
    });

    test('list: envelope, sorting, name filter, pagination and parameter errors', async () => {
      const project = newProject();
      for (const name of ['c.sh', 'a.sh', 'b.py']) await uploadJbi(t.app, project, name);
      const all = ok(await call(t.app, project, 'GET', '/job-binary-internals?sort_by=name'), 200);
      assert.deepEqual(
        all.binaries.map((row: any) => row.name),
        ['a.sh', 'b.py', 'c.sh'],
      );
      assert.equal('markers' in all, false);
      assert.deepEqual(Object.keys(all.binaries[0]).sort(), JBI_KEYS);

      const filtered = ok(await call(t.app, project, 'GET', '/job-binary-internals?name=.sh&sort_by=-name'), 200);
      assert.deepEqual(
        filtered.binaries.map((row: any) => row.name),
        ['c.sh', 'a.sh'],
      );

      const page = ok(await call(t.app, project, 'GET', '/job-binary-internals?sort_by=name&limit=2'), 200);
      assert.deepEqual(
        page.binaries.map((row: any) => row.name),
        ['a.sh', 'b.py'],
      );
      assert.equal(page.markers.next, page.binaries[1].id);
      const next = ok(
        await call(t.app, project, 'GET', `/job-binary-internals?sort_by=name&limit=2&marker=${page.markers.next}`),
        200,
      );
      assert.deepEqual(
        next.binaries.map((row: any) => row.name),
        ['c.sh'],
      );

      assertError(await call(t.app, project, 'GET', '/job-binary-internals?sort_by=datasize'), 400, 400);
      assertError(await call(t.app, project, 'GET', '/job-binary-internals?limit=0'), 400, 400);
      assertError(await call(t.app, project, 'GET', '/job-binary-internals?bogus=1'), 400, 'INVALID_PARAMS_ON_REQUEST');
      assertError(
        await call(t.app, project, 'GET', '/job-binary-internals?is_public=maybe'),
        400,
        'INVALID_PARAMS_ON_REQUEST',
      );
      assertError(
        await call(t.app, project, 'GET', `/job-binary-internals?marker=${crypto.randomUUID()}`),
        404,
        'NOT_FOUND',
      );
      const publicOnly = ok(await call(t.app, project, 'GET', '/job-binary-internals?is_public=TRUE'), 200);
      assert.deepEqual(
        publicOnly.binaries.filter((row: any) => row.tenant_id === project),
        [],
      );
    });
  });
}
