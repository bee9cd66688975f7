import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { KeystoneAuth, type KeystoneSettings } from '../../src/api/keystone.js';
import { eventually } from '../support/eventually.js';
import { issueToken, registerOasis, testKeystone, whileKeystoneHangs } from '../support/keystone.js';
import { type OasisProcess, startOasis } from '../support/server.js';
import { openstack, printedJson, pythonClientsInstalled, pythonScenario } from './support.js';

/**
 * Oasis behind a real Keystone (scripts/keystone.sh): the real clients authenticate with
 * passwords and find Oasis through the catalog, tokens are validated with Keystone, and what
 * Keystone says (project, roles, revocation, no answer at all) is what Oasis enforces.
 */

const keystone = testKeystone();
const clientsInstalled = pythonClientsInstalled();

/** Sahara's error body, exactly. */
async function assertSaharaError(response: Response, status: number, name: string): Promise<void> {
  assert.equal(response.status, status);
  const body = (await response.json()) as Record<string, unknown>;
  assert.deepEqual(Object.keys(body).sort(), ['error_code', 'error_message', 'error_name']);
  assert.equal(body.error_code, status);
  assert.equal(body.error_name, name);
}

describe('Oasis behind Keystone', { skip: !keystone || !clientsInstalled }, () => {
  let oasis: OasisProcess;
  let unregister: () => Promise<void> = async () => {};
  let alpha: string;
  let beta: string;

  const keystoneEnv = () => ({
    OASIS_AUTH: 'keystone',
    OASIS_KEYSTONE_URL: keystone!.url,
    OASIS_KEYSTONE_USER: 'oasis',
    OASIS_KEYSTONE_PASSWORD: keystone!.password,
    OASIS_KEYSTONE_PROJECT: 'service',
    // Short, so that revocation shows within the test.
    OASIS_KEYSTONE_CACHE_TIME: '2s',
  });

  before(async () => {
    oasis = await startOasis({ env: keystoneEnv() });
    unregister = await registerOasis(keystone!, oasis.url);
    alpha = (await issueToken(keystone!, 'alice', 'alpha')).projectId;
    beta = (await issueToken(keystone!, 'bob', 'beta')).projectId;
  });

  after(async () => {
    await unregister();
    await oasis?.stop();
  });

  const get = (url: string, token?: string) =>
    fetch(`${oasis.url}${url}`, { headers: token ? { 'X-Auth-Token': token } : {} });

  /** The openstack CLI as a user of a project: password auth, Oasis found through the catalog. */
  const openstackRun = (user: string, project: string, args: string[]) =>
    openstack(args, {
      OS_AUTH_URL: keystone!.url,
      OS_IDENTITY_API_VERSION: '3',
      OS_USERNAME: user,
      OS_PASSWORD: keystone!.password,
      OS_PROJECT_NAME: project,
      OS_USER_DOMAIN_NAME: 'Default',
      OS_PROJECT_DOMAIN_NAME: 'Default',
    });

  /** A command that prints a result, read as JSON. */
  const openstackJson = async (user: string, project: string, ...args: string[]): Promise<any> =>
    printedJson((await openstackRun(user, project, [...args, '-f', 'json'])).stdout);

  test('the openstack CLI registers, runs, lists, shows and deletes a job through the catalog', async () => {
    const script = path.join(await mkdtemp(path.join(tmpdir(), 'oasis-keystone-')), 'hello.sh');
    await writeFile(script, 'echo "hello $1"\n');
    const binary = await openstackJson(
      'alice',
      'alpha',
      'dataprocessing',
      'job',
      'binary',
      'create',
      '--name',
      'hello.sh',
      '--data',
      script,
    );
    const template = await openstackJson(
      'alice',
      'alpha',
      'dataprocessing',
      'job',
      'template',
      'create',
      '--name',
      'hello',
      '--type',
      'Shell',
      '--mains',
      binary.Id,
    );
    const started = await openstackJson(
      'alice',
      'alpha',
      'dataprocessing',
      'job',
      'execute',
      '--job-template',
      template.Id,
      '--cluster',
      'local',
      '--args',
      'keystone',
    );
    const shown = await eventually(async () => {
      const job = await openstackJson('alice', 'alpha', 'dataprocessing', 'job', 'show', started.Id);
      return ['SUCCEEDED', 'DONEWITHERROR', 'FAILED', 'KILLED'].includes(job.Status) ? job : undefined;
    }, 'the job to end');
    assert.equal(shown.Status, 'SUCCEEDED');
    const listed = await openstackJson('alice', 'alpha', 'dataprocessing', 'job', 'list');
    assert.ok(listed.some((row: any) => row.Id === started.Id));
    await openstackRun('alice', 'alpha', ['dataprocessing', 'job', 'delete', started.Id, '--wait']);
    const { token } = await issueToken(keystone!, 'alice', 'alpha');
    await assertSaharaError(await get(`/v1.1/${alpha}/job-executions/${started.Id}`, token), 404, 'NOT_FOUND');
  });

  test('python-saharaclient v1.1 and v2 through Keystone: execute, list, show, cancel and delete', async () => {
    const result = await pythonScenario('keystone_flow.py', [keystone!.url, 'alice', keystone!.password, 'alpha']);
    assert.equal(result.endpoint.replace(/\/$/, ''), `${oasis.url}/v1.1/${alpha}`);
    assert.equal(result.v2_endpoint.replace(/\/$/, ''), `${oasis.url}/v2/${alpha}`);
    assert.equal(result.tenant_id, alpha);
    assert.ok(result.listed.includes(result.id));
    assert.equal(result.cancelled, 'KILLED');
    assert.deepEqual(result.deleted, { code: 404, name: 'NOT_FOUND' });
    // The v2 client, on the endpoint the catalog and the versions document gave it.
    assert.equal(result.v2.endpoint.replace(/\/$/, ''), `${oasis.url}/v2/${alpha}`);
    assert.equal(result.v2.project_id, alpha);
    assert.ok(result.v2.listed.includes(result.v2.id));
    assert.ok(result.v2.engine_job_id);
    assert.equal(result.v2.cancelled, 'KILLED');
    assert.deepEqual(result.v2.deleted, { code: 404, name: 'NOT_FOUND' });
  });

  test('the openstack CLI speaks v2 through the catalog too', async () => {
    const jobs = await openstackJson(
      'alice',
      'alpha',
      '--os-data-processing-api-version',
      '2',
      'dataprocessing',
      'job',
      'list',
    );
    assert.ok(Array.isArray(jobs));
    const templates = await openstackJson(
      'alice',
      'alpha',
      '--os-data-processing-api-version',
      '2',
      'dataprocessing',
      'job',
      'template',
      'list',
    );
    assert.ok(templates.some((template: { Name: string }) => template.Name === 'hello'));
  });

  test('projects are isolated, and only an admin registers clusters', async () => {
    const alice = (await issueToken(keystone!, 'alice', 'alpha')).token;
    const bob = (await issueToken(keystone!, 'bob', 'beta')).token;
    const carol = (await issueToken(keystone!, 'carol', 'alpha')).token;
    const upload = await fetch(`${oasis.url}/v1.1/${alpha}/job-binary-internals/mine.sh`, {
      method: 'PUT',
      headers: { 'X-Auth-Token': alice, 'Content-Type': 'application/octet-stream' },
      body: 'echo mine',
    });
    assert.equal(upload.status, 202);
    const jbi = ((await upload.json()) as any).job_binary_internal;
    assert.equal(jbi.tenant_id, alpha);

    // Bob's token names beta: alpha's path is refused, alpha's rows are not found, not listed.
    await assertSaharaError(await get(`/v1.1/${alpha}/job-binary-internals`, bob), 401, 'UNAUTHORIZED');
    await assertSaharaError(await get(`/v1.1/${beta}/job-binary-internals/${jbi.id}`, bob), 404, 'NOT_FOUND');
    const listed = (await (await get(`/v1.1/${beta}/job-binary-internals`, bob)).json()) as any;
    assert.deepEqual(listed.binaries, []);
    // Without a project in the path the token's project is used.
    const own = (await (await get('/v1.1/job-binary-internals', alice)).json()) as any;
    assert.ok(own.binaries.some((row: any) => row.id === jbi.id));

    const cluster = {
      name: 'spark-keystone',
      plugin_name: 'spark',
      hadoop_version: '3.5.9',
      cluster_configs: { spark: { master: 'spark://127.0.0.1:1', rest_url: 'http://127.0.0.1:1' } },
    };
    const register = (token: string) =>
      fetch(`${oasis.url}/v1.1/${alpha}/clusters`, {
        method: 'POST',
        headers: { 'X-Auth-Token': token, 'Content-Type': 'application/json' },
        body: JSON.stringify(cluster),
      });
    await assertSaharaError(await register(alice), 403, 'FORBIDDEN');
    const created = await register(carol);
    assert.equal(created.status, 202);
    const { id } = ((await created.json()) as any).cluster;
    const removed = await fetch(`${oasis.url}/v1.1/${alpha}/clusters/${id}`, {
      method: 'DELETE',
      headers: { 'X-Auth-Token': carol },
    });
    assert.equal(removed.status, 204);
  });

  test('a revoked token stops working within the cache time', async () => {
    const { token } = await issueToken(keystone!, 'alice', 'alpha');
    assert.equal((await get(`/v1.1/${alpha}/job-executions`, token)).status, 200);
    await openstackRun('admin', 'admin', ['token', 'revoke', token]);
    const refused = await eventually(async () => {
      const response = await get(`/v1.1/${alpha}/job-executions`, token);
      return response.status === 200 ? undefined : response;
    }, 'the revoked token to be refused');
    await assertSaharaError(refused, 401, 'UNAUTHORIZED');
    await assertSaharaError(await get(`/v1.1/${alpha}/job-executions`, 'not-a-token'), 401, 'UNAUTHORIZED');
    await assertSaharaError(await get(`/v1.1/${alpha}/job-executions`), 401, 'UNAUTHORIZED');
  });

  test("Keystone not answering gives 503 with Sahara's body, and Oasis recovers with it", async () => {
    const { token } = await issueToken(keystone!, 'bob', 'beta');
    await whileKeystoneHangs(keystone!, async () => {
      await assertSaharaError(await get(`/v1.1/${beta}/job-executions`, token), 503, 'SERVICE_UNAVAILABLE');
    });
    const answered = await eventually(async () => {
      const response = await get(`/v1.1/${beta}/job-executions`, token);
      return response.status === 503 ? undefined : response;
    }, 'Oasis to validate tokens again');
    assert.equal(answered.status, 200);
  });

  describe('the validation cache', () => {
    const settings = (overrides: Partial<KeystoneSettings> = {}): KeystoneSettings => ({
      url: keystone!.url,
      username: 'oasis',
      password: keystone!.password,
      projectName: 'service',
      userDomainName: 'Default',
      projectDomainName: 'Default',
      cacheTimeMs: 60_000,
      cacheSize: 10_000,
      timeoutMs: 5_000,
      ...overrides,
    });
    const silent = pino({ level: 'silent' });

    test('holds at most its size, forgetting the least recently used', async () => {
      const auth = new KeystoneAuth(settings({ cacheSize: 2 }), silent);
      const tokens = await Promise.all(
        ['alice', 'bob', 'carol'].map((user) => issueToken(keystone!, user, user === 'bob' ? 'beta' : 'alpha')),
      );
      for (const { token } of tokens) await auth.authenticate({ 'x-auth-token': token }, undefined);
      assert.equal(auth.cachedCount, 2);
      // The two most recent answer at once, from the cache; the first must be asked again.
      assert.ok(!(auth.authenticate({ 'x-auth-token': tokens[2]!.token }, undefined) instanceof Promise));
      assert.ok(!(auth.authenticate({ 'x-auth-token': tokens[1]!.token }, undefined) instanceof Promise));
      const first = auth.authenticate({ 'x-auth-token': tokens[0]!.token }, undefined);
      assert.ok(first instanceof Promise);
      assert.deepEqual((await first).tenantId, alpha);
    });

    test("never answers past the token's expiry, whatever the cache time", async () => {
      const { token } = await issueToken(keystone!, 'alice', 'alpha');
      const shown = await fetch(`${keystone!.url}/auth/tokens?nocatalog`, {
        headers: { 'X-Auth-Token': token, 'X-Subject-Token': token },
      });
      const expiresAt = Date.parse(((await shown.json()) as { token: { expires_at: string } }).token.expires_at);
      // A clock one second before the token expires: the validation is cached for that second only.
      let clock = expiresAt - 1_000;
      const auth = new KeystoneAuth(settings({ cacheTimeMs: 300_000 }), silent, () => clock);
      const context = await auth.authenticate({ 'x-auth-token': token }, alpha);
      assert.equal(context.tenantId, alpha);
      assert.deepEqual([...context.roles].sort(), ['member', 'reader']);
      assert.ok(!(auth.authenticate({ 'x-auth-token': token }, alpha) instanceof Promise));
      clock = expiresAt;
      await assert.rejects(
        Promise.resolve().then(() => auth.authenticate({ 'x-auth-token': token }, alpha)),
        { status: 401 },
      );
    });
  });
});
