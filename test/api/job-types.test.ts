import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { LOCAL_CLUSTER_ID } from '../../src/store/index.js';
import { JOB_TYPES } from '../../src/store/types.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { testDialects } from '../support/databases.js';
import { call, newProject, ok } from '../support/resources.js';

for (const dialect of testDialects()) {
  describe(`job-types (${dialect})`, () => {
    let t: TestApp;
    let localTypes: string[];
    before(async () => {
      t = await createTestApp({ dialect });
      const cluster = await t.store.clusters.get(LOCAL_CLUSTER_ID);
      localTypes = [...t.engines.get('local')!.supportedJobTypes(cluster!)];
    });
    after(() => t.close());

    const list = async (project: string, query = '') =>
      ok(await call(t.app, project, 'GET', `/job-types${query}`), 200).job_types as any[];

    test('lists the types the local engine runs, in Sahara order, with the local plugin', async () => {
      const types = await list(newProject());
      assert.ok(localTypes.length > 0);
      assert.deepEqual(
        types.map((entry) => entry.name),
        JOB_TYPES.filter((type) => localTypes.includes(type)),
      );
      for (const entry of types) {
        assert.deepEqual(entry.plugins, [
          {
            name: 'local',
            title: 'Local processes',
            description: entry.plugins[0].description,
            versions: { '1.0': {} },
          },
        ]);
        assert.equal(typeof entry.plugins[0].description, 'string');
      }
    });

    test('type, plugin and version filter; every parameter may repeat; unknown ones are ignored', async () => {
      const project = newProject();
      const [first, second] = localTypes;
      assert.deepEqual(
        (await list(project, `?type=${first}`)).map((entry) => entry.name),
        [first],
      );
      if (second) {
        const both = await list(project, `?type=${second}&type=${first}`);
        assert.deepEqual(both.map((entry) => entry.name).sort(), [first, second].sort());
      }
      assert.deepEqual(await list(project, '?type=Storm.Pyleus&type=Bogus'), []);
      assert.deepEqual(await list(project, '?plugin=vanilla'), []);
      assert.equal((await list(project, '?plugin=vanilla&plugin=local')).length, localTypes.length);
      assert.deepEqual(await list(project, '?version=9.9'), []);
      assert.equal((await list(project, '?version=1.0&whatever=1')).length, localTypes.length);
    });

    test('hints=true fills each version with the config hints of the type', async () => {
      const project = newProject();
      for (const entry of await list(project, '?hints=TRUE')) {
        const hints = ok(await call(t.app, project, 'GET', `/jobs/config-hints/${entry.name}`), 200);
        assert.deepEqual(entry.plugins[0].versions['1.0'], hints);
      }
      for (const entry of await list(project, '?hints=no')) assert.deepEqual(entry.plugins[0].versions['1.0'], {});
    });

    test("a project's own clusters add their versions; other projects do not see them", async () => {
      const project = newProject();
      await t.store.clusters.insert({
        id: randomUUID(),
        tenant_id: project,
        is_public: false,
        is_protected: false,
        name: 'second-local',
        description: '',
        plugin_name: 'local',
        hadoop_version: '2.0',
        engine: 'local',
        status: 'Active',
        status_description: '',
        cluster_configs: {},
      });
      for (const entry of await list(project))
        assert.deepEqual(Object.keys(entry.plugins[0].versions).sort(), ['1.0', '2.0']);
      assert.deepEqual((await list(project, '?version=2.0'))[0].plugins[0].versions, { '2.0': {} });
      for (const entry of await list(newProject())) assert.deepEqual(Object.keys(entry.plugins[0].versions), ['1.0']);
    });

    test('clusters whose engine is not running contribute nothing', async () => {
      const project = newProject();
      await t.store.clusters.insert({
        id: randomUUID(),
        tenant_id: project,
        is_public: false,
        is_protected: false,
        name: 'spark-without-engine',
        description: '',
        plugin_name: 'spark',
        hadoop_version: '3.5',
        engine: 'spark',
        status: 'Active',
        status_description: '',
        cluster_configs: {},
      });
      assert.deepEqual(await list(project, '?plugin=spark'), []);
    });
  });
}
