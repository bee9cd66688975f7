import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { tokenAuth } from '../../src/api/auth.js';
import { LOCAL_CLUSTER_ID } from '../../src/store/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { createIdleCluster, insertPendingExecution, newProject } from '../support/resources.js';
import { assertSaharaError } from './support.js';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
type Variant = 'own' | 'ownProtected' | 'otherPrivate' | 'otherPublic' | 'otherPublicProtected';
type ActionKind = 'read' | 'update' | 'publicity' | 'delete' | 'cancel' | 'refresh' | 'execute' | 'data';

interface Action {
  kind: ActionKind;
  method: Method;
  path: (id: string) => string;
  body?: unknown;
}

interface Resource {
  /** The list route, also the prefix of the row routes. */
  collection: string;
  listKey: string;
  actions: Action[];
}

const A = newProject();
const B = newProject();
const TOKENS = { [A]: `token-${A}`, [B]: `token-${B}` };

/** What each change refusal is called (reference §5). */
const REFUSAL: Partial<Record<ActionKind, string>> = {
  update: 'UPDATE_FAILED',
  publicity: 'UPDATE_FAILED',
  delete: 'DELETION_FAILED',
  cancel: 'CANCELING_FAILED',
};

const row = (collection: string) => (id: string) => `${collection}/${id}`;
const RESOURCES: Resource[] = [
  {
    collection: '/jobs',
    listKey: 'jobs',
    actions: [
      { kind: 'read', method: 'GET', path: row('/jobs') },
      { kind: 'execute', method: 'POST', path: (id) => `/jobs/${id}/execute`, body: { cluster_id: LOCAL_CLUSTER_ID } },
      { kind: 'update', method: 'PATCH', path: row('/jobs'), body: { description: 'changed' } },
      { kind: 'publicity', method: 'PATCH', path: row('/jobs'), body: { is_public: true } },
      { kind: 'delete', method: 'DELETE', path: row('/jobs') },
    ],
  },
  {
    collection: '/job-binaries',
    listKey: 'binaries',
    actions: [
      { kind: 'read', method: 'GET', path: row('/job-binaries') },
      { kind: 'data', method: 'GET', path: (id) => `/job-binaries/${id}/data` },
      { kind: 'update', method: 'PUT', path: row('/job-binaries'), body: { description: 'changed' } },
      { kind: 'publicity', method: 'PUT', path: row('/job-binaries'), body: { is_public: true } },
      { kind: 'delete', method: 'DELETE', path: row('/job-binaries') },
    ],
  },
  {
    collection: '/job-binary-internals',
    listKey: 'binaries',
    actions: [
      { kind: 'read', method: 'GET', path: row('/job-binary-internals') },
      { kind: 'data', method: 'GET', path: (id) => `/job-binary-internals/${id}/data` },
      { kind: 'update', method: 'PATCH', path: row('/job-binary-internals'), body: { name: `renamed-${randomUUID().slice(0, 6)}` } },
      { kind: 'publicity', method: 'PATCH', path: row('/job-binary-internals'), body: { is_public: true } },
      { kind: 'delete', method: 'DELETE', path: row('/job-binary-internals') },
    ],
  },
  {
    collection: '/data-sources',
    listKey: 'data_sources',
    actions: [
      { kind: 'read', method: 'GET', path: row('/data-sources') },
      { kind: 'update', method: 'PUT', path: row('/data-sources'), body: { description: 'changed' } },
      { kind: 'publicity', method: 'PUT', path: row('/data-sources'), body: { is_public: true } },
      { kind: 'delete', method: 'DELETE', path: row('/data-sources') },
    ],
  },
  {
    collection: '/job-executions',
    listKey: 'job_executions',
    actions: [
      { kind: 'read', method: 'GET', path: row('/job-executions') },
      { kind: 'refresh', method: 'GET', path: (id) => `/job-executions/${id}/refresh-status` },
      { kind: 'update', method: 'PATCH', path: row('/job-executions'), body: { info: { status: 'cancel' } } },
      { kind: 'publicity', method: 'PATCH', path: row('/job-executions'), body: { is_public: true } },
      { kind: 'cancel', method: 'GET', path: (id) => `/job-executions/${id}/cancel` },
      { kind: 'delete', method: 'DELETE', path: row('/job-executions') },
    ],
  },
  {
    collection: '/clusters',
    listKey: 'clusters',
    actions: [
      { kind: 'read', method: 'GET', path: row('/clusters') },
      { kind: 'delete', method: 'DELETE', path: row('/clusters') },
    ],
  },
];

/**
 * Under `tokens` auth, project A acts on every resource kind's rows in five variants (its own,
 * its own protected, B's private, B's public, B's public protected) with every action. A foreign
 * private row answers exactly as an id that does not exist; a foreign public row can be read,
 * refreshed, executed and downloaded but never changed; a protected row refuses changes to its
 * owner too, except publicity.
 */
describe('tenant isolation under tokens auth', () => {
  let t: TestApp;
  const rows = new Map<string, Record<Variant, string>>();

  /** `token` null sends none; left out, the project's own token is sent. */
  const send = (project: string, method: Method, path: string, body?: unknown, token: string | null = TOKENS[project]!) =>
    t.app.inject({
      method,
      url: `/v1.1/${project}${path}`,
      headers: token === null ? {} : { 'x-auth-token': token },
      ...(body === undefined ? {} : { payload: body as object }),
    });
  const ok = async (project: string, method: Method, path: string, body?: unknown) => {
    const response = await send(project, method, path, body);
    assert.ok(response.statusCode < 300, `${method} ${path}: ${response.statusCode} ${response.body}`);
    return response.statusCode === 204 ? {} : (response.json() as Record<string, any>);
  };

  before(async () => {
    const tokens = new Map([
      [TOKENS[A]!, { tenantId: A, roles: [] }],
      [TOKENS[B]!, { tenantId: B, roles: ['admin'] }],
    ]);
    // No local slot: executions stay PENDING so that cancel and delete meet a live execution.
    t = await createTestApp({ dialect: 'sqlite', auth: tokenAuth(tokens), localConcurrency: 0 });

    let counter = 0;
    /** The internal binary behind each job binary, so a public binary's bytes can be public too. */
    const internalOf = new Map<string, string>();
    const make = async (project: string, collection: string): Promise<string> => {
      counter += 1;
      const name = `${collection.slice(1)}-${counter}`;
      switch (collection) {
        case '/job-binary-internals': {
          const response = await t.app.inject({
            method: 'PUT',
            url: `/v1.1/${project}/job-binary-internals/${name}`,
            headers: { 'x-auth-token': TOKENS[project]!, 'content-type': 'application/octet-stream' },
            payload: 'exit 0',
          });
          assert.equal(response.statusCode, 202, response.body);
          return response.json().job_binary_internal.id;
        }
        case '/job-binaries': {
          const jbi = await make(project, '/job-binary-internals');
          const id = (await ok(project, 'POST', '/job-binaries', { name, url: `internal-db://${jbi}` })).job_binary.id;
          internalOf.set(id, jbi);
          return id;
        }
        case '/jobs': {
          const main = await make(project, '/job-binaries');
          return (await ok(project, 'POST', '/jobs', { name, type: 'Shell', mains: [main] })).job.id;
        }
        case '/data-sources':
          return (await ok(project, 'POST', '/data-sources', { name, type: 'hdfs', url: `hdfs://namenode/${name}` })).data_source.id;
        case '/job-executions': {
          const job = await make(project, '/jobs');
          return (await insertPendingExecution(t.store, project, { job_id: job, cluster_id: LOCAL_CLUSTER_ID })).id;
        }
        case '/clusters':
          return (await createIdleCluster(t.store, project)).id;
        default:
          throw new Error(`no maker for ${collection}`);
      }
    };
    const flag = async (project: string, collection: string, id: string, flags: { is_public?: boolean; is_protected?: boolean }) => {
      if (collection === '/clusters') {
        await t.store.clusters.update(id, flags);
        return;
      }
      const method = collection === '/job-binaries' || collection === '/data-sources' ? 'PUT' : 'PATCH';
      await ok(project, method, `${collection}/${id}`, flags);
      const internal = internalOf.get(id);
      if (internal && flags.is_public) await ok(project, 'PATCH', `/job-binary-internals/${internal}`, { is_public: true });
    };
    for (const { collection } of RESOURCES) {
      const ids = {} as Record<Variant, string>;
      ids.own = await make(A, collection);
      ids.ownProtected = await make(A, collection);
      await flag(A, collection, ids.ownProtected, { is_protected: true });
      ids.otherPrivate = await make(B, collection);
      ids.otherPublic = await make(B, collection);
      await flag(B, collection, ids.otherPublic, { is_public: true });
      ids.otherPublicProtected = await make(B, collection);
      await flag(B, collection, ids.otherPublicProtected, { is_public: true, is_protected: true });
      rows.set(collection, ids);
    }
  });

  after(async () => {
    await t?.close();
  });

  /** Status and error name, and the message with ids and Error IDs blanked: what a caller learns. */
  const observable = (response: LightMyRequestResponse, id: string) => {
    const body = response.statusCode === 204 ? null : (response.json() as Record<string, unknown>);
    const message = typeof body?.error_message === 'string' ? body.error_message.replaceAll(id, '<id>').replace(/Error ID: .*/, '') : null;
    return { status: response.statusCode, name: body?.error_name ?? null, message };
  };

  for (const resource of RESOURCES) {
    describe(resource.collection, () => {
      test("another project's private row answers exactly like an id that does not exist", async () => {
        const id = rows.get(resource.collection)!.otherPrivate;
        for (const action of resource.actions) {
          const unknown = randomUUID();
          const foreign = observable(await send(A, action.method, action.path(id), action.body), id);
          const missing = observable(await send(A, action.method, action.path(unknown), action.body), unknown);
          assert.deepEqual(foreign, missing, `${action.kind} ${resource.collection}`);
          assert.ok(foreign.status >= 400, `${action.kind} ${resource.collection} succeeded on a foreign private row`);
        }
        const listed = await ok(A, 'GET', resource.collection);
        assert.ok(!listed[resource.listKey].some((r: { id: string }) => r.id === id), 'listed to another project');
        const byTenant = await ok(A, 'GET', `${resource.collection}?tenant_id=${B}`);
        assert.ok(byTenant[resource.listKey].every((r: { is_public: boolean }) => r.is_public), 'a tenant filter reveals private rows');
        const marker = observable(await send(A, 'GET', `${resource.collection}?marker=${id}`), id);
        const unknown = randomUUID();
        assert.deepEqual(marker, observable(await send(A, 'GET', `${resource.collection}?marker=${unknown}`), unknown), 'marker');
        // The owner still has it, untouched.
        await ok(B, 'GET', `${resource.collection}/${id}`);
      });

      for (const variant of ['otherPublic', 'otherPublicProtected'] as const) {
        test(`another project's ${variant === 'otherPublic' ? 'public' : 'public protected'} row can be seen but never changed`, async () => {
          const id = rows.get(resource.collection)![variant];
          const before = (await ok(B, 'GET', `${resource.collection}/${id}`)) as Record<string, any>;
          for (const action of resource.actions) {
            const response = await send(A, action.method, action.path(id), action.body);
            const refusal = REFUSAL[action.kind];
            if (refusal) {
              assertSaharaError(response.statusCode, response.json(), `${action.kind} ${resource.collection}`);
              assert.equal(response.statusCode, 400, `${action.kind}: ${response.body}`);
              assert.equal(response.json().error_name, refusal, `${action.kind}: ${response.body}`);
              assert.match(response.json().error_message, /wasn't created in this tenant/);
            } else {
              assert.ok(response.statusCode < 300, `${action.kind} ${resource.collection}: ${response.statusCode} ${response.body}`);
            }
          }
          const listed = await ok(A, 'GET', resource.collection);
          assert.ok(listed[resource.listKey].some((r: { id: string }) => r.id === id), 'public row not listed');
          const afterwards = (await ok(B, 'GET', `${resource.collection}/${id}`)) as Record<string, any>;
          const [key] = Object.keys(before);
          const { updated_at: _u1, info: _i1, ...was } = before[key!];
          const { updated_at: _u2, info: _i2, ...is } = afterwards[key!];
          assert.deepEqual(is, was, 'another project changed the row');
          if (resource.collection === '/job-executions') assert.equal(afterwards[key!].info.status, 'PENDING');
        });
      }

      test('a protected row refuses its own project every change but publicity', async () => {
        const id = rows.get(resource.collection)!.ownProtected;
        for (const action of resource.actions) {
          const response = await send(A, action.method, action.path(id), action.body);
          const refusal = action.kind === 'publicity' ? undefined : REFUSAL[action.kind];
          if (refusal) {
            assertSaharaError(response.statusCode, response.json(), action.kind);
            assert.equal(response.json().error_name, refusal, `${action.kind}: ${response.body}`);
            assert.match(response.json().error_message, /protected/);
          } else {
            assert.ok(response.statusCode < 300, `${action.kind} ${resource.collection}: ${response.statusCode} ${response.body}`);
          }
        }
        await ok(A, 'GET', `${resource.collection}/${id}`);
      });

      test('its own row: every action works, delete last', async () => {
        const id = rows.get(resource.collection)!.own;
        for (const action of resource.actions) {
          if (resource.collection === '/clusters' && action.kind === 'delete') continue;
          const response = await send(A, action.method, action.path(id), action.body);
          if (resource.collection === '/jobs' && action.kind === 'delete') {
            // It was just executed: Sahara keeps a template its executions use.
            assert.match(observable(response, id).message ?? '', /being used by job executions/);
            continue;
          }
          assert.ok(response.statusCode < 300, `${action.kind} ${resource.collection}: ${response.statusCode} ${response.body}`);
        }
      });
    });
  }

  test("a public binary over a private internal binary does not hand out the private bytes", async () => {
    const jbi = await t.app.inject({
      method: 'PUT',
      url: `/v1.1/${B}/job-binary-internals/secret-${randomUUID().slice(0, 8)}`,
      headers: { 'x-auth-token': TOKENS[B]!, 'content-type': 'application/octet-stream' },
      payload: 'the secret bytes',
    });
    const binary = await ok(B, 'POST', '/job-binaries', { name: `wrapper-${randomUUID().slice(0, 8)}`, url: `internal-db://${jbi.json().job_binary_internal.id}`, is_public: true });
    const response = await send(A, 'GET', `/job-binaries/${binary.job_binary.id}/data`);
    assert.ok(response.statusCode >= 400, response.body);
    assert.ok(!response.body.includes('the secret bytes'));
    assertSaharaError(response.statusCode, response.json(), 'data');
  });

  test('references to another project’s private rows are refused like unknown ids', async () => {
    const jobs = rows.get('/jobs')!;
    const unknown = randomUUID();
    const compare = async (method: Method, path: string, body: (id: string) => unknown, id: string) => {
      const foreign = observable(await send(A, method, path, body(id)), id);
      const missing = observable(await send(A, method, path, body(unknown)), unknown);
      assert.deepEqual(foreign, missing, `${path} ${JSON.stringify(body('<id>'))}`);
      assert.ok(foreign.status >= 400);
    };
    await compare('POST', '/jobs', (id) => ({ name: `ref-${randomUUID()}`, type: 'Shell', mains: [id] }), rows.get('/job-binaries')!.otherPrivate);
    await compare('POST', '/job-binaries', (id) => ({ name: `ref-${randomUUID()}`, url: `internal-db://${id}` }), rows.get('/job-binary-internals')!.otherPrivate);
    await compare('POST', `/jobs/${jobs.own}/execute`, (id) => ({ cluster_id: id }), rows.get('/clusters')!.otherPrivate);
    await compare('POST', `/jobs/${jobs.own}/execute`, (id) => ({ cluster_id: LOCAL_CLUSTER_ID, input_id: id }), rows.get('/data-sources')!.otherPrivate);
  });

  test('a missing or unknown token, or a token of another project, is refused with 401 on every endpoint', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
    let checked = 0;
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const method of Object.keys(operations)) {
        const concrete = path.replace('/v1.1/{project_id}', '').replace(/\{[^}]+\}/g, () => rows.get('/jobs')!.own);
        for (const [project, token] of [[A, null], [A, 'not-a-token'], [B, TOKENS[A]!], [A, TOKENS[B]!]] as const) {
          const response = await send(project, method.toUpperCase() as Method, concrete, undefined, token);
          assertSaharaError(response.statusCode, response.json(), `${method} ${path} with ${token ?? 'no token'}`);
          assert.equal(response.statusCode, 401, `${method} ${path} with ${token ?? 'no token'}: ${response.body}`);
          checked += 1;
        }
      }
    }
    assert.ok(checked >= 120);
  });
});
