import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { LOCAL_CLUSTER_ID } from '../../src/store/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { createDataSource, newProject, ok, uploadJbi } from '../support/resources.js';
import { assertSaharaError, executeLocal, shellTemplate } from './support.js';

/** Cases per run over all endpoints together; the seed is fixed so a run is reproducible. */
const TOTAL_CASES = 10_500;
const SEED = Number(process.env.OASIS_FUZZ_SEED ?? 20240611);

interface Operation {
  method: string;
  /** OpenAPI path, e.g. `/v1.1/{project_id}/jobs/{id}`. */
  path: string;
  query: string[];
  hasJsonBody: boolean;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';

/**
 * Every endpoint the served OpenAPI document lists gets property-based bodies, query strings,
 * path ids and headers, through app.inject() on SQLite. Whatever is sent: never a 5xx, and every
 * error is exactly Sahara's `{error_code, error_name, error_message}` with error_code = status.
 */
describe('bad-input fuzzing over /openapi.json', () => {
  let t: TestApp;
  let operations: Operation[];
  const project = newProject();
  const ids: string[] = [];
  const validBodies = new Map<string, Record<string, unknown>>();

  before(async () => {
    // Executions stay PENDING (no local slot): the fuzzer exercises the API, not job processes.
    t = await createTestApp({ dialect: 'sqlite', localConcurrency: 0 });
    const doc = ok((await t.app.inject({ method: 'GET', url: '/openapi.json' })) as LightMyRequestResponse, 200);
    operations = Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, ops]) =>
      Object.entries(ops)
        // An event stream stays open, and inject() waits for the end of a response: its inputs are
        // checked over a real connection in test/api/events.test.ts.
        .filter(([, op]) => !op.responses?.['200']?.content?.['text/event-stream'])
        .map(([method, op]) => ({
          method: method.toUpperCase(),
          path,
          query: ((op.parameters ?? []) as { in: string; name: string }[])
            .filter((p) => p.in === 'query')
            .map((p) => p.name),
          hasJsonBody: Boolean(op.requestBody?.content?.['application/json']),
        })),
    );
    assert.ok(operations.length >= 80, `only ${operations.length} operations in /openapi.json`);

    const jbi = await uploadJbi(t.app, project, 'seed-data.sh', 'exit 0');
    const template = await shellTemplate(t.app, project, 'seed', 'exit 0');
    const binaryId = template.mains[0].id as string;
    const source = await createDataSource(t.app, project, {
      name: 'seed-ds',
      type: 'hdfs',
      url: 'hdfs://namenode/input',
    });
    const execution = await executeLocal(t.app, project, template.id);
    ids.push(jbi.id, template.id, binaryId, source.id, execution, LOCAL_CLUSTER_ID);

    const body = (method: string, path: string, value: Record<string, unknown>) =>
      validBodies.set(`${method} ${path}`, value);
    const p = '/v1.1/{project_id}';
    body('POST', `${p}/jobs`, { name: 'fuzz', type: 'Shell', mains: [binaryId], description: 'd', interface: [] });
    body('PATCH', `${p}/jobs/{id}`, { name: 'fuzz2', description: 'd', is_public: false, is_protected: false });
    body('POST', `${p}/jobs/{id}/execute`, {
      cluster_id: LOCAL_CLUSTER_ID,
      job_configs: { args: ['a'], params: { A: 'b' }, configs: { 'k.k': 'v' } },
      input_id: source.id,
    });
    body('PATCH', `${p}/job-executions/{id}`, { is_public: true, info: { status: 'cancel' } });
    body('POST', `${p}/job-binaries`, { name: 'fuzz.sh', url: `internal-db://${jbi.id}`, description: '' });
    body('PUT', `${p}/job-binaries/{id}`, { name: 'fuzz.sh', url: `internal-db://${jbi.id}`, description: '' });
    body('PATCH', `${p}/job-binary-internals/{id}`, { name: 'fuzz.jar', is_public: true });
    body('POST', `${p}/data-sources`, { name: 'fuzz-ds', type: 'hdfs', url: 'hdfs://host/path', description: '' });
    body('PUT', `${p}/data-sources/{id}`, {
      name: 'fuzz-ds2',
      type: 'hdfs',
      url: 'hdfs://namenode/other',
      description: '',
    });
    body('POST', `${p}/webhooks`, { url: 'https://hooks.example.com/fuzz', secret: 'fuzz-secret-of-16-chars' });
    body('POST', `${p}/clusters`, {
      name: 'fuzz-cluster',
      plugin_name: 'spark',
      hadoop_version: '3.5',
      cluster_configs: {},
    });
    // Sahara's v2, at /v2/{project_id} and at /v2 (noauth then takes the project from X-Project-Id).
    for (const v2 of ['/v2/{project_id}', '/v2']) {
      body('POST', `${v2}/jobs`, {
        cluster_id: LOCAL_CLUSTER_ID,
        job_template_id: template.id,
        job_configs: { args: ['a'] },
        input_id: source.id,
      });
      body('PATCH', `${v2}/jobs/{id}`, { is_public: true, info: { status: 'cancel' } });
      body('POST', `${v2}/job-templates`, {
        name: 'fuzz-v2',
        type: 'Shell',
        mains: [binaryId],
        description: 'd',
        interface: [],
      });
      body('PATCH', `${v2}/job-templates/{id}`, {
        name: 'fuzz-v2b',
        description: 'd',
        is_public: false,
        is_protected: false,
      });
      body('POST', `${v2}/job-binaries`, {
        name: 'fuzz.jar',
        url: 'swift://container/fuzz.jar',
        extra: { user: 'u', password: 'p' },
      });
      body('PATCH', `${v2}/job-binaries/{id}`, { name: 'fuzz2.sh', description: '' });
      body('POST', `${v2}/data-sources`, {
        name: 'fuzz-ds-v2',
        type: 'hdfs',
        url: 'hdfs://host/path',
        description: '',
      });
      body('PATCH', `${v2}/data-sources/{id}`, { name: 'fuzz-ds-v2b', url: 'hdfs://namenode/other', description: '' });
      body('POST', `${v2}/clusters`, {
        name: 'fuzz-cluster-v2',
        plugin_name: 'spark',
        plugin_version: '3.5',
        cluster_configs: {},
      });
      body('PATCH', `${v2}/clusters/{id}`, { name: 'fuzz-cluster-v2b', description: 'd', is_public: false });
    }
  });

  after(async () => {
    await t?.close();
  });

  test(`${TOTAL_CASES} generated requests: no 5xx, every error Sahara-shaped`, async (context) => {
    const perOperation = Math.ceil(TOTAL_CASES / operations.length);
    let cases = 0;
    const statuses = new Map<number, number>();
    for (const operation of operations) {
      await fc.assert(
        fc.asyncProperty(
          requestFor(operation, project, ids, validBodies.get(`${operation.method} ${operation.path}`)),
          async (request) => {
            cases += 1;
            const response = await t.app.inject(request);
            statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
            const what = `${request.method} ${request.url} ${JSON.stringify(request.headers)} ${String(request.payload).slice(0, 300)}`;
            assert.ok(response.statusCode < 500, `${what} → ${response.statusCode} ${response.body}`);
            if (response.statusCode >= 400 && request.method !== 'HEAD') {
              assertSaharaError(response.statusCode, safeJson(response.body), what);
            }
          },
        ),
        { numRuns: perOperation, seed: SEED, endOnFailure: true, includeErrorInReport: true },
      );
    }
    context.diagnostic(`statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}`);
    assert.ok(cases >= 10_000, `only ${cases} cases ran`);
    // The generators reach the handlers, not only the validators.
    assert.ok(
      [200, 202, 204].some((status) => (statuses.get(status) ?? 0) > 100),
      'almost no request succeeded',
    );
  });
});

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Strings that have broken parsers before: traversal, encodings, NULs, huge and odd numbers. */
const NASTY = [
  '',
  ' ',
  '.',
  '..',
  '../../etc/passwd',
  '%',
  '%zz',
  '%00',
  '%2e%2e',
  '%2F',
  'a%2Fb',
  '\u0000',
  '😀',
  '\ud800',
  'null',
  'true',
  '[]',
  '{}',
  '-1',
  '0',
  '1e309',
  '9007199254740993',
  'NaN',
  ' 1',
  '+5',
  '0x10',
  "'; drop table jobs; --",
  '$(reboot)',
  '`id`',
  'x'.repeat(5000),
  '__proto__',
  'constructor',
  'id',
  'name',
  'status',
];

const text = fc.oneof(
  fc.constantFrom(...NASTY),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.uuid(),
);

/** A path segment: mostly percent-encoded text, sometimes raw escapes the router must survive. */
const segment = (ids: string[]) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...ids) },
    { weight: 4, arbitrary: text.map((value) => encodeURIComponent(toWellFormed(value))) },
    { weight: 1, arbitrary: fc.constantFrom('%', '%zz', '%00', '..', '.', '%2e%2e', '%2F', '%C0%AF', '%ff') },
  );

function toWellFormed(value: string): string {
  // encodeURIComponent throws on lone surrogates; the raw-escape arbitrary sends broken UTF-8.
  return value.replace(/[\ud800-\udfff]/g, '\ufffd');
}

const QUERY_KEYS = [
  'limit',
  'marker',
  'sort_by',
  'id',
  'name',
  'status',
  'type',
  'plugin',
  'version',
  'hints',
  'tenant_id',
  'is_public',
  'is_protected',
  'job.name',
  'cluster.name',
  'job_id',
  'cluster_id',
  'url',
  'description',
  'engine_job_id',
];

function queryString(operation: Operation, ids: string[]) {
  const key = fc.oneof(fc.constantFrom(...new Set([...operation.query, ...QUERY_KEYS])), text);
  const value = fc.oneof(
    text,
    fc.constantFrom(...ids),
    fc.constantFrom('-id', 'id', '-name', 'created_at', '1', '0', '-1', '20'),
  );
  const pair = fc.oneof(
    {
      weight: 5,
      arbitrary: fc
        .tuple(key, value)
        .map(([k, v]) => `${encodeURIComponent(toWellFormed(k))}=${encodeURIComponent(toWellFormed(v))}`),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'limit',
        'marker=',
        '=',
        '&&',
        '%',
        'a=%zz',
        'limit=1&limit=2',
        'sort_by=-',
        'a[b]=c',
        'x=%00',
      ),
    },
  );
  return fc.array(pair, { maxLength: 4 }).map((pairs) => (pairs.length === 0 ? '' : `?${pairs.join('&')}`));
}

/** JSON bodies: valid ones with fields replaced, dropped or added, and arbitrary values. */
function jsonBody(valid: Record<string, unknown> | undefined) {
  const anything = fc.jsonValue({ maxDepth: 3 });
  const mutated = valid
    ? fc
        .tuple(
          fc.subarray(Object.keys(valid)),
          fc.dictionary(fc.constantFrom(...Object.keys(valid), '__proto__', 'extra', 'tenant_id', 'id'), anything, {
            maxKeys: 3,
          }),
        )
        .map(([keep, replace]) => ({ ...Object.fromEntries(keep.map((k) => [k, valid[k]])), ...replace }))
    : fc.object();
  return fc.oneof(
    { weight: 4, arbitrary: mutated.map((value) => JSON.stringify(value)) },
    { weight: 2, arbitrary: anything.map((value) => JSON.stringify(value)) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '',
        '{',
        '{"a":',
        'null',
        '[]',
        '"x"',
        '1',
        '{"__proto__":{"x":1}}',
        '\u0000',
        '{}{}',
        '\ufeff{}',
      ),
    },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
  );
}

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'text/plain',
  'application/octet-stream',
  'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded',
  ';',
  'application/json;;',
  '',
];

function requestFor(operation: Operation, project: string, ids: string[], valid: Record<string, unknown> | undefined) {
  const path = fc
    .tuple(
      ...(operation.path.match(/\{[^}]+\}/g) ?? []).map((name) =>
        name === '{project_id}' ? fc.constant(project) : segment(ids),
      ),
    )
    .map((values) => {
      let index = 0;
      return operation.path.replace(/\{[^}]+\}/g, () => values[index++]!);
    });
  const method: fc.Arbitrary<Method> = fc.oneof(
    { weight: 9, arbitrary: fc.constant(operation.method as Method) },
    { weight: 1, arbitrary: fc.constantFrom<Method>('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS') },
  );
  const takesBody = operation.hasJsonBody || operation.method === 'PUT' || operation.method === 'POST';
  const payload = takesBody ? jsonBody(valid) : fc.option(jsonBody(undefined), { nil: undefined, freq: 4 });
  const headers = fc.record(
    {
      'content-type': fc.oneof(
        { weight: 6, arbitrary: fc.constant('application/json') },
        { weight: 2, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
      ),
      accept: fc.constantFrom('application/json', '*/*', 'text/html', 'application/xml', ''),
      'x-auth-token': fc
        .string({ maxLength: 20 })
        .map(toWellFormed)
        .filter((v) => /^[\x21-\x7e]*$/.test(v)),
      'x-openstack-request-id': fc.constantFrom('req-1', ''),
      // The /v2 routes without a project take it from here under noauth.
      'x-project-id': fc.oneof(
        { weight: 6, arbitrary: fc.constant(project) },
        { weight: 1, arbitrary: fc.constantFrom('', 'x'.repeat(200), '%00', 'other') },
      ),
      'openstack-api-version': fc.constantFrom(
        'data-processing 2.0',
        'data-processing latest',
        'data-processing 2.1',
        'data-processing x',
        'compute 2.1',
        '',
      ),
    },
    { requiredKeys: [] },
  );
  return fc
    .record({ method, path, query: queryString(operation, ids), payload, headers })
    .map(({ method, path, query, payload, headers }) => ({
      method,
      url: `${path}${query}`,
      headers: headers as Record<string, string>,
      ...(payload === undefined || method === 'GET' || method === 'HEAD' ? {} : { payload }),
    }));
}
