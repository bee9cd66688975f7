import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { LOCAL_CLUSTER_ID } from '../../src/store/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { testDialects } from '../support/databases.js';
import { assertError, call, newProject, ok } from '../support/resources.js';

/** Every key of Sahara's cluster object (samples/v1.1/clusters/clusters-list-response.json). */
const SAHARA_CLUSTER_KEYS = [
  'anti_affinity', 'cluster_configs', 'cluster_template_id', 'created_at', 'default_image_id', 'description', 'domain_name',
  'hadoop_version', 'id', 'info', 'is_protected', 'is_public', 'is_transient', 'management_public_key', 'name',
  'neutron_management_network', 'node_groups', 'plugin_name', 'provision_progress', 'shares', 'status', 'status_description',
  'tenant_id', 'trust_id', 'updated_at', 'use_autoconfig', 'user_keypair_id',
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
        assert.deepEqual([local.name, local.plugin_name, local.status, local.is_public], ['local', 'local', 'Active', true]);
        assert.deepEqual([local.node_groups, local.info, local.anti_affinity, local.default_image_id], [[], {}, [], null]);
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
      assert.equal(stranger.clusters.some((row: any) => row.id === cluster.id), false);

      const sorted = ok(await call(t.app, owner, 'GET', '/clusters?sort_by=-plugin_name'), 200);
      assert.deepEqual(sorted.clusters.map((row: any) => row.plugin_name), ['spark', 'local']);
      const filtered = ok(await call(t.app, owner, 'GET', '/clusters?plugin_name=spa&is_public=false'), 200);
      assert.deepEqual(filtered.clusters.map((row: any) => row.id), [cluster.id]);
      assertError(await call(t.app, owner, 'GET', '/clusters?node_groups=x'), 400, 'INVALID_PARAMS_ON_REQUEST');
      assertError(await call(t.app, owner, 'GET', '/clusters?sort_by=created_at'), 400, 400);
      assertError(await call(t.app, owner, 'GET', `/clusters/${randomUUID()}`), 404, 'NOT_FOUND');
    });

    test('registration refuses plugins no configured engine runs, and bad bodies', async () => {
      const project = newProject();
      const body = { name: 'sparky', plugin_name: 'spark', hadoop_version: '3.5.3', cluster_configs: { spark: {} } };
      // This app runs only the local engine, so no plugin can be registered.
      assertError(await call(t.app, project, 'POST', '/clusters', body), 400, 'INVALID_REFERENCE');
      assertError(await call(t.app, project, 'POST', '/clusters', { ...body, plugin_name: 'local' }), 400, 'INVALID_REFERENCE');
      assertError(await call(t.app, project, 'POST', '/clusters', { name: 'x' }), 400, 'VALIDATION_ERROR');
      assertError(await call(t.app, project, 'POST', '/clusters', { ...body, surprise: 1 }), 400, 'VALIDATION_ERROR');
      assertError(await call(t.app, project, 'POST', '/clusters', { ...body, name: 'bad name' }), 400, 'VALIDATION_ERROR');
    });

    test('the built-in local cluster cannot be deleted or changed', async () => {
      const project = newProject();
      assertError(await call(t.app, project, 'DELETE', `/clusters/${LOCAL_CLUSTER_ID}`), 400, 'DELETION_FAILED');
      assertError(await call(t.app, project, 'DELETE', `/clusters/${randomUUID()}`), 404, 'NOT_FOUND');
      assert.equal((await call(t.app, project, 'PUT', `/clusters/${LOCAL_CLUSTER_ID}`, {})).statusCode, 405);
    });
  });
}
