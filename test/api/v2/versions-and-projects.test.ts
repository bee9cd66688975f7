import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { tokenAuth } from '../../../src/api/auth.js';
import { LOCAL_CLUSTER_ID } from '../../../src/store/index.js';
import { createTestApp, type TestApp } from '../../support/app.js';
import { testDialects } from '../../support/databases.js';
import { assertError, callV2, createShellTemplate, newProject, ok } from '../../support/resources.js';

/** A microversion error: Sahara's body plus the supported bounds. */
function assertVersionError(response: LightMyRequestResponse, status: number, name: string): void {
  assert.equal(response.statusCode, status, response.body);
  const body = response.json();
  assert.deepEqual(Object.keys(body).sort(), [
    'error_code',
    'error_message',
    'error_name',
    'max_version',
    'min_version',
  ]);
  assert.deepEqual(
    [body.error_code, body.error_name, body.max_version, body.min_version],
    [status, name, '2.0', '2.0'],
  );
}

const version = (headers: Record<string, string>) => ({ 'openstack-api-version': headers.version! });

for (const dialect of testDialects()) {
  describe(`v2 microversions and the optional project id under noauth (${dialect})`, () => {
    let t: TestApp;
    const project = newProject();

    before(async () => {
      t = await createTestApp({ dialect, localConcurrency: 0 });
    });
    after(async () => {
      await t?.close();
    });

    test('every v2 answer names data-processing 2.0 and varies on the header, errors included', async () => {
      for (const response of [
        await callV2(t.app, project, 'GET', '/jobs'),
        await callV2(t.app, project, 'GET', '/jobs/nope'),
      ]) {
        assert.equal(response.headers['openstack-api-version'], 'data-processing 2.0');
        assert.equal(response.headers.vary, 'OpenStack-API-Version');
      }
      // v1.1 has no microversions.
      assert.equal(
        (await t.app.inject({ method: 'GET', url: `/v1.1/${project}/jobs` })).headers['openstack-api-version'],
        undefined,
      );
    });

    test('2.0, latest, no header and other services are served; 2.1 is 406 and a malformed version 400 (vectors 94, 95)', async () => {
      for (const header of [
        'data-processing 2.0',
        'data-processing latest',
        'compute 2.90',
        'compute 2.1, data-processing 2.0',
      ]) {
        ok(await callV2(t.app, project, 'GET', '/jobs', undefined, version({ version: header })), 200);
      }
      assertVersionError(
        await callV2(t.app, project, 'GET', '/jobs', undefined, version({ version: 'data-processing 2.1' })),
        406,
        'NOT_ACCEPTABLE',
      );
      assertVersionError(
        await callV2(t.app, project, 'GET', '/jobs', undefined, version({ version: 'data-processing 3.0' })),
        406,
        'NOT_ACCEPTABLE',
      );
      for (const header of [
        'data-processing abc',
        'data-processing',
        'data-processing 2.0 2.1',
        'data-processing 02.0',
      ]) {
        assertVersionError(
          await callV2(t.app, project, 'GET', '/jobs', undefined, version({ version: header })),
          400,
          'BAD_REQUEST',
        );
      }
      // The version is checked before the body: a malformed one wins over a bad body.
      const bad = await callV2(t.app, project, 'POST', '/jobs', {}, version({ version: 'data-processing 9.9' }));
      assertVersionError(bad, 406, 'NOT_ACCEPTABLE');
    });

    test('without a project in the path, noauth takes X-Project-Id (or X-Tenant-Id); without either it is 401', async () => {
      const template = await createShellTemplate(t.app, project, 'noauth-v2');
      const created = ok(
        await callV2(
          t.app,
          null,
          'POST',
          '/jobs',
          { cluster_id: LOCAL_CLUSTER_ID, job_template_id: template.id },
          { 'x-project-id': project },
        ),
        202,
      ).job;
      assert.equal(created.project_id, project);
      assert.ok(
        ok(await callV2(t.app, null, 'GET', '/jobs', undefined, { 'x-tenant-id': project }), 200).jobs.some(
          (job: any) => job.id === created.id,
        ),
      );
      ok(await callV2(t.app, project, 'GET', `/jobs/${created.id}`), 200);
      assertError(
        await callV2(t.app, null, 'GET', `/jobs/${created.id}`, undefined, { 'x-project-id': newProject() }),
        404,
        'NOT_FOUND',
      );
      const refused = await callV2(t.app, null, 'GET', '/jobs');
      assertError(refused, 401, 'UNAUTHORIZED');
      assert.equal(refused.headers['openstack-api-version'], 'data-processing 2.0');
      assertError(
        await callV2(t.app, null, 'GET', '/jobs', undefined, { 'x-project-id': 'p'.repeat(101) }),
        401,
        'UNAUTHORIZED',
      );
      // Authentication comes first: no project and a bad version is a 401.
      assertError(
        await callV2(t.app, null, 'GET', '/jobs', undefined, { 'openstack-api-version': 'data-processing 2.1' }),
        401,
        'UNAUTHORIZED',
      );
    });
  });

  describe(`v2 under tokens auth: the token names the project (${dialect})`, () => {
    let t: TestApp;
    const A = newProject();
    const B = newProject();

    before(async () => {
      const tokens = new Map([
        ['token-a', { tenantId: A, roles: ['member'] }],
        ['token-b', { tenantId: B, roles: ['member'] }],
      ]);
      t = await createTestApp({ dialect, localConcurrency: 0, auth: tokenAuth(tokens) });
    });
    after(async () => {
      await t?.close();
    });

    test('/v2/jobs and /v2/{project}/jobs are the same for the token project; another project in the path is 401', async () => {
      const a = { 'x-auth-token': 'token-a' };
      const created = ok(
        await callV2(t.app, null, 'POST', '/data-sources', { name: 'tok-ds', type: 'hdfs', url: 'hdfs://nn/x' }, a),
        202,
      ).data_source;
      assert.equal(created.project_id, A);
      assert.deepEqual(
        ok(await callV2(t.app, A, 'GET', '/data-sources', undefined, a), 200),
        ok(await callV2(t.app, null, 'GET', '/data-sources', undefined, a), 200),
      );
      assertError(await callV2(t.app, B, 'GET', '/data-sources', undefined, a), 401, 'UNAUTHORIZED');
      assertError(await callV2(t.app, null, 'GET', '/data-sources'), 401, 'UNAUTHORIZED');
      // B's token sees nothing of A's, whichever form of the path it uses.
      assertError(
        await callV2(t.app, null, 'GET', `/data-sources/${created.id}`, undefined, { 'x-auth-token': 'token-b' }),
        404,
        'NOT_FOUND',
      );
      // A path project must never override the token: the header is ignored under tokens auth.
      const withHeader = { 'x-auth-token': 'token-b', 'x-project-id': A };
      assertError(
        await callV2(t.app, null, 'GET', `/data-sources/${created.id}`, undefined, withHeader),
        404,
        'NOT_FOUND',
      );
      // Policy: clusters still need the admin role.
      assertError(
        await callV2(t.app, null, 'POST', '/clusters', { name: 'c', plugin_name: 'spark', plugin_version: '3' }, a),
        403,
        'FORBIDDEN',
      );
    });
  });
}
