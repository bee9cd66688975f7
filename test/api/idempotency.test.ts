import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { createSparkEngine } from '../../src/engines/spark/index.js';
import { LOCAL_CLUSTER_ID } from '../../src/store/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { testDialects } from '../support/databases.js';
import { eventually } from '../support/eventually.js';
import { jobSandbox } from '../support/sandbox.js';
import { assertError, createShellTemplate, newProject, ok } from '../support/resources.js';

for (const dialect of testDialects()) {
  describe(`Idempotency-Key on creating requests (${dialect})`, () => {
    let t: TestApp;
    // No local job starts: executions stay PENDING, rows are all that is counted.
    let scratch: string;
    before(async () => {
      scratch = await mkdtemp(path.join(tmpdir(), 'oasis-idempotency-'));
      // Registers Spark clusters (checked, found down: nothing here listens on their ports).
      const spark = createSparkEngine({
        workDir: path.join(scratch, 'spark'),
        nodeId: 'test-node',
        killGraceMs: 2_000,
        sandbox: jobSandbox(),
      });
      t = await createTestApp({ dialect, localConcurrency: 0, engines: new Map([['spark', spark]]) });
    });
    after(async () => {
      await t.close();
      await rm(scratch, { recursive: true, force: true });
    });

    const send = (
      project: string,
      method: 'POST' | 'PUT',
      path: string,
      payload: unknown,
      key?: string,
      type = 'application/json',
    ) =>
      t.app.inject({
        method,
        url: `/v1.1/${project}${path}`,
        payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
        headers: { 'content-type': type, ...(key === undefined ? {} : { 'idempotency-key': key }) },
      });
    const execute = (project: string, templateId: string, body: Record<string, unknown>, key?: string) =>
      send(project, 'POST', `/jobs/${templateId}/execute`, { cluster_id: LOCAL_CLUSTER_ID, ...body }, key);
    const executionsOf = async (project: string) =>
      ok(await t.app.inject({ method: 'GET', url: `/v1.1/${project}/job-executions` }), 200).job_executions as {
        id: string;
      }[];
    const replayed = (response: LightMyRequestResponse) => response.headers['idempotent-replayed'] === 'true';

    test('execute: the same key and body answer the first response again, with one execution', async () => {
      const project = newProject();
      const template = await createShellTemplate(t.app, project, 'once');
      const body = { job_configs: { args: ['a', 'b'], params: { X: '1' } } };
      const first = await execute(project, template.id, body, 'key-1');
      const created = ok(first, 202).job_execution;
      // Key order and spacing do not make another request.
      const retry = await send(
        project,
        'POST',
        `/jobs/${template.id}/execute`,
        `{ "job_configs": {"params": {"X": "1"}, "args": ["a","b"]}, "cluster_id": "${LOCAL_CLUSTER_ID}" }`,
        'key-1',
      );
      assert.equal(retry.statusCode, 202);
      assert.equal(retry.body, first.body);
      assert.ok(replayed(retry) && !replayed(first));
      assert.deepEqual(
        (await executionsOf(project)).map((row) => row.id),
        [created.id],
      );
    });

    test('the same key with another body answers 409 and creates nothing', async () => {
      const project = newProject();
      const template = await createShellTemplate(t.app, project, 'other-body');
      ok(await execute(project, template.id, { job_configs: { args: ['1'] } }, 'k'), 202);
      assertError(
        await execute(project, template.id, { job_configs: { args: ['2'] } }, 'k'),
        409,
        'IDEMPOTENCY_KEY_REUSED',
      );
      // Another route with the key is another request too.
      assertError(
        await send(project, 'POST', '/data-sources', { name: 'd', type: 'hdfs', url: 'hdfs://n/x' }, 'k'),
        409,
        'IDEMPOTENCY_KEY_REUSED',
      );
      assert.equal((await executionsOf(project)).length, 1);
    });

    test("keys belong to a project: another project's same key creates its own row", async () => {
      const [a, b] = [newProject(), newProject()];
      const body = { name: 'src', type: 'hdfs', url: 'hdfs://namenode/in' };
      const inA = ok(await send(a, 'POST', '/data-sources', body, 'shared-key'), 202).data_source;
      const inB = ok(await send(b, 'POST', '/data-sources', body, 'shared-key'), 202).data_source;
      assert.notEqual(inA.id, inB.id);
      assert.equal(inB.tenant_id, b);
    });

    test('without the header nothing changes: two requests, two executions', async () => {
      const project = newProject();
      const template = await createShellTemplate(t.app, project, 'twice');
      const first = ok(await execute(project, template.id, {}), 202).job_execution;
      const second = ok(await execute(project, template.id, {}), 202).job_execution;
      assert.notEqual(first.id, second.id);
      assert.equal((await executionsOf(project)).length, 2);
    });

    test('a request that failed answers the same failure again, Error ID included', async () => {
      const project = newProject();
      const template = await createShellTemplate(t.app, project, 'fails');
      const missing = '6b0f0e0a-7d5e-4c55-9f3e-2a6f0e0b1c2d';
      const first = await execute(project, template.id, { cluster_id: missing }, 'failed-once');
      assertError(first, 400, 'INVALID_REFERENCE');
      const again = await execute(project, template.id, { cluster_id: missing }, 'failed-once');
      assert.equal(again.body, first.body);
      assert.ok(replayed(again));
    });

    test("keys out of bounds answer 400 with Sahara's body and create nothing", async () => {
      const project = newProject();
      const template = await createShellTemplate(t.app, project, 'bad-keys');
      for (const key of ['', 'a b', 'x'.repeat(256), 'é']) {
        assertError(await execute(project, template.id, {}, key), 400, 'BAD_REQUEST');
      }
      ok(await execute(project, template.id, {}, 'x'.repeat(255)), 202);
      assert.equal((await executionsOf(project)).length, 1);
    });

    test('templates, binaries and uploads replay too; an upload of other bytes is a 409', async () => {
      const project = newProject();
      const upload = (bytes: string) =>
        send(project, 'PUT', '/job-binary-internals/run.sh', bytes, 'upload', 'application/octet-stream');
      const jbi = ok(await upload('echo one'), 202).job_binary_internal;
      assert.equal(ok(await upload('echo one'), 202).job_binary_internal.id, jbi.id);
      assertError(await upload('echo two'), 409, 'IDEMPOTENCY_KEY_REUSED');

      const binaryBody = { name: 'run.sh', url: `internal-db://${jbi.id}` };
      const binary = ok(await send(project, 'POST', '/job-binaries', binaryBody, 'bin'), 202).job_binary;
      assert.equal(ok(await send(project, 'POST', '/job-binaries', binaryBody, 'bin'), 202).job_binary.id, binary.id);

      const jobBody = { name: 'tpl', type: 'Shell', mains: [binary.id] };
      const job = ok(await send(project, 'POST', '/jobs', jobBody, 'tpl'), 202).job;
      // Without the key the same request would be refused: the name is taken.
      const again = await send(project, 'POST', '/jobs', jobBody, 'tpl');
      assert.equal(ok(again, 202).job.id, job.id);
      assert.deepEqual(
        again.json().job.mains.map((main: { id: string }) => main.id),
        [binary.id],
      );

      const lists = await Promise.all(
        ['job-binary-internals', 'job-binaries', 'jobs'].map(async (path) =>
          ok(await t.app.inject({ method: 'GET', url: `/v1.1/${project}/${path}` }), 200),
        ),
      );
      assert.deepEqual(
        lists.map((list) => (Object.values(list)[0] as unknown[]).length),
        [1, 1, 1],
      );
    });

    test('cluster registrations replay too', async () => {
      const project = newProject();
      const body = {
        name: 'spark-down',
        plugin_name: 'spark',
        hadoop_version: '3.5.9',
        cluster_configs: {
          spark: { master: 'spark://127.0.0.1:9', rest_url: 'http://127.0.0.1:9', web_url: 'http://127.0.0.1:9' },
        },
      };
      const first = ok(await send(project, 'POST', '/clusters', body, 'cluster'), 202).cluster;
      const again = await send(project, 'POST', '/clusters', body, 'cluster');
      assert.equal(ok(again, 202).cluster.id, first.id);
      assert.ok(replayed(again));
      const listed = ok(await t.app.inject({ method: 'GET', url: `/v1.1/${project}/clusters` }), 200).clusters as {
        id: string;
        tenant_id: string;
      }[];
      assert.deepEqual(
        listed.filter((cluster) => cluster.tenant_id === project).map((cluster) => cluster.id),
        [first.id],
      );
    });

    test('concurrent requests with one key create one row and all answer it', async () => {
      const project = newProject();
      const template = await createShellTemplate(t.app, project, 'racing');
      const answers = await Promise.all(
        Array.from({ length: 6 }, () => execute(project, template.id, { job_configs: { args: ['r'] } }, 'race')),
      );
      const ids = new Set(answers.map((answer) => ok(answer, 202).job_execution.id));
      assert.equal(ids.size, 1);
      assert.equal((await executionsOf(project)).length, 1);

      const sources = await Promise.all(
        Array.from({ length: 6 }, () =>
          send(project, 'POST', '/data-sources', { name: 'raced', type: 'hdfs', url: 'hdfs://n/r' }, 'race-ds'),
        ),
      );
      assert.equal(new Set(sources.map((answer) => ok(answer, 202).data_source.id)).size, 1);

      // Templates have unique names: the losers fail on the name, then find the winner's key.
      const jobBody = { name: 'raced', type: 'Shell', mains: [template.mains[0].id] };
      const jobs = await Promise.all(
        Array.from({ length: 6 }, () => send(project, 'POST', '/jobs', jobBody, 'race-job')),
      );
      assert.equal(new Set(jobs.map((answer) => ok(answer, 202).job.id)).size, 1);
    });

    test('v2 creates honour the key too: a retried POST /v2/jobs runs the job once', async () => {
      const project = newProject();
      const template = await createShellTemplate(t.app, project, 'v2-once');
      const body = { job_template_id: template.id, cluster_id: LOCAL_CLUSTER_ID };
      const headers = { 'content-type': 'application/json', 'idempotency-key': 'v2-execute' };
      const first = await t.app.inject({ method: 'POST', url: `/v2/${project}/jobs`, headers, payload: body });
      const again = await t.app.inject({ method: 'POST', url: `/v2/${project}/jobs`, headers, payload: body });
      assert.equal(first.statusCode, 202, first.body);
      assert.equal(again.statusCode, 202, again.body);
      assert.equal(again.json().job.id, first.json().job.id);
      assert.equal(again.headers['idempotent-replayed'], 'true');
      const other = await t.app.inject({
        method: 'POST',
        url: `/v2/${project}/jobs`,
        headers,
        payload: { ...body, interface: {} },
      });
      assert.equal(other.statusCode, 409, other.body);
    });

    test('/openapi.json documents the header on every creating operation, and only there', async () => {
      const doc = ok(await t.app.inject({ method: 'GET', url: '/openapi.json' }), 200);
      const keyed: string[] = [];
      for (const [path, methods] of Object.entries(
        doc.paths as Record<string, Record<string, { parameters?: { in: string; name: string }[] }>>,
      )) {
        for (const [method, operation] of Object.entries(methods)) {
          if (operation.parameters?.some((p) => p.in === 'header' && p.name === 'idempotency-key'))
            keyed.push(`${method} ${path}`);
        }
      }
      assert.deepEqual(
        keyed.sort(),
        [
          'post /v1.1/{project_id}/clusters',
          'post /v1.1/{project_id}/data-sources',
          'post /v1.1/{project_id}/job-binaries',
          'post /v1.1/{project_id}/jobs',
          'post /v1.1/{project_id}/jobs/{id}/execute',
          ...['clusters', 'data-sources', 'job-binaries', 'job-templates', 'jobs'].flatMap((resource) => [
            `post /v2/${resource}`,
            `post /v2/{project_id}/${resource}`,
          ]),
          'put /v1.1/{project_id}/job-binary-internals/{name}',
        ].sort(),
      );
    });

    test('an expired key is forgotten: the request runs again, and pruning deletes expired keys', async () => {
      const project = newProject();
      const template = await createShellTemplate(t.app, project, 'expiring');
      const past = new Date(Date.now() - 60_000).toISOString();
      await t.store.idempotencyKeys.insert({
        tenant_id: project,
        idempotency_key: 'old',
        request_hash: 'of another request',
        status_code: 202,
        response: '{}',
        created_at: new Date(Date.now() - 120_000).toISOString(),
        expires_at: past,
      });
      // Neither a 409 (another hash) nor a replay: a fresh execution, and the key is live again.
      const fresh = ok(await execute(project, template.id, {}, 'old'), 202).job_execution;
      const replay = await execute(project, template.id, {}, 'old');
      assert.equal(ok(replay, 202).job_execution.id, fresh.id);
      assert.ok(replayed(replay));
      assert.equal((await executionsOf(project)).length, 1);

      const now = new Date().toISOString();
      assert.ok(await t.store.idempotencyKeys.get(project, 'old', now));
      const later = new Date(Date.now() + 25 * 3_600_000).toISOString();
      assert.ok((await t.store.idempotencyKeys.prune(later)) >= 1);
      assert.equal(await t.store.idempotencyKeys.get(project, 'old', now), undefined);
    });
  });
}

describe('Idempotency-Key time to live', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ dialect: 'sqlite', localConcurrency: 0, idempotencyTtlMs: 1 });
  });
  after(() => t.close());

  test('a key is kept for the configured time only', async () => {
    const project = newProject();
    const body = JSON.stringify({ name: 'ttl', type: 'hdfs', url: 'hdfs://n/ttl' });
    const post = () =>
      t.app.inject({
        method: 'POST',
        url: `/v1.1/${project}/data-sources`,
        payload: body,
        headers: { 'content-type': 'application/json', 'idempotency-key': 'k' },
      });
    const first = ok(await post(), 202).data_source;
    const record = await t.store.idempotencyKeys.get(project, 'k', new Date(0).toISOString());
    assert.ok(record);
    assert.equal(Date.parse(record.expires_at) - Date.parse(record.created_at), 1);
    await eventually(
      async () => ((await t.store.idempotencyKeys.get(project, 'k', new Date().toISOString())) ? undefined : true),
      'the key to expire',
    );
    // Once expired the request runs again: the name is taken by the first source now.
    const second = await post();
    assertError(second, 400, 'NAME_ALREADY_EXISTS');
    assert.equal(second.headers['idempotent-replayed'], undefined);
    assert.ok(first.id);
  });
});
