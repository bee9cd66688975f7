import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { LOCAL_CLUSTER_ID } from '../../../src/store/index.js';
import { createTestApp, type TestApp } from '../../support/app.js';
import { testDialects } from '../../support/databases.js';
import { assertError, call, callV2, createBinary, createDataSource, newProject, ok } from '../../support/resources.js';

for (const dialect of testDialects()) {
  describe(`v2 job templates, job binaries, data sources, job types and clusters (${dialect})`, () => {
    let t: TestApp;
    const project = newProject();

    before(async () => {
      t = await createTestApp({ dialect, localConcurrency: 0 });
    });
    after(async () => {
      await t?.close();
    });

    test('job templates: project_id everywhere but in interface entries, the v1.1 rows (vector 91)', async () => {
      const main = await createBinary(t.app, project, 'tmpl-main.sh');
      const body = {
        name: 'v2-template',
        type: 'Shell',
        mains: [main.id],
        interface: [{ name: 'Who', mapping_type: 'args', location: '0', required: false, default: 'world' }],
      };
      const created = ok(await callV2(t.app, project, 'POST', '/job-templates', body), 202).job_template;
      assert.equal(created.project_id, project);
      assert.equal('tenant_id' in created, false);
      assert.equal(created.mains[0].project_id, project);
      assert.equal('tenant_id' in created.mains[0], false);
      assert.equal(created.interface[0].tenant_id, project);
      assert.equal(created.interface[0].value_type, 'string');

      const v1 = ok(await call(t.app, project, 'GET', `/jobs/${created.id}`), 200).job;
      assert.equal(v1.tenant_id, project);
      assert.equal(v1.name, 'v2-template');

      const listed = ok(
        await callV2(t.app, project, 'GET', '/job-templates?type=Shell&name=v2-temp'),
        200,
      ).job_templates;
      assert.deepEqual(
        listed.map((row: any) => row.id),
        [created.id],
      );
      assert.deepEqual(ok(await callV2(t.app, project, 'GET', '/job-templates?type=Pig'), 200).job_templates, []);
      assertError(
        await callV2(t.app, project, 'GET', '/job-templates?description=x'),
        400,
        'INVALID_PARAMS_ON_REQUEST',
      );

      const patched = ok(
        await callV2(t.app, project, 'PATCH', `/job-templates/${created.id}`, { description: 'changed' }),
        202,
      ).job_template;
      assert.equal(patched.description, 'changed');
      assertError(
        await callV2(t.app, project, 'PATCH', `/job-templates/${created.id}`, { name: 'job', id: '1' }),
        400,
        'VALIDATION_ERROR',
      );
      assertError(
        await callV2(t.app, project, 'POST', '/job-templates', { name: 'jar.jar', type: 'Jar' }),
        400,
        'VALIDATION_ERROR',
      );
      assertError(await callV2(t.app, project, 'POST', '/job-templates', body), 400, 'DB_DUPLICATE_ENTRY');

      const hints = ok(await callV2(t.app, project, 'GET', '/job-templates/config-hints/Pig'), 200);
      assert.ok(Array.isArray(hints.job_config.configs));
      assertError(await callV2(t.app, project, 'GET', '/job-templates/config-hints/Bogus'), 404, 'NOT_FOUND');

      // In use by a job: DELETION_FAILED, as in v1.1; once the job is gone it can go.
      ok(
        await callV2(t.app, project, 'POST', '/jobs', {
          cluster_id: LOCAL_CLUSTER_ID,
          job_template_id: created.id,
          interface: {},
        }),
        202,
      );
      assertError(await callV2(t.app, project, 'DELETE', `/job-templates/${created.id}`), 400, 'DELETION_FAILED');
      const unused = ok(
        await callV2(t.app, project, 'POST', '/job-templates', { ...body, name: 'unused' }),
        202,
      ).job_template;
      assert.equal((await callV2(t.app, project, 'DELETE', `/job-templates/${unused.id}`)).statusCode, 204);
      assertError(await call(t.app, project, 'GET', `/jobs/${unused.id}`), 404, 'NOT_FOUND');
    });

    test('job binaries: v1.1 internal binaries are visible and downloadable, v2 registers none (vectors 88, 123)', async () => {
      const internal = await createBinary(t.app, project, 'bin-internal.sh');
      const shown = ok(await callV2(t.app, project, 'GET', `/job-binaries/${internal.id}`), 200).job_binary;
      assert.deepEqual(Object.keys(shown).sort(), [
        'created_at',
        'description',
        'id',
        'is_protected',
        'is_public',
        'name',
        'project_id',
        'updated_at',
        'url',
      ]);
      const data = await callV2(t.app, project, 'GET', `/job-binaries/${internal.id}/data`);
      assert.equal(data.statusCode, 200);
      assert.equal(data.body, 'echo hi');

      const refused = assertError(
        await callV2(t.app, project, 'POST', '/job-binaries', { name: 'x.sh', url: internal.url }),
        400,
        'BAD_JOB_BINARY',
      );
      assert.match(refused, /v1\.1/);
      assertError(await callV2(t.app, project, 'GET', '/job-binary-internals'), 404, 'NOT_FOUND');

      const swift = ok(
        await callV2(t.app, project, 'POST', '/job-binaries', {
          name: 'w.jar',
          url: 'swift://container/w.jar',
          extra: { user: 'u', password: 'p' },
        }),
        202,
      ).job_binary;
      assert.equal(swift.project_id, project);
      assert.equal('extra' in swift, false);
      assertError(
        await callV2(t.app, project, 'POST', '/job-binaries', { name: 'f.jar', url: 'ftp://h/x' }),
        400,
        'INVALID_DATA',
      );

      const patched = ok(
        await callV2(t.app, project, 'PATCH', `/job-binaries/${swift.id}`, { description: 'd' }),
        202,
      ).job_binary;
      assert.equal(patched.description, 'd');
      assertError(
        await callV2(t.app, project, 'PATCH', `/job-binaries/${randomUUID()}`, { name: 'x' }),
        400,
        'NOT_FOUND',
      );
      assertError(
        await callV2(t.app, project, 'PATCH', `/job-binaries/${swift.id}`, { url: internal.url }),
        400,
        'BAD_JOB_BINARY',
      );

      const listed = ok(await callV2(t.app, project, 'GET', '/job-binaries?name=bin-internal'), 200).binaries;
      assert.deepEqual(
        listed.map((row: any) => row.id),
        [internal.id],
      );
      assertError(await callV2(t.app, project, 'GET', '/job-binaries?url=x'), 400, 'INVALID_PARAMS_ON_REQUEST');
      // v1.1 ignores an unknown marker on this list; v2 answers 404 as on every other list.
      assertError(await callV2(t.app, project, 'GET', `/job-binaries?marker=${randomUUID()}`), 404, 'NOT_FOUND');

      assert.equal((await callV2(t.app, project, 'DELETE', `/job-binaries/${swift.id}`)).statusCode, 204);
      assertError(await call(t.app, project, 'GET', `/job-binaries/${swift.id}`), 404, 'NOT_FOUND');
    });

    test('data sources: created with v1.1 checks, updated with the schema only (vectors 109-113, 115)', async () => {
      const source = ok(
        await callV2(t.app, project, 'POST', '/data-sources', { name: 'v2-in', type: 'hdfs', url: 'hdfs://nn/in' }),
        202,
      ).data_source;
      assert.equal(source.project_id, project);
      assertError(
        await callV2(t.app, project, 'POST', '/data-sources', { name: 'bad', type: 'hdfs', url: 'http://x/y' }),
        400,
        'INVALID_DATA',
      );
      assertError(
        await callV2(t.app, project, 'POST', '/data-sources', { name: 'bad', type: 'ftp', url: 'ftp://x/y' }),
        400,
        'VALIDATION_ERROR',
      );
      assertError(
        await callV2(t.app, project, 'POST', '/data-sources', { name: 'v2-in', type: 'hdfs', url: 'hdfs://nn/x' }),
        400,
        'NAME_ALREADY_EXISTS',
      );
      assertError(
        await callV2(t.app, project, 'POST', '/data-sources', { name: 's', type: 'swift', url: 'swift://c.sahara/o' }),
        400,
        'INVALID_CREDENTIALS',
      );

      const patched = ok(
        await callV2(t.app, project, 'PATCH', `/data-sources/${source.id}`, { url: 'http://x' }),
        202,
      ).data_source;
      assert.equal(patched.url, 'http://x');
      assertError(
        await call(t.app, project, 'PUT', `/data-sources/${source.id}`, { url: 'http://y' }),
        400,
        'INVALID_DATA',
      );
      // Placeholders stay bounded: every execution resolves them.
      assertError(
        await callV2(t.app, project, 'PATCH', `/data-sources/${source.id}`, { url: 'hdfs://nn/%RANDSTR(5000)%' }),
        400,
        'INVALID_DATA',
      );
      assertError(
        await callV2(t.app, project, 'PATCH', `/data-sources/${source.id}`, { type: 'ftp' }),
        400,
        'VALIDATION_ERROR',
      );

      const v1 = ok(await call(t.app, project, 'GET', `/data-sources/${source.id}`), 200).data_source;
      assert.equal(v1.url, 'http://x');
      const v1made = await createDataSource(t.app, project, {
        name: 'v1-out',
        type: 'swift',
        url: 'swift://c/o',
        credentials: { user: 'u', password: 'p' },
      });
      assert.deepEqual(
        ok(await callV2(t.app, project, 'GET', '/data-sources?type=swift'), 200).data_sources.map((row: any) => row.id),
        [v1made.id],
      );
      assertError(await callV2(t.app, project, 'GET', '/data-sources?name=v1-out'), 400, 'INVALID_PARAMS_ON_REQUEST');
      assert.equal((await callV2(t.app, project, 'DELETE', `/data-sources/${v1made.id}`)).statusCode, 204);
    });

    test('writes with an unknown query parameter are refused and change nothing; unknown ids are still 404', async () => {
      const body = { name: 'q-ds', type: 'hdfs', url: 'hdfs://nn/q' };
      assertError(await callV2(t.app, project, 'POST', '/data-sources?x=1', body), 400, 'INVALID_PARAMS_ON_REQUEST');
      const source = ok(await callV2(t.app, project, 'POST', '/data-sources', body), 202).data_source;
      assertError(
        await callV2(t.app, project, 'PATCH', `/data-sources/${source.id}?x=1`, { description: 'no' }),
        400,
        'INVALID_PARAMS_ON_REQUEST',
      );
      assertError(
        await callV2(t.app, project, 'DELETE', `/data-sources/${source.id}?x=1`),
        400,
        'INVALID_PARAMS_ON_REQUEST',
      );
      assert.equal(
        ok(await callV2(t.app, project, 'GET', `/data-sources/${source.id}`), 200).data_source.description,
        '',
      );
      assertError(await callV2(t.app, project, 'DELETE', `/data-sources/${randomUUID()}?x=1`), 404, 'NOT_FOUND');
      const main = await createBinary(t.app, project, 'q-main.sh');
      const template = { name: 'q-template', type: 'Shell', mains: [main.id] };
      assertError(
        await callV2(t.app, project, 'POST', '/job-templates?x=1', template),
        400,
        'INVALID_PARAMS_ON_REQUEST',
      );
      assert.deepEqual(
        ok(await callV2(t.app, project, 'GET', '/job-templates?name=q-template'), 200).job_templates,
        [],
      );
      const created = ok(await callV2(t.app, project, 'POST', '/job-templates', template), 202).job_template;
      assertError(
        await callV2(t.app, project, 'PATCH', `/job-templates/${created.id}?x=1`, { description: 'no' }),
        400,
        'INVALID_PARAMS_ON_REQUEST',
      );
      assertError(
        await callV2(t.app, project, 'PATCH', `/job-templates/${randomUUID()}?x=1`, { description: 'no' }),
        404,
        'NOT_FOUND',
      );
      assertError(
        await callV2(t.app, project, 'DELETE', `/job-templates/${created.id}?x=1`),
        400,
        'INVALID_PARAMS_ON_REQUEST',
      );
      assert.equal(
        ok(await callV2(t.app, project, 'GET', `/job-templates/${created.id}`), 200).job_template.description,
        '',
      );
    });

    test('job types: only type filters, plugin_name is accepted and ignored, hints refused (vectors 92, 93)', async () => {
      const all = ok(await callV2(t.app, project, 'GET', '/job-types'), 200).job_types as { name: string }[];
      assert.ok(all.some((type) => type.name === 'Shell'));
      assert.deepEqual(ok(await callV2(t.app, project, 'GET', '/job-types?plugin_name=nope'), 200).job_types, all);
      assert.deepEqual(
        ok(await callV2(t.app, project, 'GET', '/job-types?type=Java'), 200).job_types.map((type: any) => type.name),
        ['Java'],
      );
      assertError(await callV2(t.app, project, 'GET', '/job-types?hints=true'), 400, 'INVALID_PARAMS_ON_REQUEST');
    });

    test('clusters: plugin_version and project_id; the built-in cluster is listed and protected', async () => {
      const listed = ok(await callV2(t.app, project, 'GET', '/clusters?plugin_name=local'), 200).clusters;
      const local = listed.find((row: any) => row.id === LOCAL_CLUSTER_ID);
      assert.equal(local.plugin_version, '1.0');
      assert.equal('hadoop_version' in local, false);
      assert.equal(local.project_id, 'oasis');
      assert.equal(
        ok(await callV2(t.app, project, 'GET', `/clusters?plugin_version=${local.plugin_version}`), 200).clusters
          .length,
        1,
      );
      assertError(
        await callV2(t.app, project, 'GET', '/clusters?hadoop_version=1.0'),
        400,
        'INVALID_PARAMS_ON_REQUEST',
      );
      assertError(await callV2(t.app, project, 'GET', '/clusters?sort_by=bogus'), 400, 400);
      assert.equal(ok(await callV2(t.app, project, 'GET', `/clusters/${LOCAL_CLUSTER_ID}`), 200).cluster.name, 'local');
      assertError(
        await callV2(t.app, project, 'PATCH', `/clusters/${LOCAL_CLUSTER_ID}`, { description: 'x' }),
        400,
        'UPDATE_FAILED',
      );
      assertError(await callV2(t.app, project, 'DELETE', `/clusters/${LOCAL_CLUSTER_ID}`), 400, 'DELETION_FAILED');
      const unknownPlugin = { name: 'c1', plugin_name: 'nope', plugin_version: '1' };
      assertError(await callV2(t.app, project, 'POST', '/clusters', unknownPlugin), 400, 'INVALID_REFERENCE');
      assertError(
        await callV2(t.app, project, 'POST', '/clusters', { name: 'c1', plugin_name: 'spark', hadoop_version: '1' }),
        400,
        'VALIDATION_ERROR',
      );
    });
  });
}
