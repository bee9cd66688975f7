import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { LIMITS } from '../../src/api/limits.js';
import { LOCAL_CLUSTER_ID } from '../../src/store/index.js';
import { testDialects } from '../support/databases.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { assertError, call, newProject, ok } from '../support/resources.js';
import { shellTemplate } from './support.js';

/** `count` entries `k0…` whose values are `value`. */
const entries = (count: number, value: string | number = 'v', prefix = 'K_') =>
  Object.fromEntries(Array.from({ length: count }, (_, index) => [`${prefix}${index}`, value]));

/** Arrays nested `depth` deep: `[[[…]]]`. */
const nestedArrays = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

const MESSAGE_BOUND = 1_000;

/**
 * What a client sends is bounded before it costs anything: nesting, size and member count of JSON
 * bodies, the number and size of job_configs entries, a template's interface, mains and libs;
 * and no error message sends a huge input back. Every refusal is Sahara's error body.
 */
for (const dialect of testDialects()) {
  describe(`input limits (${dialect})`, () => {
    let t: TestApp;
    const project = newProject();
    let templateId: string;
    let mainId: string;

    const post = (path: string, payload: string, headers: Record<string, string> = {}) =>
      t.app.inject({
        method: 'POST',
        url: `/v1.1/${project}${path}`,
        payload,
        headers: { 'content-type': 'application/json', ...headers },
      });
    const execute = (body: Record<string, unknown>) =>
      call(t.app, project, 'POST', `/jobs/${templateId}/execute`, { cluster_id: LOCAL_CLUSTER_ID, ...body });

    before(async () => {
      // Executions stay PENDING: the limits are the API's, not the job's.
      t = await createTestApp({ dialect, localConcurrency: 0 });
      const template = await shellTemplate(t.app, project, 'limits', 'exit 0\n');
      templateId = template.id;
      mainId = template.mains[0].id;
    });
    after(async () => {
      await t?.close();
    });

    test("a body nested 10,000 levels deep is a 400 with Sahara's body, on every kind of route", async () => {
      const deepObject = `{"name":"x","credentials":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`;
      for (const [path, payload] of [
        ['/jobs', nestedArrays(10_000)],
        ['/data-sources', deepObject],
        [`/jobs/${templateId}/execute`, `{"job_configs":${nestedArrays(10_000)}}`],
        ['/clusters', nestedArrays(10_000)],
      ] as const) {
        const message = assertError(await post(path, payload), 400, 'MALFORMED_REQUEST_BODY');
        assert.match(message, /nested deeper than 32 levels/);
      }
      // The node is unharmed.
      ok(await call(t.app, project, 'GET', `/jobs/${templateId}`), 200);
    });

    test('bodies nested up to 32 levels are read; 33 are refused', async () => {
      // The body is level 1; credentials nested `levels` objects deep add as many.
      const credentials = (levels: number): unknown => (levels === 0 ? 'v' : { a: credentials(levels - 1) });
      const source = (name: string, levels: number) =>
        JSON.stringify({ name, type: 'hdfs', url: 'hdfs://namenode/in', credentials: credentials(levels) });
      ok(await post('/data-sources', source('deep-32', 31)), 202);
      assertError(await post('/data-sources', source('deep-33', 32)), 400, 'MALFORMED_REQUEST_BODY');
    });

    test('a body of more than 10,000 array elements and object entries is refused unparsed', async () => {
      const many = JSON.stringify({
        name: 'many',
        type: 'hdfs',
        url: 'hdfs://n/p',
        credentials: entries(LIMITS.jsonMembers),
      });
      const message = assertError(await post('/data-sources', many), 400, 'MALFORMED_REQUEST_BODY');
      assert.match(message, /more than 10000 array elements and object entries/);
    });

    test("a JSON body over 512 KiB is a 413 with Sahara's body", async () => {
      const huge = JSON.stringify({
        name: 'huge',
        type: 'hdfs',
        url: 'hdfs://n/p',
        description: 'd'.repeat(LIMITS.jsonBodyBytes),
      });
      const message = assertError(await post('/data-sources', huge), 413, 'REQUEST_ENTITY_TOO_LARGE');
      assert.match(message, /larger than 524288 bytes/);
    });

    test('execute takes job_configs at every limit at once', async () => {
      // 1,000 configs, 1,000 params and 1,000 args, together just under 256 KiB.
      const value = 'x'.repeat(70);
      const response = await execute({
        job_configs: {
          configs: entries(LIMITS.configEntries, value, 'cfg.'),
          params: entries(LIMITS.configEntries, value),
          args: Array(LIMITS.args).fill(value),
        },
      });
      const execution = ok(response, 202).job_execution;
      assert.equal(Object.keys(execution.job_configs.configs).length, LIMITS.configEntries);
      assert.equal(Object.keys(execution.job_configs.params).length, LIMITS.configEntries);
      assert.equal(execution.job_configs.args.length, LIMITS.args);
    });

    test('execute refuses more than 1,000 configs, params or args, or job_configs over 256 KiB', async () => {
      for (const job_configs of [
        { configs: entries(LIMITS.configEntries + 1) },
        { params: entries(LIMITS.configEntries + 1) },
        { job_execution_info: entries(LIMITS.configEntries + 1) },
        { args: Array(LIMITS.args + 1).fill('a') },
      ]) {
        const message = assertError(await execute({ job_configs }), 400, 'VALIDATION_ERROR');
        assert.match(message, /\(at most 1000( items)?\)/);
        assert.ok(message.length < MESSAGE_BOUND, message);
      }
      const big = 'b'.repeat(100 * 1024);
      const message = assertError(
        await execute({ job_configs: { args: [big, big], params: { P: big } } }),
        400,
        'VALIDATION_ERROR',
      );
      assert.match(message, /at most 262144 \(256 KiB\)/);
    });

    test("an execution's interface map takes at most 100 values", async () => {
      const message = assertError(
        await execute({ interface: entries(LIMITS.interfaceArgs + 1) }),
        400,
        'VALIDATION_ERROR',
      );
      assert.match(message, /^interface: .*has too many properties \(at most 100\)/);
    });

    test('a template takes at most 100 interface arguments, 100 mains and 100 libs', async () => {
      const argument = (index: number) => ({
        name: `arg ${index}`,
        mapping_type: 'configs',
        location: `config.${index}`,
        required: false,
      });
      const interfaceOf = (count: number) => Array.from({ length: count }, (_, index) => argument(index));
      const template = ok(
        await call(t.app, project, 'POST', '/jobs', {
          name: 'iface-100',
          type: 'Shell',
          mains: [mainId],
          interface: interfaceOf(100),
        }),
        202,
      );
      assert.equal(template.job.interface.length, 100);

      const tooMany = await call(t.app, project, 'POST', '/jobs', {
        name: 'iface-101',
        type: 'Shell',
        mains: [mainId],
        interface: interfaceOf(101),
      });
      assert.match(assertError(tooMany, 400, 'VALIDATION_ERROR'), /is too long \(at most 100 items\)/);
      const ids = Array.from({ length: 101 }, (_, index) => `binary-${index}`);
      for (const field of ['mains', 'libs']) {
        const response = await call(t.app, project, 'POST', '/jobs', {
          name: `many-${field}`,
          type: 'Java',
          [field]: ids,
        });
        assert.match(
          assertError(response, 400, 'VALIDATION_ERROR'),
          new RegExp(`^${field}: .*is too long \\(at most 100 items\\)`),
        );
      }
    });

    test('error messages quote at most 200 characters of any input, with its whole length', async () => {
      const long = 'q'.repeat(100_000);
      // [what, request, status, error_name, whether the message quotes the input]
      const cases: [string, Promise<LightMyRequestResponse>, number, string | number, boolean][] = [
        ['a name', call(t.app, project, 'POST', '/jobs', { name: long, type: 'Shell' }), 400, 'VALIDATION_ERROR', true],
        [
          'an unknown field',
          call(t.app, project, 'POST', '/jobs', { name: 'n', type: 'Shell', [long]: 1 }),
          400,
          'VALIDATION_ERROR',
          true,
        ],
        ['a job type', call(t.app, project, 'POST', '/jobs', { name: 'n', type: long }), 400, 'VALIDATION_ERROR', true],
        ['a config value', execute({ job_configs: { configs: { key: [long] } } }), 400, 'VALIDATION_ERROR', true],
        ['a config key', execute({ job_configs: { configs: { [long]: [1] } } }), 400, 'VALIDATION_ERROR', true],
        [
          'a binary url',
          call(t.app, project, 'POST', '/job-binaries', { name: 'b', url: `hdfs://${long}` }),
          400,
          'VALIDATION_ERROR',
          true,
        ],
        [
          'a swift url',
          call(t.app, project, 'POST', '/job-binaries', { name: 'b', url: `swift://${long}` }),
          400,
          'BAD_JOB_BINARY',
          false,
        ],
        [
          'a main id',
          call(t.app, project, 'POST', '/jobs', { name: 'n', type: 'Shell', mains: [long] }),
          400,
          'NOT_FOUND',
          true,
        ],
        [
          'a content type',
          post('/jobs', '{}', { 'content-type': `text/${'c'.repeat(5_000)}` }),
          400,
          'INVALID_DATA',
          true,
        ],
        [
          'a marker',
          call(t.app, project, 'GET', `/job-executions?marker=${'m'.repeat(5_000)}`),
          404,
          'NOT_FOUND',
          true,
        ],
        ['a limit', call(t.app, project, 'GET', `/jobs?limit=${'9'.repeat(5_000)}`), 400, 400, true],
        ['a sort key', call(t.app, project, 'GET', `/jobs?sort_by=${'s'.repeat(5_000)}`), 400, 400, true],
        [
          'a filter name',
          call(t.app, project, 'GET', `/jobs?${'f'.repeat(5_000)}=1`),
          400,
          'INVALID_PARAMS_ON_REQUEST',
          true,
        ],
        [
          'a boolean filter',
          call(t.app, project, 'GET', `/jobs?is_public=${'b'.repeat(5_000)}`),
          400,
          'INVALID_PARAMS_ON_REQUEST',
          true,
        ],
        [
          'a path',
          t.app.inject({ method: 'GET', url: `/v1.1/${project}/jobs/%ff${'p'.repeat(5_000)}` }),
          400,
          'BAD_REQUEST',
          true,
        ],
      ];
      for (const [what, request, status, name, quotes] of cases) {
        const message = assertError(await request, status, name);
        assert.ok(
          message.length < MESSAGE_BOUND,
          `${what}: a message of ${message.length} characters: ${message.slice(0, 300)}`,
        );
        if (quotes) assert.match(message, /…'? \(\d+ (characters|items|entries)\)/, `${what}: ${message}`);
      }
    });

    test('a list of executions at the limits comes back whole and in order, page by page', async () => {
      const lister = newProject();
      const template = await shellTemplate(t.app, lister, 'lister', 'exit 0\n');
      const value = 'v'.repeat(200);
      const ids: string[] = [];
      for (let index = 0; index < 6; index += 1) {
        const response = await call(t.app, lister, 'POST', `/jobs/${template.id}/execute`, {
          cluster_id: LOCAL_CLUSTER_ID,
          job_configs: { configs: entries(LIMITS.configEntries, value, `c${index}.`), args: [String(index)] },
        });
        ids.push(ok(response, 202).job_execution.id);
      }
      ids.sort();
      // About 1.3 MiB in all: read in several batches and sent as a stream.
      const whole = ok(await call(t.app, lister, 'GET', '/job-executions'), 200);
      assert.deepEqual(
        whole.job_executions.map((execution: { id: string }) => execution.id),
        ids,
      );
      for (const execution of whole.job_executions)
        assert.equal(Object.keys(execution.job_configs.configs).length, LIMITS.configEntries);

      const descending = ok(await call(t.app, lister, 'GET', '/job-executions?sort_by=-id'), 200);
      assert.deepEqual(
        descending.job_executions.map((execution: { id: string }) => execution.id),
        [...ids].reverse(),
      );
      const page = ok(await call(t.app, lister, 'GET', `/job-executions?limit=2&marker=${ids[2]}`), 200);
      assert.deepEqual(
        page.job_executions.map((execution: { id: string }) => execution.id),
        ids.slice(2, 4),
      );
      assert.deepEqual(page.markers, { prev: ids[0], next: ids[4] });
    });

    test('large and small rows listed together come back whole, in order', async () => {
      const lister = newProject();
      const descriptions = [
        'small',
        'l'.repeat(100 * 1024),
        'also small',
        'm'.repeat(20 * 1024),
        'n'.repeat(300 * 1024),
      ];
      for (const [index, description] of descriptions.entries()) {
        ok(
          await call(t.app, lister, 'POST', '/data-sources', {
            name: `source-${index}`,
            type: 'hdfs',
            url: 'hdfs://namenode/in',
            description,
          }),
          202,
        );
      }
      const listed = ok(await call(t.app, lister, 'GET', '/data-sources?sort_by=name'), 200).data_sources;
      assert.deepEqual(
        listed.map((source: { description: string }) => source.description),
        descriptions,
      );
    });
  });
}
