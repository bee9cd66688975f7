import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { type AuthContext, isAllowed, loadTokenAuth, noAuth, type PolicyRule, tokenAuth } from '../../src/api/auth.js';
import { LOCAL_CLUSTER_ID } from '../../src/store/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { type ClusterEngines, clusterEngines, UNREACHABLE_SPARK } from '../support/engines.js';
import { newProject } from '../support/resources.js';
import { assertSaharaError } from './support.js';

/**
 * The cluster policy from the attacker's side (docs/policy.md): a member token tries to register,
 * change and delete clusters, an admin of one project reaches for another project's clusters,
 * and members run jobs on the clusters shared with them.
 */

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

const A = newProject();
const B = newProject();
const TOKENS = {
  memberA: { tenantId: A, roles: ['member'] },
  adminA: { tenantId: A, roles: ['member', 'admin'] },
  memberB: { tenantId: B, roles: ['reader', 'member'] },
  adminB: { tenantId: B, roles: ['admin'] },
  /** oslo.policy compares role names case-insensitively; look-alike names are not the role. */
  upperAdminA: { tenantId: A, roles: ['Admin'] },
  lookalikeA: { tenantId: A, roles: ['administrator', 'admins', 'cloud-admin', ' admin'] },
} satisfies Record<string, AuthContext>;
type Caller = keyof typeof TOKENS;

/** A Spark master whose every address (the web UI's too) is a port nothing listens on. */
const NEVER_ANSWERS = { ...UNREACHABLE_SPARK, web_url: 'http://127.0.0.1:9' };

describe('cluster policy under tokens auth', () => {
  let t: TestApp;
  let engines: ClusterEngines;
  /** A TCP port that records every connection Oasis makes to it, and drops it at once. */
  let trap: Server;
  let trapPort = 0;
  let trapped = 0;

  before(async () => {
    engines = await clusterEngines();
    const tokens = new Map(Object.entries(TOKENS).map(([name, context]) => [`token-${name}`, context]));
    t = await createTestApp({
      dialect: 'sqlite',
      auth: tokenAuth(tokens),
      localConcurrency: 0,
      engines: engines.engines,
    });
    trap = createServer((socket) => {
      trapped += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
    trapPort = (trap.address() as { port: number }).port;
  });

  after(async () => {
    await t?.close();
    await engines?.remove();
    await new Promise((resolve) => trap?.close(resolve));
  });

  const send = (caller: Caller, method: Method, path: string, body?: unknown, project = TOKENS[caller].tenantId) =>
    t.app.inject({
      method,
      url: `/v1.1/${project}${path}`,
      headers: { 'x-auth-token': `token-${caller}` },
      ...(body === undefined ? {} : { payload: body as object }),
    });
  const ok = async (caller: Caller, method: Method, path: string, body?: unknown) => {
    const response = await send(caller, method, path, body);
    assert.ok(response.statusCode < 300, `${caller} ${method} ${path}: ${response.statusCode} ${response.body}`);
    return response.statusCode === 204 ? {} : (response.json() as Record<string, any>);
  };
  const refused = (response: LightMyRequestResponse, status: number, name: string, what: string) => {
    assertSaharaError(response.statusCode, response.json(), what);
    assert.equal(response.statusCode, status, `${what}: ${response.body}`);
    assert.equal(response.json().error_name, name, `${what}: ${response.body}`);
    return response.json().error_message as string;
  };
  const forbidden = (response: LightMyRequestResponse, what: string) => {
    const message = refused(response, 403, 'FORBIDDEN', what);
    assert.match(message, /^You are not authorized to complete this action/);
    assert.match(message, /\nError ID: [0-9a-f-]{36}$/);
  };

  const sparkBody = (spark: Record<string, unknown> = NEVER_ANSWERS, extra: Record<string, unknown> = {}) => ({
    name: `spark-${randomUUID().slice(0, 8)}`,
    plugin_name: 'spark',
    hadoop_version: '3.5.9',
    cluster_configs: { spark },
    ...extra,
  });
  const register = async (caller: Caller, extra: Record<string, unknown> = {}) =>
    (await ok(caller, 'POST', '/clusters', sparkBody(NEVER_ANSWERS, extra))).cluster as Record<string, any>;
  const clusterIds = async (caller: Caller) =>
    ((await ok(caller, 'GET', '/clusters')).clusters as { id: string }[]).map((cluster) => cluster.id);
  const shellTemplate = async (caller: Caller) => {
    const name = `job-${randomUUID().slice(0, 8)}`;
    const jbi = await t.app.inject({
      method: 'PUT',
      url: `/v1.1/${TOKENS[caller].tenantId}/job-binary-internals/${name}.sh`,
      headers: { 'x-auth-token': `token-${caller}`, 'content-type': 'application/octet-stream' },
      payload: 'exit 0',
    });
    assert.equal(jbi.statusCode, 202, jbi.body);
    const binary = await ok(caller, 'POST', '/job-binaries', {
      name: `${name}.sh`,
      url: `internal-db://${jbi.json().job_binary_internal.id}`,
    });
    return (await ok(caller, 'POST', '/jobs', { name, type: 'Shell', mains: [binary.job_binary.id] })).job.id as string;
  };

  test('a member cannot register a cluster: no row, and Oasis never connects to the named host', async () => {
    const trap = {
      master: `spark://127.0.0.1:${trapPort}`,
      rest_url: `http://127.0.0.1:${trapPort}`,
      web_url: `http://127.0.0.1:${trapPort}`,
    };
    const hostSide = { ...trap, spark_home: '/tmp/attacker/spark', python: '/tmp/attacker/python', shared_dir: '/etc' };
    const yarn = {
      resourcemanager: `http://127.0.0.1:${trapPort}`,
      namenode: `hdfs://127.0.0.1:${trapPort}`,
      hadoop_classpath: '/tmp/attacker/jars/*',
      hadoop_conf_dir: '/tmp/attacker/conf',
      user: 'root',
      properties: { 'fs.defaultFS': `hdfs://127.0.0.1:${trapPort}` },
    };
    const before = await clusterIds('adminA');
    const attempts: unknown[] = [
      sparkBody(trap),
      sparkBody(hostSide),
      sparkBody(trap, { is_public: true }),
      { name: 'hadoop', plugin_name: 'vanilla', hadoop_version: '3.5.0', cluster_configs: { yarn } },
      // Policy comes before validation (docs/compatibility.md#request-bodies): a member cannot even learn what would pass.
      sparkBody(trap, { surprise: true }),
      { name: 'x' },
      {},
    ];
    for (const caller of ['memberA', 'memberB', 'lookalikeA'] as const) {
      for (const body of attempts)
        forbidden(await send(caller, 'POST', '/clusters', body), `${caller} POST /clusters ${JSON.stringify(body)}`);
    }
    assert.deepEqual(await clusterIds('adminA'), before);
    assert.equal(trapped, 0, 'Oasis connected to the host a member named');

    // The same registration by an admin does connect (the health check): the trap would have seen a member's.
    const cluster = (await ok('adminA', 'POST', '/clusters', sparkBody(trap))).cluster;
    assert.equal(cluster.status, 'Error');
    assert.ok(trapped > 0, 'the trap saw no connection from an admin registration');
    await ok('adminA', 'DELETE', `/clusters/${cluster.id}`);
  });

  test("a member cannot change its project's clusters, public clusters or local, nor learn which ids exist", async () => {
    const shared = await register('adminA');
    const publicOfB = await register('adminB', { is_public: true });
    const attempts: unknown[] = [
      { is_public: true },
      { is_public: false },
      { is_protected: true },
      { is_protected: false, is_public: true },
      { name: 'mine-now' },
      { description: 'pwned' },
      { cluster_configs: { spark: { ...NEVER_ANSWERS, python: '/tmp/attacker/python' } } },
      { tenant_id: A },
      {},
    ];
    const targets = [shared.id, publicOfB.id, LOCAL_CLUSTER_ID, randomUUID()];
    const show = (id: string) => ok(id === publicOfB.id ? 'adminB' : 'adminA', 'GET', `/clusters/${id}`);
    const before = await Promise.all(targets.slice(0, 3).map(show));
    for (const id of targets) {
      for (const body of attempts)
        forbidden(await send('memberA', 'PATCH', `/clusters/${id}`, body), `PATCH ${id} ${JSON.stringify(body)}`);
      forbidden(await send('memberA', 'DELETE', `/clusters/${id}`), `DELETE ${id}`);
      forbidden(await send('memberB', 'DELETE', `/clusters/${id}`), `DELETE ${id} by B's member`);
    }
    assert.deepEqual(await Promise.all(targets.slice(0, 3).map(show)), before, 'a refused member changed a cluster');
  });

  test('a member lists, shows and runs jobs on the clusters shared with its project, and on public ones', async () => {
    const shared = await register('adminA');
    const template = await shellTemplate('memberA');

    assert.ok((await clusterIds('memberA')).includes(shared.id));
    assert.ok((await clusterIds('memberA')).includes(LOCAL_CLUSTER_ID));
    assert.equal((await ok('memberA', 'GET', `/clusters/${shared.id}`)).cluster.tenant_id, A);
    const execution = (await ok('memberA', 'POST', `/jobs/${template}/execute`, { cluster_id: shared.id }))
      .job_execution;
    assert.deepEqual([execution.cluster_id, execution.tenant_id, execution.info.status], [shared.id, A, 'PENDING']);
    await ok('memberA', 'GET', `/job-executions/${execution.id}/cancel`);
    await ok('memberA', 'POST', `/jobs/${template}/execute`, { cluster_id: LOCAL_CLUSTER_ID });

    // Another project's members neither see it nor run on it, until A's admin makes it public.
    const templateOfB = await shellTemplate('memberB');
    assert.ok(!(await clusterIds('memberB')).includes(shared.id));
    refused(await send('memberB', 'GET', `/clusters/${shared.id}`), 404, 'NOT_FOUND', 'show a private cluster of A');
    refused(
      await send('memberB', 'POST', `/jobs/${templateOfB}/execute`, { cluster_id: shared.id }),
      400,
      'INVALID_REFERENCE',
      'execute',
    );

    await ok('adminA', 'PATCH', `/clusters/${shared.id}`, { is_public: true });
    assert.ok((await clusterIds('memberB')).includes(shared.id));
    const onPublic = (await ok('memberB', 'POST', `/jobs/${templateOfB}/execute`, { cluster_id: shared.id }))
      .job_execution;
    assert.equal(onPublic.tenant_id, B);
    forbidden(
      await send('memberB', 'PATCH', `/clusters/${shared.id}`, { is_public: false }),
      "B's member hides A's public cluster",
    );

    await ok('adminA', 'PATCH', `/clusters/${shared.id}`, { is_public: false });
    refused(
      await send('memberB', 'POST', `/jobs/${templateOfB}/execute`, { cluster_id: shared.id }),
      400,
      'INVALID_REFERENCE',
      'after unsharing',
    );
    // B's execution is B's: it stays visible to B, and keeps the cluster from being deleted.
    await ok('memberB', 'GET', `/job-executions/${onPublic.id}`);
    assert.match(
      refused(await send('adminA', 'DELETE', `/clusters/${shared.id}`), 400, 'DELETION_FAILED', 'delete in use'),
      /unfinished/,
    );
  });

  test("an admin of project B has no reach into project A's clusters", async () => {
    const privateOfA = await register('adminA');
    const publicOfA = await register('adminA', { is_public: true });

    // A private cluster of A answers B's admin exactly as an unknown id does.
    const unknown = randomUUID();
    for (const [method, body] of [['GET'], ['PATCH', { is_public: true }], ['DELETE']] as const) {
      const foreign = await send('adminB', method, `/clusters/${privateOfA.id}`, body);
      const missing = await send('adminB', method, `/clusters/${unknown}`, body);
      refused(foreign, 404, 'NOT_FOUND', `${method} a private cluster of A`);
      assert.equal(
        foreign.json().error_message.split('\n')[0].replace(privateOfA.id, '<id>'),
        missing.json().error_message.split('\n')[0].replace(unknown, '<id>'),
      );
    }
    assert.ok(!(await clusterIds('adminB')).includes(privateOfA.id));

    // A public cluster of A: B's admin may see it and run on it, never change it.
    assert.ok((await clusterIds('adminB')).includes(publicOfA.id));
    for (const body of [{ is_public: false }, { description: 'mine' }, { is_protected: false }]) {
      const message = refused(
        await send('adminB', 'PATCH', `/clusters/${publicOfA.id}`, body),
        400,
        'UPDATE_FAILED',
        JSON.stringify(body),
      );
      assert.match(message, /wasn't created in this tenant/);
    }
    assert.match(
      refused(await send('adminB', 'DELETE', `/clusters/${publicOfA.id}`), 400, 'DELETION_FAILED', 'delete'),
      /wasn't created in this tenant/,
    );
    const shown = (await ok('adminA', 'GET', `/clusters/${publicOfA.id}`)).cluster;
    assert.deepEqual([shown.is_public, shown.description, shown.updated_at], [true, '', publicOfA.updated_at]);

    // B's admin registers in B only: its token cannot name A, and the body cannot name a tenant.
    refused(
      await send('adminB', 'POST', '/clusters', sparkBody(), A),
      401,
      'UNAUTHORIZED',
      "register in A with B's token",
    );
    refused(
      await send('adminB', 'POST', '/clusters', sparkBody(NEVER_ANSWERS, { tenant_id: A })),
      400,
      'VALIDATION_ERROR',
      'tenant_id',
    );
    const ofB = await register('adminB');
    assert.equal(ofB.tenant_id, B);
    assert.ok(!(await clusterIds('memberA')).includes(ofB.id));
  });

  test("an admin token registers, changes and deletes its project's clusters; the role name is case-insensitive", async () => {
    const cluster = await register('upperAdminA');
    assert.equal(cluster.tenant_id, A);
    assert.equal(
      (await ok('upperAdminA', 'PATCH', `/clusters/${cluster.id}`, { name: 'renamed' })).cluster.name,
      'renamed',
    );
    // Settings never change in place, not even for an admin: delete and register again.
    refused(
      await send('adminA', 'PATCH', `/clusters/${cluster.id}`, { cluster_configs: { spark: NEVER_ANSWERS } }),
      400,
      'VALIDATION_ERROR',
      'settings',
    );
    await ok('adminA', 'DELETE', `/clusters/${cluster.id}`);
    refused(await send('adminA', 'GET', `/clusters/${cluster.id}`), 404, 'NOT_FOUND', 'deleted');
    // The built-in local cluster stays as it is for admins too.
    refused(
      await send('adminA', 'PATCH', `/clusters/${LOCAL_CLUSTER_ID}`, { is_public: false }),
      400,
      'UPDATE_FAILED',
      'local',
    );
    refused(await send('adminA', 'DELETE', `/clusters/${LOCAL_CLUSTER_ID}`), 400, 'DELETION_FAILED', 'local');
  });
});

describe('the policy and its inputs', () => {
  const RULES: PolicyRule[] = [
    'data-processing:clusters:create',
    'data-processing:clusters:modify',
    'data-processing:clusters:delete',
  ];

  test('noauth: the single trusted caller of any project holds the admin role', () => {
    for (const project of [newProject(), 'demo']) {
      const context = noAuth.authenticate({}, project);
      assert.equal(context.tenantId, project);
      for (const rule of RULES) assert.equal(isAllowed(context, rule), true, rule);
    }
  });

  test('tokens: only the admin role allows cluster changes', () => {
    for (const rule of RULES) {
      assert.equal(isAllowed({ tenantId: A, roles: [] }, rule), false);
      assert.equal(isAllowed({ tenantId: A, roles: ['member', 'reader', 'administrator'] }, rule), false);
      assert.equal(isAllowed({ tenantId: A, roles: ['ADMIN'] }, rule), true);
    }
  });

  test('a tokens file whose roles are not a list of names is refused, not read as no roles', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'oasis-tokens-'));
    try {
      const file = path.join(dir, 'tokens.json');
      for (const roles of ['admin', [1], { admin: true }, null]) {
        await writeFile(file, JSON.stringify({ secret: { project_id: A, roles } }));
        if (roles === null) {
          // null reads as absent: a member.
          const context = (await loadTokenAuth(file)).authenticate({ 'x-auth-token': 'secret' }, A);
          assert.deepEqual(context.roles, []);
          continue;
        }
        await assert.rejects(loadTokenAuth(file), /"roles" must be a list of role names/, JSON.stringify(roles));
      }
      await writeFile(file, JSON.stringify({ secret: { project_id: A, roles: ['admin'] }, other: { project_id: B } }));
      const auth = await loadTokenAuth(file);
      assert.equal(
        isAllowed(auth.authenticate({ 'x-auth-token': 'secret' }, A), 'data-processing:clusters:create'),
        true,
      );
      assert.equal(
        isAllowed(auth.authenticate({ 'x-auth-token': 'other' }, B), 'data-processing:clusters:create'),
        false,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
