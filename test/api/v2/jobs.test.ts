import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { isTerminal } from '../../../src/store/statuses.js';
import { LOCAL_CLUSTER_ID } from '../../../src/store/index.js';
import { createTestApp, type TestApp } from '../../support/app.js';
import { testDialects } from '../../support/databases.js';
import { eventually } from '../../support/eventually.js';
import {
  assertError,
  call,
  callV2,
  createIdleCluster,
  createShellTemplate,
  createTemplate,
  newProject,
  ok,
  uploadJbi,
} from '../../support/resources.js';
import { insertExecution } from '../../support/rows.js';

/** Sahara v2's job object: v1.1's job execution renamed, without the oozie alias, `extra` on single objects. */
const LIST_KEYS = [
  'cluster_id',
  'created_at',
  'data_source_urls',
  'end_time',
  'engine_job_id',
  'id',
  'info',
  'input_id',
  'is_protected',
  'is_public',
  'job_configs',
  'job_template_id',
  'output_id',
  'project_id',
  'return_code',
  'start_time',
  'updated_at',
];
const SINGLE_KEYS = [...LIST_KEYS, 'extra'].sort();

for (const dialect of testDialects()) {
  describe(`v2 jobs (${dialect})`, () => {
    let t: TestApp;
    const project = newProject();
    let template: Record<string, any>;

    before(async () => {
      t = await createTestApp({ dialect, localConcurrency: 0 });
      template = await createShellTemplate(t.app, project, 'v2-shell');
    });
    after(async () => {
      await t?.close();
    });

    const pending = async (fields: Record<string, unknown> = {}) => {
      const cluster = await createIdleCluster(t.store, project);
      return insertExecution(t.store, {
        tenant_id: project,
        status: 'PENDING',
        job_id: template.id,
        cluster_id: cluster.id,
        ...fields,
      });
    };

    test('POST /v2/jobs creates a PENDING job with v2 names and 202 (vector 35)', async () => {
      const body = { cluster_id: LOCAL_CLUSTER_ID, job_template_id: template.id, job_configs: { args: ['a'] } };
      const job = ok(await callV2(t.app, project, 'POST', '/jobs', body), 202).job;
      assert.deepEqual(Object.keys(job).sort(), SINGLE_KEYS);
      assert.equal(job.job_template_id, template.id);
      assert.equal(job.project_id, project);
      assert.equal(job.engine_job_id, null);
      assert.deepEqual(job.extra, {});
      assert.equal(job.info.status, 'PENDING');
      assert.deepEqual(job.job_configs, { args: ['a'], job_execution_info: {} });
    });

    test('POST /v2/jobs refuses a missing or unknown template, and any query parameter (vectors 33, 34, 36)', async () => {
      assertError(
        await callV2(t.app, project, 'POST', '/jobs', { cluster_id: LOCAL_CLUSTER_ID }),
        400,
        'VALIDATION_ERROR',
      );
      const unknown = { cluster_id: LOCAL_CLUSTER_ID, job_template_id: randomUUID() };
      assertError(await callV2(t.app, project, 'POST', '/jobs', unknown), 400, 'INVALID_REFERENCE');
      const valid = { cluster_id: LOCAL_CLUSTER_ID, job_template_id: template.id };
      assertError(await callV2(t.app, project, 'POST', '/jobs?x=1', valid), 400, 'INVALID_PARAMS_ON_REQUEST');
      assertError(
        await callV2(t.app, project, 'POST', '/jobs', { ...valid, job_id: template.id }),
        400,
        'VALIDATION_ERROR',
      );
    });

    test('the list takes only status and the paging parameters (vectors 56, 57)', async () => {
      const row = await pending();
      const listed = ok(await callV2(t.app, project, 'GET', '/jobs?status=pending'), 200).jobs as Record<string, any>[];
      const item = listed.find((job) => job.id === row.id);
      assert.ok(item);
      assert.deepEqual(Object.keys(item).sort(), LIST_KEYS);
      assert.equal(
        ok(await callV2(t.app, project, 'GET', '/jobs?status=RUNNING'), 200).jobs.some((job: any) => job.id === row.id),
        false,
      );
      assertError(
        await callV2(t.app, project, 'GET', `/jobs?cluster_id=${row.cluster_id}`),
        400,
        'INVALID_PARAMS_ON_REQUEST',
      );
      const page = ok(await callV2(t.app, project, 'GET', '/jobs?limit=1&sort_by=-id'), 200);
      assert.equal(page.jobs.length, 1);
      assert.ok('markers' in page);
    });

    test('show checks existence before the parameters: refresh_status is refused (vectors 58, 59)', async () => {
      const row = await pending();
      const shown = ok(await callV2(t.app, project, 'GET', `/jobs/${row.id}`), 200).job;
      assert.deepEqual(Object.keys(shown).sort(), SINGLE_KEYS);
      assertError(
        await callV2(t.app, project, 'GET', `/jobs/${row.id}?refresh_status=true`),
        400,
        'INVALID_PARAMS_ON_REQUEST',
      );
      assertError(await callV2(t.app, project, 'GET', `/jobs/${randomUUID()}?refresh_status=true`), 404, 'NOT_FOUND');
    });

    test('PATCH changes publicity whatever the cluster is, and validates like v1.1 (vectors 67-70, 73)', async () => {
      const row = await pending();
      await t.store.clusters.update(row.cluster_id, { status: 'Error' });
      assert.equal(
        ok(await callV2(t.app, project, 'PATCH', `/jobs/${row.id}`, { is_public: true }), 202).job.is_public,
        true,
      );
      for (const body of [
        { foo: 1 },
        { is_public: 'yes' },
        { info: { status: 'resume' } },
        { info: { status: 'cancel', x: 'y' } },
      ]) {
        assertError(await callV2(t.app, project, 'PATCH', `/jobs/${row.id}`, body), 400, 'VALIDATION_ERROR');
      }
      // info without an action changes nothing, and is no error in v2.
      assert.equal(
        ok(await callV2(t.app, project, 'PATCH', `/jobs/${row.id}`, { info: {} }), 202).job.info.status,
        'PENDING',
      );
      assertError(await callV2(t.app, project, 'PATCH', `/jobs/${randomUUID()}`, { foo: 1 }), 404, 'NOT_FOUND');
    });

    test('protection: publicity may change, a cancel may not (vectors 79, 80, 81)', async () => {
      const row = await pending({ is_protected: true });
      ok(await callV2(t.app, project, 'PATCH', `/jobs/${row.id}`, { is_public: true }), 202);
      const message = assertError(
        await callV2(t.app, project, 'PATCH', `/jobs/${row.id}`, { info: { status: 'cancel' } }),
        400,
        'UPDATE_FAILED',
      );
      assert.match(message, /protected/);
      assertError(await callV2(t.app, project, 'DELETE', `/jobs/${row.id}`), 400, 'DELETION_FAILED');
      ok(await callV2(t.app, project, 'PATCH', `/jobs/${row.id}`, { is_protected: false, is_public: false }), 202);
    });

    test("another project's public job can be read but not changed (vector 82)", async () => {
      const row = await pending({ is_public: true });
      const other = newProject();
      ok(await callV2(t.app, other, 'GET', `/jobs/${row.id}`), 200);
      assertError(await callV2(t.app, other, 'PATCH', `/jobs/${row.id}`, { is_public: false }), 400, 'UPDATE_FAILED');
      assertError(
        await callV2(t.app, other, 'PATCH', `/jobs/${row.id}`, { info: { status: 'cancel' } }),
        400,
        'UPDATE_FAILED',
      );
      assertError(await callV2(t.app, other, 'DELETE', `/jobs/${row.id}`), 400, 'DELETION_FAILED');
      const hidden = await pending();
      assertError(await callV2(t.app, other, 'GET', `/jobs/${hidden.id}`), 404, 'NOT_FOUND');
    });

    test('DELETE answers 204 and the job goes; an unknown id is 404', async () => {
      const row = await pending();
      const response = await callV2(t.app, project, 'DELETE', `/jobs/${row.id}`);
      assert.equal(response.statusCode, 204);
      assert.equal(response.body, '');
      await eventually(
        async () => ((await callV2(t.app, project, 'GET', `/jobs/${row.id}`)).statusCode === 404 ? true : undefined),
        'the job to go',
      );
      assertError(await callV2(t.app, project, 'DELETE', `/jobs/${randomUUID()}`), 404, 'NOT_FOUND');
    });

    test('a job created through one version is the same row through the other', async () => {
      const v1 = ok(
        await call(t.app, project, 'POST', `/jobs/${template.id}/execute`, { cluster_id: LOCAL_CLUSTER_ID }),
        202,
      ).job_execution;
      const asV2 = ok(await callV2(t.app, project, 'GET', `/jobs/${v1.id}`), 200).job;
      assert.equal(asV2.job_template_id, v1.job_id);
      assert.equal(asV2.project_id, v1.tenant_id);
      assert.equal(asV2.created_at, v1.created_at);
      const v2 = ok(
        await callV2(t.app, project, 'POST', '/jobs', { cluster_id: LOCAL_CLUSTER_ID, job_template_id: template.id }),
        202,
      ).job;
      const asV1 = ok(await call(t.app, project, 'GET', `/job-executions/${v2.id}`), 200).job_execution;
      assert.equal(asV1.job_id, v2.job_template_id);
      assert.equal(asV1.oozie_job_id, null);
      assert.ok(
        ok(await call(t.app, project, 'GET', '/job-executions'), 200).job_executions.some(
          (row: any) => row.id === v2.id,
        ),
      );
      assert.ok(ok(await callV2(t.app, project, 'GET', '/jobs'), 200).jobs.some((row: any) => row.id === v1.id));
    });
  });

  describe(`v2 cancel by PATCH on a running job (${dialect})`, () => {
    let t: TestApp;
    const project = newProject();

    before(async () => {
      t = await createTestApp({ dialect });
    });
    after(async () => {
      await t?.close();
    });

    test('PATCH {"info":{"status":"cancel"}} kills a running job (vector 78)', async () => {
      const jbi = await uploadJbi(t.app, project, 'sleeps.sh', 'sleep 600\n');
      const binary = ok(
        await call(t.app, project, 'POST', '/job-binaries', { name: 'sleeps.sh', url: `internal-db://${jbi.id}` }),
        202,
      ).job_binary;
      const template = ok(
        await callV2(t.app, project, 'POST', '/job-templates', { name: 'sleeps', type: 'Shell', mains: [binary.id] }),
        202,
      ).job_template;
      const job = ok(
        await callV2(t.app, project, 'POST', '/jobs', { cluster_id: LOCAL_CLUSTER_ID, job_template_id: template.id }),
        202,
      ).job;
      const status = async () =>
        ok(await callV2(t.app, project, 'GET', `/jobs/${job.id}`), 200).job.info.status as string;
      await eventually(async () => ((await status()) === 'RUNNING' ? true : undefined), 'the job to run');
      const answered = ok(
        await callV2(t.app, project, 'PATCH', `/jobs/${job.id}`, { info: { status: 'cancel' } }),
        202,
      ).job;
      assert.equal(answered.id, job.id);
      const final = await eventually(async () => {
        const now = await status();
        return isTerminal(now) ? now : undefined;
      }, 'the job to end');
      assert.equal(final, 'KILLED');
      // Cancelling an ended job changes nothing.
      assert.equal(
        ok(await callV2(t.app, project, 'PATCH', `/jobs/${job.id}`, { info: { status: 'cancel' } }), 202).job.info
          .status,
        'KILLED',
      );
    });

    test('suspend is refused: no engine can suspend', async () => {
      const template = await createTemplate(t.app, project, {
        name: 'never',
        type: 'Shell',
        mains: [(await createShellTemplate(t.app, project, 'x')).mains[0].id],
      });
      const cluster = await createIdleCluster(t.store, project);
      const row = await insertExecution(t.store, {
        tenant_id: project,
        status: 'PENDING',
        job_id: template.id,
        cluster_id: cluster.id,
      });
      assertError(
        await callV2(t.app, project, 'PATCH', `/jobs/${row.id}`, { info: { status: 'suspend' } }),
        400,
        'INVALID_REFERENCE',
      );
    });
  });
}
