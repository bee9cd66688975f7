import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { InvalidTextError } from '../../src/errors.js';
import { LOCAL_CLUSTER_ID } from '../../src/store/index.js';
import { testDialects } from '../support/databases.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { assertError, call, createDataSource, newProject, ok } from '../support/resources.js';
import { shellTemplate } from './support.js';

const NUL = 'a\u0000b';
/** A lone high surrogate: no Unicode text, and stored by both databases as U+FFFD. */
const SURROGATE = 'a\ud800b';

/**
 * A NUL character made PostgreSQL fail the request with a 500 where SQLite stored it, and an
 * unpaired surrogate was silently replaced by both. Wherever a client can put text (path
 * parameters, query strings, any string or key of a JSON body) both databases now answer the same
 * 400 INVALID_DATA with Sahara's body, and nothing of such a request is stored.
 */
for (const dialect of testDialects()) {
  describe(`NUL characters and invalid Unicode (${dialect})`, () => {
    let t: TestApp;
    const project = newProject();
    let templateId: string;
    let executionId: string;
    let sourceId: string;

    before(async () => {
      t = await createTestApp({ dialect, localConcurrency: 0 });
      templateId = (await shellTemplate(t.app, project, 'text', 'exit 0\n')).id;
      const executed = await call(t.app, project, 'POST', `/jobs/${templateId}/execute`, {
        cluster_id: LOCAL_CLUSTER_ID,
      });
      executionId = ok(executed, 202).job_execution.id;
      sourceId = (
        await createDataSource(t.app, project, { name: 'text-source', type: 'hdfs', url: 'hdfs://namenode/in' })
      ).id;
    });
    after(async () => {
      await t?.close();
    });

    const invalid = (response: LightMyRequestResponse, what: string) => {
      const message = assertError(response, 400, 'INVALID_DATA');
      assert.match(message, /contains a NUL character|not valid Unicode text/, what);
    };

    test('a NUL in a path parameter is a 400 on every kind of route', async () => {
      const nul = '%00';
      const requests: [string, string, unknown?][] = [
        ['GET', `/job-executions/${executionId}${nul}`],
        ['GET', `/job-executions/a${nul}b/refresh-status`],
        ['GET', `/job-executions/a${nul}b/cancel`],
        ['PATCH', `/job-executions/a${nul}b`, { is_public: true }],
        ['DELETE', `/job-executions/a${nul}b`],
        ['GET', `/jobs/${templateId}${nul}`],
        ['POST', `/jobs/a${nul}b/execute`, { cluster_id: LOCAL_CLUSTER_ID }],
        ['GET', `/jobs/config-hints/Shell${nul}`],
        ['GET', `/data-sources/a${nul}b`],
        ['PUT', `/data-sources/a${nul}b`, { description: 'd' }],
        ['PUT', `/job-binaries/a${nul}b`, { description: 'd' }],
        ['GET', `/job-binaries/a${nul}b/data`],
        ['GET', `/job-binary-internals/a${nul}b`],
        ['DELETE', `/clusters/a${nul}b`],
      ];
      for (const [method, path, body] of requests) {
        invalid(await call(t.app, project, method as 'GET', path, body), `${method} ${path}`);
      }
      const upload = await t.app.inject({
        method: 'PUT',
        url: `/v1.1/${project}/job-binary-internals/a${nul}b.sh`,
        payload: 'exit 0',
        headers: { 'content-type': 'application/octet-stream' },
      });
      invalid(upload, 'a job-binary-internal name');
      invalid(await t.app.inject({ method: 'GET', url: `/v1.1/p${nul}q/jobs` }), 'a project id');
    });

    test('a NUL in a list filter, marker, sort key, limit or parameter name is a 400', async () => {
      for (const query of [
        'cluster_id=a%00b',
        'name=a%00',
        'marker=a%00b',
        'sort_by=id%00',
        'limit=1%00',
        'a%00b=1',
        'status=%00',
      ]) {
        for (const list of [
          '/job-executions',
          '/jobs',
          '/data-sources',
          '/job-binaries',
          '/job-binary-internals',
          '/clusters',
        ]) {
          invalid(await call(t.app, project, 'GET', `${list}?${query}`), `${list}?${query}`);
        }
      }
    });

    test('a NUL or an unpaired surrogate anywhere in a JSON body is a 400, keys included', async () => {
      for (const bad of [NUL, SURROGATE]) {
        const bodies: [string, string, Record<string, unknown>][] = [
          ['POST', '/data-sources', { name: 'ds', type: 'hdfs', url: 'hdfs://namenode/in', description: bad }],
          ['POST', '/data-sources', { name: 'ds', type: 'hdfs', url: `hdfs://namenode/${bad}` }],
          [
            'POST',
            '/data-sources',
            { name: 'ds', type: 'swift', url: 'swift://c.sahara/o', credentials: { user: bad, password: 'p' } },
          ],
          ['PUT', `/data-sources/${sourceId}`, { description: bad }],
          ['POST', '/jobs', { name: 'job', type: 'Shell', description: bad, mains: [] }],
          ['PATCH', `/jobs/${templateId}`, { description: bad }],
          ['POST', '/job-binaries', { name: 'bin', url: 'swift://c/o', extra: { user: bad, password: 'p' } }],
          [
            'POST',
            `/jobs/${templateId}/execute`,
            { cluster_id: LOCAL_CLUSTER_ID, job_configs: { configs: { key: bad } } },
          ],
          [
            'POST',
            `/jobs/${templateId}/execute`,
            { cluster_id: LOCAL_CLUSTER_ID, job_configs: { configs: { [bad]: 'v' } } },
          ],
          [
            'POST',
            `/jobs/${templateId}/execute`,
            { cluster_id: LOCAL_CLUSTER_ID, job_configs: { params: { P: bad } } },
          ],
          ['POST', `/jobs/${templateId}/execute`, { cluster_id: LOCAL_CLUSTER_ID, job_configs: { args: ['ok', bad] } }],
          [
            'POST',
            `/jobs/${templateId}/execute`,
            { cluster_id: LOCAL_CLUSTER_ID, job_configs: { job_execution_info: { [bad]: 1 } } },
          ],
        ];
        for (const [method, path, body] of bodies) {
          invalid(
            await call(t.app, project, method as 'POST', path, body),
            `${method} ${path} ${JSON.stringify(body)}`,
          );
        }
      }
    });

    test('the message says where the text is, and nothing of the request is stored', async () => {
      const before = ok(await call(t.app, project, 'GET', '/job-executions'), 200).job_executions.length;
      const response = await call(t.app, project, 'POST', `/jobs/${templateId}/execute`, {
        cluster_id: LOCAL_CLUSTER_ID,
        job_configs: { configs: { 'mapred.key': NUL } },
      });
      assert.match(
        assertError(response, 400, 'INVALID_DATA'),
        /^job_configs\[configs\]\[mapred\.key\]: 'a\u0000b' contains a NUL character/,
      );
      assert.equal(ok(await call(t.app, project, 'GET', '/job-executions'), 200).job_executions.length, before);
      const source = ok(await call(t.app, project, 'GET', `/data-sources/${sourceId}`), 200).data_source;
      assert.equal(source.description, '');
      assert.deepEqual(ok(await call(t.app, project, 'GET', '/data-sources?name=ds'), 200).data_sources, []);
    });

    test('valid text of every plane still goes through whole', async () => {
      const text = 'ünïcödé 😀 \u{10ffff} \t\n"quoted" \\ ';
      const created = await createDataSource(t.app, project, {
        name: 'unicode',
        type: 'hdfs',
        url: 'hdfs://namenode/in',
        description: text,
      });
      assert.equal(created.description, text);
      const executed = await call(t.app, project, 'POST', `/jobs/${templateId}/execute`, {
        cluster_id: LOCAL_CLUSTER_ID,
        job_configs: { configs: { [text]: text }, args: [text] },
      });
      const execution = ok(executed, 202).job_execution;
      assert.equal(execution.job_configs.configs[text], text);
      assert.deepEqual(execution.job_configs.args, [text]);
    });

    test("behind the API, PostgreSQL's refusal of a NUL is the store's InvalidTextError (SQLite stores it)", async () => {
      // The API never sends such text; this is the store's own guard behind it.
      const row = {
        id: randomUUID(),
        tenant_id: project,
        is_public: false,
        is_protected: false,
        name: 'guarded',
        description: NUL,
        type: 'hdfs' as const,
        url: 'hdfs://namenode/in',
        credentials: {},
      };
      if (dialect === 'postgres') {
        await assert.rejects(t.store.dataSources.insert(row), InvalidTextError);
      } else {
        assert.equal((await t.store.dataSources.insert(row)).description, NUL);
      }
    });
  });
}
