import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { LOCAL_CLUSTER_ID } from '../../src/store/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { testDialects } from '../support/databases.js';
import { type ClusterEngines, clusterEngines, UNREACHABLE_SPARK } from '../support/engines.js';
import { eventually } from '../support/eventually.js';
import { assertError, call, createShellTemplate, newProject, ok } from '../support/resources.js';

/** A Spark master whose every address (the web UI's too) is a port nothing listens on. */
const NEVER_ANSWERS = { ...UNREACHABLE_SPARK, web_url: 'http://127.0.0.1:9' };

/** Every key of Sahara's cluster object (samples/v1.1/clusters/clusters-list-response.json). */
const SAHARA_CLUSTER_KEYS = [
  'anti_affinity',
  'cluster_configs',
  'cluster_template_id',
  'created_at',
  'default_image_id',
  'description',
  'domain_name',
  'hadoop_version',
  'id',
  'info',
  'is_protected',
  'is_public',
  'is_transient',
  'management_public_key',
  'name',
  'neutron_management_network',
  'node_groups',
  'plugin_name',
  'provision_progress',
  'shares',
  'status',
  'status_description',
  'tenant_id',
  'trust_id',
  'updated_at',
  'use_autoconfig',
  'user_keypair_id',
];

for (const dialect of testDialects()) {
  describe(`clusters (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ dialect });
    });
    after(() => t.close());

    test('the built-in local cluster is visible to every project, with every Sahara key', async () => {
      for (const project of [newProject(), newProject()]) {
        const listed = ok(await call(t.app, project, 'GET', '/clusters'), 200);
        assert.deepEqual(Object.keys(listed), ['clusters']);
        const local = listed.clusters.find((cluster: any) => cluster.id === LOCAL_CLUSTER_ID);
        assert.ok(local);
        assert.deepEqual(Object.keys(local).sort(), SAHARA_CLUSTER_KEYS);
        assert.deepEqual(
          [local.name, local.plugin_name, local.status, local.is_public],
          ['local', 'local', 'Active', true],
        );
        assert.deepEqual(
          [local.node_groups, local.info, local.anti_affinity, local.default_image_id],
          [[], {}, [], null],
        );
        assert.deepEqual(ok(await call(t.app, project, 'GET', `/clusters/${LOCAL_CLUSTER_ID}`), 200).cluster, local);
      }
    });

    test("another project's private cluster is 404 and unlisted; filters and sorting", async () => {
      const owner = newProject();
      const cluster = await t.store.clusters.insert({
        id: randomUUID(),
        tenant_id: owner,
        is_public: false,
        is_protected: false,
        name: 'private-spark',
        description: 'mine',
        plugin_name: 'spark',
        hadoop_version: '3.5',
        engine: 'spark',
        status: 'Active',
        status_description: '',
        cluster_configs: { spark: { master: 'spark://m:7077' } },
      });
      const shown = ok(await call(t.app, owner, 'GET', `/clusters/${cluster.id}`), 200).cluster;
      assert.deepEqual(shown.cluster_configs, { spark: { master: 'spark://m:7077' } });
      assertError(await call(t.app, newProject(), 'GET', `/clusters/${cluster.id}`), 404, 'NOT_FOUND');
      const stranger = ok(await call(t.app, newProject(), 'GET', '/clusters'), 200);
      assert.equal(
        stranger.clusters.some((row: any) => row.id === cluster.id),
        false,
      );

      const sorted = ok(await call(t.app, owner, 'GET', '/clusters?sort_by=-plugin_name'), 200);
      assert.deepEqual(
        sorted.clusters.map((row: any) => row.plugin_name),
        ['spark', 'local'],
      );
      const filtered = ok(await call(t.app, owner, 'GET', '/clusters?plugin_name=spa&is_public=false'), 200);
      assert.deepEqual(
        filtered.clusters.map((row: any) => row.id),
        [cluster.id],
      );
      assertError(await call(t.app, owner, 'GET', '/clusters?node_groups=x'), 400, 'INVALID_PARAMS_ON_REQUEST');
      assertError(await call(t.app, owner, 'GET', '/clusters?sort_by=created_at'), 400, 400);
      assertError(await call(t.app, owner, 'GET', `/clusters/${randomUUID()}`), 404, 'NOT_FOUND');
    });

    test('registration refuses plugins no configured engine runs, and bad bodies', async () => {
      const project = newProject();
      const body = { name: 'sparky', plugin_name: 'spark', hadoop_version: '3.5.3', cluster_configs: { spark: {} } };
      // This app runs only the local engine, so no plugin can be registered.
      assertError(await call(t.app, project, 'POST', '/clusters', body), 400, 'INVALID_REFERENCE');
      assertError(
        await call(t.app, project, 'POST', '/clusters', { ...body, plugin_name: 'local' }),
        400,
        'INVALID_REFERENCE',
      );
      assertError(await call(t.app, project, 'POST', '/clusters', { name: 'x' }), 400, 'VALIDATION_ERROR');
      assertError(await call(t.app, project, 'POST', '/clusters', { ...body, surprise: 1 }), 400, 'VALIDATION_ERROR');
      assertError(
        await call(t.app, project, 'POST', '/clusters', { ...body, name: 'bad name' }),
        400,
        'VALIDATION_ERROR',
      );
    });

    test('the built-in local cluster cannot be deleted or changed', async () => {
      const project = newProject();
      assertError(await call(t.app, project, 'DELETE', `/clusters/${LOCAL_CLUSTER_ID}`), 400, 'DELETION_FAILED');
      assertError(await call(t.app, project, 'DELETE', `/clusters/${randomUUID()}`), 404, 'NOT_FOUND');
      assert.equal((await call(t.app, project, 'PUT', `/clusters/${LOCAL_CLUSTER_ID}`, {})).statusCode, 405);
      assertError(
        await call(t.app, project, 'PATCH', `/clusters/${LOCAL_CLUSTER_ID}`, { is_public: false }),
        400,
        'UPDATE_FAILED',
      );
      assertError(await call(t.app, project, 'PATCH', `/clusters/${randomUUID()}`, { name: 'x' }), 404, 'NOT_FOUND');
      // Even its owner: the project `oasis` could otherwise unprotect it, hide it and delete it.
      assertError(
        await call(t.app, 'oasis', 'PATCH', `/clusters/${LOCAL_CLUSTER_ID}`, { is_protected: false }),
        400,
        'UPDATE_FAILED',
      );
      assertError(await call(t.app, 'oasis', 'DELETE', `/clusters/${LOCAL_CLUSTER_ID}`), 400, 'DELETION_FAILED');
      const local = ok(await call(t.app, project, 'GET', `/clusters/${LOCAL_CLUSTER_ID}`), 200).cluster;
      assert.deepEqual([local.is_public, local.is_protected, local.name], [true, true, 'local']);
    });
  });

  /**
   * Under `noauth` the one trusted caller holds the admin role (docs/policy.md): it registers,
   * changes and deletes clusters as the README walks through.
   */
  describe(`registering, updating and deleting clusters under noauth (${dialect})`, () => {
    let t: TestApp;
    let engines: ClusterEngines;
    before(async () => {
      engines = await clusterEngines();
      t = await createTestApp({ dialect, engines: engines.engines });
    });
    after(async () => {
      await t.close();
      await engines.remove();
    });

    const register = async (project: string, extra: Record<string, unknown> = {}) =>
      ok(
        await call(t.app, project, 'POST', '/clusters', {
          name: `spark-${randomUUID().slice(0, 8)}`,
          plugin_name: 'spark',
          hadoop_version: '3.5.9',
          cluster_configs: { spark: NEVER_ANSWERS },
          ...extra,
        }),
        202,
      ).cluster as Record<string, any>;

    test('a registered cluster is checked, listed to its project only, and runs its jobs', async () => {
      const project = newProject();
      const cluster = await register(project, { description: 'the test master' });
      assert.deepEqual(Object.keys(cluster).sort(), SAHARA_CLUSTER_KEYS);
      assert.deepEqual(
        [cluster.tenant_id, cluster.plugin_name, cluster.status, cluster.is_public],
        [project, 'spark', 'Error', false],
      );
      assert.deepEqual(cluster.cluster_configs, { spark: NEVER_ANSWERS });
      assert.ok(
        ok(await call(t.app, project, 'GET', '/clusters'), 200).clusters.some((row: any) => row.id === cluster.id),
      );
      assertError(await call(t.app, newProject(), 'GET', `/clusters/${cluster.id}`), 404, 'NOT_FOUND');

      const template = await createShellTemplate(t.app, project, `on-${cluster.name}`);
      const execution = ok(
        await call(t.app, project, 'POST', `/jobs/${template.id}/execute`, { cluster_id: cluster.id }),
        202,
      ).job_execution;
      assert.equal(execution.cluster_id, cluster.id);
      // An unfinished execution keeps its cluster; once it is gone the cluster can go.
      assert.match(
        assertError(await call(t.app, project, 'DELETE', `/clusters/${cluster.id}`), 400, 'DELETION_FAILED'),
        /unfinished/,
      );
      assert.equal((await call(t.app, project, 'DELETE', `/job-executions/${execution.id}`)).statusCode, 204);
      await eventually(
        async () =>
          (await call(t.app, project, 'GET', `/job-executions/${execution.id}`)).statusCode === 404 || undefined,
        'the execution to go',
      );
      assert.equal((await call(t.app, project, 'DELETE', `/clusters/${cluster.id}`)).statusCode, 204);
      assertError(await call(t.app, project, 'GET', `/clusters/${cluster.id}`), 404, 'NOT_FOUND');
    });

    test("PATCH changes the name, description and flags, with Sahara's protection rules, never the settings", async () => {
      const project = newProject();
      const cluster = await register(project);
      const renamed = ok(
        await call(t.app, project, 'PATCH', `/clusters/${cluster.id}`, { name: 'renamed', description: 'new' }),
        202,
      ).cluster;
      assert.deepEqual(
        [renamed.name, renamed.description, renamed.cluster_configs],
        ['renamed', 'new', cluster.cluster_configs],
      );
      assert.ok(renamed.updated_at);
      assert.equal(
        ok(await call(t.app, project, 'PATCH', `/clusters/${cluster.id}`, { description: null }), 202).cluster
          .description,
        '',
      );

      for (const body of [
        { cluster_configs: { spark: { master: 'spark://elsewhere:7077' } } },
        { plugin_name: 'vanilla' },
        { hadoop_version: '9' },
        { status: 'Active' },
        { tenant_id: newProject() },
        { name: 'bad name' },
      ]) {
        assertError(await call(t.app, project, 'PATCH', `/clusters/${cluster.id}`, body), 400, 'VALIDATION_ERROR');
      }

      // Public: every project sees it and may run jobs on it, none may change it.
      ok(await call(t.app, project, 'PATCH', `/clusters/${cluster.id}`, { is_public: true, is_protected: true }), 202);
      const stranger = newProject();
      assert.equal(ok(await call(t.app, stranger, 'GET', `/clusters/${cluster.id}`), 200).cluster.is_public, true);
      assert.match(
        assertError(
          await call(t.app, stranger, 'PATCH', `/clusters/${cluster.id}`, { is_public: false }),
          400,
          'UPDATE_FAILED',
        ),
        /wasn't created in this tenant/,
      );
      assert.match(
        assertError(await call(t.app, stranger, 'DELETE', `/clusters/${cluster.id}`), 400, 'DELETION_FAILED'),
        /wasn't created in this tenant/,
      );

      // Protected: only publicity changes or unprotecting pass, and it cannot be deleted.
      assert.match(
        assertError(
          await call(t.app, project, 'PATCH', `/clusters/${cluster.id}`, { name: 'again' }),
          400,
          'UPDATE_FAILED',
        ),
        /protected/,
      );
      assert.match(
        assertError(await call(t.app, project, 'DELETE', `/clusters/${cluster.id}`), 400, 'DELETION_FAILED'),
        /protected/,
      );
      assert.equal(
        ok(await call(t.app, project, 'PATCH', `/clusters/${cluster.id}`, { is_public: false }), 202).cluster.is_public,
        false,
      );
      assertError(await call(t.app, stranger, 'GET', `/clusters/${cluster.id}`), 404, 'NOT_FOUND');
      const unprotected = ok(
        await call(t.app, project, 'PATCH', `/clusters/${cluster.id}`, { is_protected: false, name: 'again' }),
        202,
      ).cluster;
      assert.deepEqual([unprotected.name, unprotected.is_protected], ['again', false]);
      assert.equal((await call(t.app, project, 'DELETE', `/clusters/${cluster.id}`)).statusCode, 204);
    });
  });
}
