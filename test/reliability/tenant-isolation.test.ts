import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { tokenAuth } from '../../src/api/auth.js';
import { LOCAL_CLUSTER_ID } from '../../src/store/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { type ClusterEngines, clusterEngines, UNREACHABLE_SPARK } from '../support/engines.js';
import { newProject } from '../support/resources.js';
import { insertExecution } from '../support/rows.js';
import { assertSaharaError } from './support.js';
import { executionEvents, openEventStream } from '../support/sse.js';

/** A Spark master whose every address (the web UI's too) is a port nothing listens on. */
const NEVER_ANSWERS = { ...UNREACHABLE_SPARK, web_url: 'http://127.0.0.1:9' };

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
type Variant = 'own' | 'ownProtected' | 'otherPrivate' | 'otherPublic' | 'otherPublicProtected';
type ActionKind = 'read' | 'update' | 'publicity' | 'delete' | 'cancel' | 'refresh' | 'execute' | 'data' | 'logs';

interface Action {
  kind: ActionKind;
  method: Method;
  path: (id: string) => string;
  /** A fixed body, or one made for the row's id. */
  body?: unknown;
  /** The action needs the admin role (docs/policy.md): the matrix sends it with an admin token. */
  admin?: true;
}

type Role = 'member' | 'admin';

interface Resource {
  /** The list route, also the prefix of the row routes; `/v2/...` for Sahara's v2 API. */
  collection: string;
  /** The v1.1 collection whose rows these are (v2 serves the same rows); itself for v1.1. */
  source?: string;
  listKey: string;
  actions: Action[];
}

const A = newProject();
const B = newProject();
/** Each project has a member token (no roles) and an admin token. */
const TOKENS: Record<Role, Record<string, string>> = {
  member: { [A]: `member-${A}`, [B]: `member-${B}` },
  admin: { [A]: `admin-${A}`, [B]: `admin-${B}` },
};
/** The roles an action is tried with: admin actions only as an admin (members get 403, see below). */
const rolesFor = (action: Action): Role[] => (action.admin ? ['admin'] : ['member', 'admin']);
const bodyOf = (action: Action, id: string): unknown =>
  typeof action.body === 'function' ? action.body(id) : action.body;
/** An A template that clusters' execute action runs; set before the tests. */
let clusterJob = '';

/** What each change refusal is called (docs/compatibility.md#tenants-visibility-and-protection). */
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
      {
        kind: 'update',
        method: 'PATCH',
        path: row('/job-binary-internals'),
        body: { name: `renamed-${randomUUID().slice(0, 6)}` },
      },
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
      { kind: 'logs', method: 'GET', path: (id) => `/job-executions/${id}/logs?stream=stderr&offset=0` },
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
      {
        kind: 'execute',
        method: 'POST',
        path: () => `/jobs/${clusterJob}/execute`,
        body: (id: string) => ({ cluster_id: id }),
      },
      { kind: 'update', method: 'PATCH', path: row('/clusters'), body: { description: 'changed' }, admin: true },
      { kind: 'publicity', method: 'PATCH', path: row('/clusters'), body: { is_public: true }, admin: true },
      { kind: 'delete', method: 'DELETE', path: row('/clusters'), admin: true },
    ],
  },
  // Sahara's v2 API over the same rows, made through v1.1: a v2 cancel is an update.
  {
    collection: '/v2/jobs',
    source: '/job-executions',
    listKey: 'jobs',
    actions: [
      { kind: 'read', method: 'GET', path: row('/v2/jobs') },
      { kind: 'update', method: 'PATCH', path: row('/v2/jobs'), body: { info: { status: 'cancel' } } },
      { kind: 'publicity', method: 'PATCH', path: row('/v2/jobs'), body: { is_public: true } },
      { kind: 'delete', method: 'DELETE', path: row('/v2/jobs') },
    ],
  },
  {
    collection: '/v2/job-templates',
    source: '/jobs',
    listKey: 'job_templates',
    actions: [
      { kind: 'read', method: 'GET', path: row('/v2/job-templates') },
      {
        kind: 'execute',
        method: 'POST',
        path: () => '/v2/jobs',
        body: (id: string) => ({ cluster_id: LOCAL_CLUSTER_ID, job_template_id: id }),
      },
      { kind: 'update', method: 'PATCH', path: row('/v2/job-templates'), body: { description: 'changed' } },
      { kind: 'publicity', method: 'PATCH', path: row('/v2/job-templates'), body: { is_public: true } },
      { kind: 'delete', method: 'DELETE', path: row('/v2/job-templates') },
    ],
  },
  {
    collection: '/v2/job-binaries',
    source: '/job-binaries',
    listKey: 'binaries',
    actions: [
      { kind: 'read', method: 'GET', path: row('/v2/job-binaries') },
      { kind: 'data', method: 'GET', path: (id) => `/v2/job-binaries/${id}/data` },
      { kind: 'update', method: 'PATCH', path: row('/v2/job-binaries'), body: { description: 'changed' } },
      { kind: 'publicity', method: 'PATCH', path: row('/v2/job-binaries'), body: { is_public: true } },
      { kind: 'delete', method: 'DELETE', path: row('/v2/job-binaries') },
    ],
  },
  {
    collection: '/v2/data-sources',
    source: '/data-sources',
    listKey: 'data_sources',
    actions: [
      { kind: 'read', method: 'GET', path: row('/v2/data-sources') },
      { kind: 'update', method: 'PATCH', path: row('/v2/data-sources'), body: { description: 'changed' } },
      { kind: 'publicity', method: 'PATCH', path: row('/v2/data-sources'), body: { is_public: true } },
      { kind: 'delete', method: 'DELETE', path: row('/v2/data-sources') },
    ],
  },
  {
    collection: '/v2/clusters',
    source: '/clusters',
    listKey: 'clusters',
    actions: [
      { kind: 'read', method: 'GET', path: row('/v2/clusters') },
      {
        kind: 'execute',
        method: 'POST',
        path: () => '/v2/jobs',
        body: (id: string) => ({ cluster_id: id, job_template_id: clusterJob }),
      },
      { kind: 'update', method: 'PATCH', path: row('/v2/clusters'), body: { description: 'changed' }, admin: true },
      { kind: 'publicity', method: 'PATCH', path: row('/v2/clusters'), body: { is_public: true }, admin: true },
      { kind: 'delete', method: 'DELETE', path: row('/v2/clusters'), admin: true },
    ],
  },
];

const sourceOf = (resource: Resource): string => resource.source ?? resource.collection;

/** `/v2/...` paths go to `/v2/<project>/...`, the others to `/v1.1/<project>/...`; with no project, as they are. */
const urlOf = (project: string | null, path: string): string =>
  project === null ? path : path.startsWith('/v2/') ? `/v2/${project}${path.slice(3)}` : `/v1.1/${project}${path}`;

/**
 * Under `tokens` auth, project A acts on every resource kind's rows in five variants (its own,
 * its own protected, B's private, B's public, B's public protected) with every action, as a member
 * and as an admin. A foreign private row answers exactly as an id that does not exist; a foreign
 * public row can be read, refreshed, executed and downloaded but never changed; a protected row
 * refuses changes to its owner too, except publicity. The admin role reaches no further than its
 * project: it only adds the cluster changes members are refused with 403.
 */
describe('tenant isolation under tokens auth', () => {
  let t: TestApp;
  let engines: ClusterEngines;
  const rows = new Map<string, Record<Variant, string>>();

  /** `token` null sends none; left out, the project's member token is sent. */
  const send = (
    project: string | null,
    method: Method,
    path: string,
    body?: unknown,
    token: string | null = project === null ? null : TOKENS.member[project]!,
  ) =>
    t.app.inject({
      method,
      url: urlOf(project, path),
      headers: token === null ? {} : { 'x-auth-token': token },
      ...(body === undefined ? {} : { payload: body as object }),
    });
  const ok = async (project: string, method: Method, path: string, body?: unknown, role: Role = 'member') => {
    const response = await send(project, method, path, body, TOKENS[role][project]!);
    assert.ok(response.statusCode < 300, `${method} ${path}: ${response.statusCode} ${response.body}`);
    return response.statusCode === 204 ? {} : (response.json() as Record<string, any>);
  };

  /** Sends an action as the project's member or admin. */
  const act = (project: string, action: Action, id: string, role: Role) =>
    send(project, action.method, action.path(id), bodyOf(action, id), TOKENS[role][project]!);

  before(async () => {
    const tokens = new Map(
      [A, B].flatMap((project) => [
        [TOKENS.member[project]!, { tenantId: project, roles: ['member'] }],
        [TOKENS.admin[project]!, { tenantId: project, roles: ['member', 'admin'] }],
      ]),
    );
    // No local slot: executions stay PENDING so that cancel and delete meet a live execution.
    // Clusters are registered at an address that never answers: they are Error, and executions
    // on them stay PENDING too.
    engines = await clusterEngines();
    t = await createTestApp({
      dialect: 'sqlite',
      auth: tokenAuth(tokens),
      localConcurrency: 0,
      engines: engines.engines,
    });

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
            headers: { 'x-auth-token': TOKENS.member[project]!, 'content-type': 'application/octet-stream' },
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
          return (await ok(project, 'POST', '/data-sources', { name, type: 'hdfs', url: `hdfs://namenode/${name}` }))
            .data_source.id;
        case '/job-executions': {
          const job = await make(project, '/jobs');
          return (
            await insertExecution(t.store, {
              tenant_id: project,
              status: 'PENDING',
              job_id: job,
              cluster_id: LOCAL_CLUSTER_ID,
            })
          ).id;
        }
        case '/clusters': {
          const body = {
            name,
            plugin_name: 'spark',
            hadoop_version: '3.5.9',
            cluster_configs: { spark: NEVER_ANSWERS },
          };
          return (await ok(project, 'POST', '/clusters', body, 'admin')).cluster.id;
        }
        default:
          throw new Error(`no maker for ${collection}`);
      }
    };
    const flag = async (
      project: string,
      collection: string,
      id: string,
      flags: { is_public?: boolean; is_protected?: boolean },
    ) => {
      if (collection === '/clusters') {
        await ok(project, 'PATCH', `/clusters/${id}`, flags, 'admin');
        return;
      }
      const method = collection === '/job-binaries' || collection === '/data-sources' ? 'PUT' : 'PATCH';
      await ok(project, method, `${collection}/${id}`, flags);
      const internal = internalOf.get(id);
      if (internal && flags.is_public)
        await ok(project, 'PATCH', `/job-binary-internals/${internal}`, { is_public: true });
    };
    for (const resource of RESOURCES) {
      const { collection } = resource;
      if (resource.source !== undefined) {
        // v2's matrix gets rows of its own, made through v1.1: a delete in one must not touch the other's.
        rows.set(collection, await makeVariants(sourceOf(resource)));
        continue;
      }
      rows.set(collection, await makeVariants(collection));
    }
    clusterJob = await make(A, '/jobs');

    async function makeVariants(collection: string): Promise<Record<Variant, string>> {
      const ids = {} as Record<Variant, string>;
      ids.own = await make(A, collection);
      ids.ownProtected = await make(A, collection);
      await flag(A, collection, ids.ownProtected, { is_protected: true });
      ids.otherPrivate = await make(B, collection);
      ids.otherPublic = await make(B, collection);
      await flag(B, collection, ids.otherPublic, { is_public: true });
      ids.otherPublicProtected = await make(B, collection);
      await flag(B, collection, ids.otherPublicProtected, { is_public: true, is_protected: true });
      return ids;
    }
  });

  after(async () => {
    await t?.close();
    await engines?.remove();
  });

  /** Status and error name, and the message with ids and Error IDs blanked: what a caller learns. */
  const observable = (response: LightMyRequestResponse, id: string) => {
    const body = response.statusCode === 204 ? null : (response.json() as Record<string, unknown>);
    const message =
      typeof body?.error_message === 'string'
        ? body.error_message.replaceAll(id, '<id>').replace(/Error ID: .*/, '')
        : null;
    return { status: response.statusCode, name: body?.error_name ?? null, message };
  };

  for (const resource of RESOURCES) {
    describe(resource.collection, () => {
      test("another project's private row answers exactly like an id that does not exist", async () => {
        const id = rows.get(resource.collection)!.otherPrivate;
        for (const action of resource.actions) {
          for (const role of rolesFor(action)) {
            const unknown = randomUUID();
            const foreign = observable(await act(A, action, id, role), id);
            const missing = observable(await act(A, action, unknown, role), unknown);
            assert.deepEqual(foreign, missing, `${action.kind} ${resource.collection} as ${role}`);
            assert.ok(
              foreign.status >= 400,
              `${action.kind} ${resource.collection} as ${role} succeeded on a foreign private row`,
            );
          }
        }
        for (const role of ['member', 'admin'] as const) {
          const listed = await ok(A, 'GET', resource.collection, undefined, role);
          assert.ok(
            !listed[resource.listKey].some((r: { id: string }) => r.id === id),
            `listed to another project's ${role}`,
          );
          if (resource.source === undefined) {
            // v2 has no tenant filter (400 INVALID_PARAMS_ON_REQUEST).
            const byTenant = await ok(A, 'GET', `${resource.collection}?tenant_id=${B}`, undefined, role);
            assert.ok(
              byTenant[resource.listKey].every((r: { is_public: boolean }) => r.is_public),
              'a tenant filter reveals private rows',
            );
          }
          const token = TOKENS[role][A]!;
          const marker = observable(await send(A, 'GET', `${resource.collection}?marker=${id}`, undefined, token), id);
          const unknown = randomUUID();
          assert.deepEqual(
            marker,
            observable(await send(A, 'GET', `${resource.collection}?marker=${unknown}`, undefined, token), unknown),
            'marker',
          );
        }
        // The owner still has it, untouched.
        await ok(B, 'GET', `${resource.collection}/${id}`);
      });

      for (const variant of ['otherPublic', 'otherPublicProtected'] as const) {
        test(`another project's ${variant === 'otherPublic' ? 'public' : 'public protected'} row can be seen but never changed`, async () => {
          const id = rows.get(resource.collection)![variant];
          const before = (await ok(B, 'GET', `${resource.collection}/${id}`)) as Record<string, any>;
          for (const action of resource.actions) {
            for (const role of rolesFor(action)) {
              const response = await act(A, action, id, role);
              const refusal = REFUSAL[action.kind];
              const what = `${action.kind} ${resource.collection} as ${role}`;
              if (refusal) {
                assertSaharaError(response.statusCode, response.json(), what);
                assert.equal(response.statusCode, 400, `${what}: ${response.body}`);
                assert.equal(response.json().error_name, refusal, `${what}: ${response.body}`);
                assert.match(response.json().error_message, /wasn't created in this tenant/);
              } else {
                assert.ok(response.statusCode < 300, `${what}: ${response.statusCode} ${response.body}`);
              }
            }
          }
          const listed = await ok(A, 'GET', resource.collection);
          assert.ok(
            listed[resource.listKey].some((r: { id: string }) => r.id === id),
            'public row not listed',
          );
          const afterwards = (await ok(B, 'GET', `${resource.collection}/${id}`)) as Record<string, any>;
          const [key] = Object.keys(before);
          const { updated_at: _u1, info: _i1, ...was } = before[key!];
          const { updated_at: _u2, info: _i2, ...is } = afterwards[key!];
          assert.deepEqual(is, was, 'another project changed the row');
          if (sourceOf(resource) === '/job-executions') assert.equal(afterwards[key!].info.status, 'PENDING');
        });
      }

      test('a protected row refuses its own project every change but publicity', async () => {
        const id = rows.get(resource.collection)!.ownProtected;
        for (const action of resource.actions) {
          const response = await act(A, action, id, action.admin ? 'admin' : 'member');
          const refusal = action.kind === 'publicity' ? undefined : REFUSAL[action.kind];
          if (refusal) {
            assertSaharaError(response.statusCode, response.json(), action.kind);
            assert.equal(response.json().error_name, refusal, `${action.kind}: ${response.body}`);
            assert.match(response.json().error_message, /protected/);
          } else {
            assert.ok(
              response.statusCode < 300,
              `${action.kind} ${resource.collection}: ${response.statusCode} ${response.body}`,
            );
          }
        }
        await ok(A, 'GET', `${resource.collection}/${id}`);
      });

      test('its own row: every action works, delete last', async () => {
        const id = rows.get(resource.collection)!.own;
        for (const action of resource.actions) {
          const response = await act(A, action, id, action.admin ? 'admin' : 'member');
          if (sourceOf(resource) === '/jobs' && action.kind === 'delete') {
            // It was just executed: Sahara keeps a template its executions use.
            assert.match(observable(response, id).message ?? '', /being used by job executions/);
            continue;
          }
          if (sourceOf(resource) === '/clusters' && action.kind === 'delete') {
            // A job was just executed on it, and is still PENDING.
            assert.match(observable(response, id).message ?? '', /unfinished job execution/);
            continue;
          }
          assert.ok(
            response.statusCode < 300,
            `${action.kind} ${resource.collection}: ${response.statusCode} ${response.body}`,
          );
        }
      });

      const adminActions = resource.actions.filter((action) => action.admin);
      if (adminActions.length > 0) {
        test('a member is refused every admin action with 403 FORBIDDEN, whatever the row, and nothing changes', async () => {
          const ids = rows.get(resource.collection)!;
          const targets = [...Object.values(ids), randomUUID()];
          const owners = new Map<string, string>(
            Object.entries(ids).map(([variant, id]) => [id, variant.startsWith('own') ? A : B]),
          );
          const snapshot = async () =>
            Promise.all(
              Object.values(ids).map(
                async (id) => (await ok(owners.get(id)!, 'GET', `${resource.collection}/${id}`)) as unknown,
              ),
            );
          const before = await snapshot();
          for (const action of adminActions) {
            for (const id of targets) {
              const response = await act(A, action, id, 'member');
              const what = `${action.kind} ${resource.collection} ${id} as a member`;
              assertSaharaError(response.statusCode, response.json(), what);
              assert.equal(response.statusCode, 403, `${what}: ${response.body}`);
              assert.equal(response.json().error_name, 'FORBIDDEN', what);
              assert.match(response.json().error_message, /^You are not authorized to complete this action/);
            }
          }
          assert.deepEqual(await snapshot(), before, 'a refused member changed a row');
        });
      }
    });
  }

  test('a public binary over a private internal binary does not hand out the private bytes', async () => {
    const jbi = await t.app.inject({
      method: 'PUT',
      url: `/v1.1/${B}/job-binary-internals/secret-${randomUUID().slice(0, 8)}`,
      headers: { 'x-auth-token': TOKENS.member[B]!, 'content-type': 'application/octet-stream' },
      payload: 'the secret bytes',
    });
    const binary = await ok(B, 'POST', '/job-binaries', {
      name: `wrapper-${randomUUID().slice(0, 8)}`,
      url: `internal-db://${jbi.json().job_binary_internal.id}`,
      is_public: true,
    });
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
    await compare(
      'POST',
      '/jobs',
      (id) => ({ name: `ref-${randomUUID()}`, type: 'Shell', mains: [id] }),
      rows.get('/job-binaries')!.otherPrivate,
    );
    await compare(
      'POST',
      '/job-binaries',
      (id) => ({ name: `ref-${randomUUID()}`, url: `internal-db://${id}` }),
      rows.get('/job-binary-internals')!.otherPrivate,
    );
    await compare(
      'POST',
      `/jobs/${jobs.own}/execute`,
      (id) => ({ cluster_id: id }),
      rows.get('/clusters')!.otherPrivate,
    );
    await compare(
      'POST',
      `/jobs/${jobs.own}/execute`,
      (id) => ({ cluster_id: LOCAL_CLUSTER_ID, input_id: id }),
      rows.get('/data-sources')!.otherPrivate,
    );
  });

  test("another project's webhook answers exactly like an id that does not exist, to members and admins", async () => {
    const hook = await ok(B, 'POST', '/webhooks', {
      url: 'https://hooks.example.com/b',
      secret: 'b-secret-of-16-chars',
    });
    const id = hook.webhook.id as string;
    for (const role of ['member', 'admin'] as const) {
      const token = TOKENS[role][A]!;
      for (const method of ['GET', 'DELETE'] as const) {
        const unknown = randomUUID();
        const foreign = observable(await send(A, method, `/webhooks/${id}`, undefined, token), id);
        const missing = observable(await send(A, method, `/webhooks/${unknown}`, undefined, token), unknown);
        assert.deepEqual(foreign, missing, `${method} /webhooks as ${role}`);
        assert.equal(foreign.status, 404);
      }
      const listed = await ok(A, 'GET', '/webhooks', undefined, role);
      assert.ok(
        !listed.webhooks.some((webhook: { id: string }) => webhook.id === id),
        `listed to another project's ${role}`,
      );
    }
    // Any member manages its own project's webhooks, as Sahara's default policy allows.
    const own = await ok(
      A,
      'POST',
      '/webhooks',
      { url: 'https://hooks.example.com/a', secret: 'a-secret-of-16-chars' },
      'member',
    );
    await ok(A, 'DELETE', `/webhooks/${own.webhook.id}`, undefined, 'member');
    // The owner still has it.
    const kept = await ok(B, 'GET', `/webhooks/${id}`);
    assert.equal(kept.webhook.secret, '********');
  });

  test("a project's event stream carries its own executions' events, never another project's", async () => {
    const base = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const stream = await openEventStream(`${base}/v1.1/${A}/events`, { 'x-auth-token': TOKENS.member[A]! });
    try {
      assert.equal(stream.status, 200);
      const job = rows.get('/jobs')!.own;
      const theirs = await insertExecution(t.store, {
        tenant_id: B,
        status: 'PENDING',
        job_id: rows.get('/jobs')!.otherPrivate,
        cluster_id: LOCAL_CLUSTER_ID,
      });
      const mine = await insertExecution(t.store, {
        tenant_id: A,
        status: 'PENDING',
        job_id: job,
        cluster_id: LOCAL_CLUSTER_ID,
      });
      // Events arrive in id order: B's, appended first, would come before A's.
      await stream.waitFor(
        (messages) => executionEvents(messages).some((event) => event.execution_id === mine.id),
        "A's event",
      );
      assert.ok(executionEvents(stream.messages).every((event) => event.project_id === A));
      assert.ok(!executionEvents(stream.messages).some((event) => event.execution_id === theirs.id));
    } finally {
      stream.close();
    }
  });

  test('a missing or unknown token, or a token of another project, is refused with 401 on every endpoint', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    let checked = 0;
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const method of Object.keys(operations)) {
        const withId = path.replace(/\{(?!project_id)[^}]+\}/g, () => rows.get('/jobs')!.own);
        // /v2/... without a project: only the token names one, so only a bad token can be refused.
        const projectless = !withId.includes('{project_id}');
        const concrete = withId.replace('/v1.1/{project_id}', '').replace('/v2/{project_id}', '/v2');
        const cases = projectless
          ? ([
              [null, null],
              [null, 'not-a-token'],
            ] as const)
          : ([
              [A, null],
              [A, 'not-a-token'],
              [B, TOKENS.member[A]!],
              [A, TOKENS.member[B]!],
              [B, TOKENS.admin[A]!],
              [A, TOKENS.admin[B]!],
            ] as const);
        for (const [project, token] of cases) {
          const response = await send(project, method.toUpperCase() as Method, concrete, undefined, token);
          assertSaharaError(response.statusCode, response.json(), `${method} ${path} with ${token ?? 'no token'}`);
          assert.equal(response.statusCode, 401, `${method} ${path} with ${token ?? 'no token'}: ${response.body}`);
          checked += 1;
        }
      }
    }
    assert.ok(checked >= 300);
  });
});
