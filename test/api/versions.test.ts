import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { tokenAuth } from '../../src/api/auth.js';
import { testDialects } from '../support/databases.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { assertError, createShellTemplate, newProject, ok, uploadJbi } from '../support/resources.js';

for (const dialect of testDialects()) {
  describe(`version discovery and Sahara's URL forms (${dialect})`, () => {
    const project = newProject();
    const other = newProject();
    let t: TestApp;
    let tokens: TestApp;

    before(async () => {
      t = await createTestApp({ dialect, localConcurrency: 0 });
      tokens = await createTestApp({
        dialect,
        localConcurrency: 0,
        auth: tokenAuth(
          new Map([
            ['secret', { tenantId: project, roles: [] }],
            ['other', { tenantId: other, roles: [] }],
          ]),
        ),
      });
    });
    after(async () => {
      await t?.close();
      await tokens?.close();
    });

    test('the root lists v1.1 and v2 with links on the host asked, v2 with its microversion range, without a token', async () => {
      const response = await tokens.app.inject({ method: 'GET', url: '/', headers: { host: 'sahara.example:8386' } });
      assert.equal(response.statusCode, 300);
      assert.deepEqual(response.json(), {
        versions: [
          { id: 'v1.1', status: 'SUPPORTED', links: [{ rel: 'self', href: 'http://sahara.example:8386/v1.1/' }] },
          {
            id: 'v2',
            status: 'CURRENT',
            links: [{ rel: 'self', href: 'http://sahara.example:8386/v2/' }],
            min_version: '2.0',
            max_version: '2.0',
          },
        ],
      });
    });

    test('each version answers its own document', async () => {
      const v11 = ok(await tokens.app.inject({ method: 'GET', url: '/v1.1', headers: { host: 'h:1' } }), 200);
      assert.deepEqual(v11, {
        version: { id: 'v1.1', status: 'SUPPORTED', links: [{ rel: 'self', href: 'http://h:1/v1.1/' }] },
      });
      const v2 = ok(await tokens.app.inject({ method: 'GET', url: '/v2/', headers: { host: 'h:1' } }), 200);
      assert.equal(v2.version.id, 'v2');
      assert.equal(v2.version.max_version, '2.0');
    });

    test('a .json suffix names the same resource; an upload keeps its .json name', async () => {
      const template = await createShellTemplate(t.app, project, 'suffixed');
      const shown = ok(await t.app.inject({ method: 'GET', url: `/v1.1/${project}/jobs/${template.id}.json` }), 200);
      assert.equal(shown.job.id, template.id);
      const listed = ok(await t.app.inject({ method: 'GET', url: `/v1.1/${project}/jobs.json?name=suffixed` }), 200);
      assert.deepEqual(
        listed.jobs.map((job: any) => job.id),
        [template.id],
      );
      const jbi = await uploadJbi(t.app, project, 'config.json', '{}');
      assert.equal(jbi.name, 'config.json');
      assert.equal(ok(await t.app.inject({ method: 'GET', url: '/openapi.json' }), 200).openapi, '3.0.3');
    });

    test("without a project id in the path, the token's project is the caller's", async () => {
      const headers = { 'x-auth-token': 'secret' };
      const jbi = ok(
        await tokens.app.inject({
          method: 'PUT',
          url: '/v1.1/job-binary-internals/x.sh',
          payload: 'echo',
          headers: { ...headers, 'content-type': 'application/octet-stream' },
        }),
        202,
      );
      assert.equal(jbi.job_binary_internal.tenant_id, project);
      const mine = ok(await tokens.app.inject({ method: 'GET', url: '/v1.1/job-binary-internals', headers }), 200);
      assert.deepEqual(
        mine.binaries.map((row: any) => row.id),
        [jbi.job_binary_internal.id],
      );
      ok(
        await tokens.app.inject({
          method: 'GET',
          url: `/v1.1/job-binary-internals/${jbi.job_binary_internal.id}.json`,
          headers,
        }),
        200,
      );
      const executions = ok(await tokens.app.inject({ method: 'GET', url: '/v1.1/job-executions', headers }), 200);
      assert.deepEqual(executions.job_executions, []);
      // Another project's token sees none of it.
      const theirs = ok(
        await tokens.app.inject({
          method: 'GET',
          url: '/v1.1/job-binary-internals',
          headers: { 'x-auth-token': 'other' },
        }),
        200,
      );
      assert.deepEqual(theirs.binaries, []);
      assertError(
        await tokens.app.inject({
          method: 'GET',
          url: `/v1.1/job-binary-internals/${jbi.job_binary_internal.id}`,
          headers: { 'x-auth-token': 'other' },
        }),
        404,
        'NOT_FOUND',
      );
      assertError(await tokens.app.inject({ method: 'GET', url: '/v1.1/job-executions' }), 401, 'UNAUTHORIZED');
    });

    test('noauth has no token to take the project from: a URL without one is refused', async () => {
      assertError(await t.app.inject({ method: 'GET', url: '/v1.1/job-executions' }), 401, 'UNAUTHORIZED');
    });
  });
}
