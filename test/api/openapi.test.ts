import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { tokenAuth } from '../../src/api/auth.js';
import { LOCAL_CLUSTER_ID } from '../../src/store/index.js';
import { testDialects } from '../support/databases.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { call, createDataSource, createShellTemplate, newProject, ok, uploadJbi } from '../support/resources.js';

type Operation = { responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }> };
type Paths = Record<string, Record<string, Operation>>;

const ERROR_SCHEMA = { $ref: '#/components/schemas/SaharaError' };

/**
 * /openapi.json is the API's contract: every /v1.1 operation documents the status it really
 * answers on success (DELETE 204, creates and updates 202) and Sahara's error body for the
 * errors it can answer.
 */
for (const dialect of testDialects()) {
  describe(`/openapi.json (${dialect})`, () => {
    let t: TestApp;
    let paths: Paths;
    let components: Record<string, Record<string, any>>;

    before(async () => {
      t = await createTestApp({ dialect, localConcurrency: 0 });
      const doc = ok(await t.app.inject({ method: 'GET', url: '/openapi.json' }), 200);
      paths = doc.paths;
      components = doc.components;
    });
    after(async () => {
      await t?.close();
    });

    const operations = () =>
      Object.entries(paths)
        .filter(([path]) => path.startsWith('/v1.1/') || path.startsWith('/v2/'))
        .flatMap(([path, methods]) =>
          Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
        );

    test("Sahara's error body is one schema with its three fields", () => {
      const schema = components.schemas!.SaharaError!;
      assert.deepEqual([...schema.required].sort(), ['error_code', 'error_message', 'error_name']);
      assert.equal(schema.properties.error_code.type, 'integer');
    });

    test("every operation documents 400, 401 and 503 with Sahara's body; 403 where the policy guards it; 404 where it names an object; 413 where it takes a body; 507 where it writes", () => {
      assert.ok(operations().length >= 90);
      // Both v2 path forms, with and without the project.
      assert.ok(paths['/v2/{project_id}/jobs/{id}']?.patch && paths['/v2/jobs/{id}']?.patch);
      for (const { path, method, operation } of operations()) {
        const where = `${method.toUpperCase()} ${path}`;
        const expected = ['400', '401', '503'];
        // Lists take a marker (404 for an unknown one); the event stream and the webhooks list do not.
        const listsWithMarker = path.endsWith('s') && method === 'get' && !/\/(job-types|events|webhooks)$/.test(path);
        if (/\{(id|job_type)\}/.test(path) || listsWithMarker) expected.push('404');
        if (['post', 'put', 'patch'].includes(method)) expected.push('413');
        if (path.includes('/clusters') && method !== 'get') expected.push('403');
        // v2's microversion header.
        if (path.startsWith('/v2/')) expected.push('406');
        if (method !== 'get' || /\/(cancel|refresh-status)$/.test(path)) expected.push('507');
        for (const status of expected) {
          const response = operation.responses[status];
          assert.ok(response, `${where} does not document ${status}`);
          assert.deepEqual(response.content?.['application/json']?.schema, ERROR_SCHEMA, `${where} ${status}`);
          assert.ok(response.description.length > 10, `${where} ${status}`);
        }
      }
    });

    test("success statuses are Sahara's: GET 200, POST, PUT and PATCH 202, DELETE 204 without a body", () => {
      const success: Record<string, string> = { get: '200', post: '202', put: '202', patch: '202', delete: '204' };
      for (const { path, method, operation } of operations()) {
        const documented = Object.keys(operation.responses).filter((status) => status.startsWith('2'));
        assert.deepEqual(documented, [success[method]], `${method.toUpperCase()} ${path}`);
        if (method === 'delete') assert.equal(operation.responses['204']!.content, undefined, path);
      }
      const data = paths['/v1.1/{project_id}/job-binary-internals/{id}/data']!.get!.responses['200']!;
      assert.ok(data.content?.['application/octet-stream'], 'raw bytes are documented as such');
    });

    test('the documented statuses are the ones answered', async () => {
      const project = newProject();
      const documented = (method: string, path: string, status: number) =>
        assert.ok(
          paths[`/v1.1/{project_id}${path}`]?.[method]?.responses[String(status)],
          `${method} ${path} ${status} is not documented`,
        );
      const answer = async (
        method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
        path: string,
        route: string,
        body?: unknown,
      ) => {
        const response = await call(t.app, project, method, path, body);
        documented(method.toLowerCase(), route, response.statusCode);
        return response;
      };

      const template = await createShellTemplate(t.app, project, 'documented');
      const source = await createDataSource(t.app, project, {
        name: 'documented',
        type: 'hdfs',
        url: 'hdfs://namenode/in',
      });
      const jbi = await uploadJbi(t.app, project, 'documented.jar');
      const executed = await answer('POST', `/jobs/${template.id}/execute`, '/jobs/{id}/execute', {
        cluster_id: LOCAL_CLUSTER_ID,
      });
      const execution = ok(executed, 202).job_execution;
      await answer('GET', `/job-executions/${execution.id}`, '/job-executions/{id}');
      await answer('PATCH', `/job-executions/${execution.id}`, '/job-executions/{id}', { is_public: false });
      assert.equal((await answer('DELETE', `/job-executions/${execution.id}`, '/job-executions/{id}')).statusCode, 204);
      await answer('GET', '/job-executions/unknown', '/job-executions/{id}');
      await answer('PUT', `/data-sources/${source.id}`, '/data-sources/{id}', { description: 'x' });
      await answer('PUT', `/data-sources/${source.id}`, '/data-sources/{id}', { bogus: 1 });
      assert.equal((await answer('DELETE', `/data-sources/${source.id}`, '/data-sources/{id}')).statusCode, 204);
      await answer('PATCH', `/job-binary-internals/${jbi.id}`, '/job-binary-internals/{id}', { name: 'renamed.jar' });
      assert.equal(
        (await answer('DELETE', `/job-binary-internals/${jbi.id}`, '/job-binary-internals/{id}')).statusCode,
        204,
      );
      await answer('GET', '/jobs?limit=0', '/jobs');
      await answer('GET', '/jobs?marker=unknown', '/jobs');
      await answer('POST', '/jobs', '/jobs', { name: 'x', type: 'Nope' });
      await answer('GET', '/jobs/config-hints/Nope', '/jobs/config-hints/{job_type}');
      await answer('POST', '/clusters', '/clusters', { name: 'c', plugin_name: 'nope', hadoop_version: '3.5' });

      // Registering a cluster needs the admin role: a member's token is refused.
      const member = await createTestApp({
        dialect,
        localConcurrency: 0,
        auth: tokenAuth(new Map([['member', { tenantId: project, roles: [] }]])),
      });
      try {
        const refused = await member.app.inject({
          method: 'POST',
          url: `/v1.1/${project}/clusters`,
          headers: { 'x-auth-token': 'member' },
          payload: { name: 'c', plugin_name: 'spark', hadoop_version: '3.5' },
        });
        assert.equal(refused.statusCode, 403, refused.body);
        documented('post', '/clusters', 403);
      } finally {
        await member.close();
      }
    });
  });
}
