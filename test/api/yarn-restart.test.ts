import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';

import { createYarnEngine } from '../../src/engines/yarn/index.js';
import { testDialects } from '../support/databases.js';
import { Client } from '../support/client.js';
import {
  type HadoopTestCluster,
  fixturesJar,
  hadoopCluster,
  hdfsCat,
  hdfsPath,
  yarnApplication,
} from '../engines/yarn/support.js';
import { isTerminal } from '../../src/store/statuses.js';
import { RestartableOasis } from './restart-support.js';

const hadoop = await hadoopCluster();
const SKIP = !hadoop && 'no Hadoop test cluster (source scripts/hadoop.sh && hadoop_start)';
/** YARN applications start containers and JVMs: generous, never asserted as a speed. */
const JOB_DEADLINE_MS = 240_000;
/** Long enough that the job is still running when the first Oasis stops. */
const SLEEP = 'sleep:12000';

/** The `cluster_configs.yarn` of the test cluster, as an operator would register it. */
async function yarnSettings(cluster: HadoopTestCluster): Promise<Record<string, unknown>> {
  // The RPC address from the cluster's own client configuration: a submission must never reach another cluster.
  const xml = await readFile(path.join(cluster.confDir, 'yarn-site.xml'), 'utf8');
  const address = /<name>yarn\.resourcemanager\.address<\/name><value>([^<]+)<\/value>/.exec(xml)?.[1];
  if (!address) throw new Error('yarn.resourcemanager.address is not in the test cluster configuration');
  return {
    resourcemanager: cluster.rmUrl,
    resourcemanager_address: address.replace(/^localhost:/, '127.0.0.1:'),
    namenode: cluster.nameNode,
    jobhistory: cluster.jobHistoryUrl,
    hadoop_conf_dir: cluster.confDir,
    hadoop_classpath: cluster.classpath,
  };
}

/** Every application the ResourceManager knows with this tag, whatever its state. */
async function applicationsTagged(cluster: HadoopTestCluster, tag: string): Promise<{ id: string; state: string }[]> {
  const response = await fetch(`${cluster.rmUrl}/ws/v1/cluster/apps?applicationTags=${encodeURIComponent(tag)}`);
  assert.equal(response.status, 200);
  const body = (await response.json()) as { apps: { app: { id: string; state: string }[] } | null };
  return (body.apps?.app ?? []).map(({ id, state }) => ({ id, state }));
}

for (const dialect of testDialects()) {
  describe(`YARN jobs survive an Oasis restart (${dialect})`, { skip: SKIP }, () => {
    test('a Java job running during a restart is re-adopted: SUCCEEDED, same application, submitted once', async () => {
      assert(hadoop);
      // The engine keeps its staging and launcher under the data directory, as `main` does.
      const oasis = await RestartableOasis.open(
        dialect,
        async (dataDir) =>
          new Map([
            [
              'yarn',
              createYarnEngine({
                workDir: path.join(dataDir, 'yarn'),
                nodeId: 'test-node',
                hadoopClasspath: hadoop.classpath,
              }),
            ],
          ]),
      );
      try {
        const first = new Client((await oasis.start()).app, `yarn-restart-${dialect}`);
        const registered = await first.request('POST', '/clusters', {
          name: `hadoop-${randomUUID().slice(0, 8)}`,
          plugin_name: 'vanilla',
          hadoop_version: '3.5.0',
          cluster_configs: { yarn: await yarnSettings(hadoop) },
        });
        assert.equal(registered.status, 202, JSON.stringify(registered.json));
        const jar = await first.binary('writer.jar', await fixturesJar(hadoop));
        const template = await first.template({ type: 'Java', libs: [jar] });
        const target = hdfsPath(hadoop, 'written.txt');
        const started = await first.execute(template, {
          cluster_id: registered.json.cluster.id,
          job_configs: { configs: { 'edp.java.main_class': 'oasis.fixtures.HdfsWriter' }, args: [target, SLEEP] },
        });
        assert.equal(started.status, 202, JSON.stringify(started.json));
        const id = started.json.job_execution.id as string;
        // Running on YARN, not only accepted: the job's container is up and the main sleeps.
        const running = await first.waitFor(
          id,
          (row) => row.info.yarn_state === 'RUNNING' || isTerminal(row.info.status),
          JOB_DEADLINE_MS,
        );
        assert.equal(running.info.status, 'RUNNING', JSON.stringify(running.info));
        assert.match(running.engine_job_id, /^application_\d+_\d+$/);

        await oasis.stop();
        const stored = await oasis.store.jobExecutions.get(id);
        assert.equal(stored?.status, 'RUNNING', 'the job must still run when the first Oasis stops');
        assert.equal(stored?.end_time, null);

        const second = new Client((await oasis.start()).app, first.project);
        const done = await second.waitFor(id, (row) => isTerminal(row.info.status), JOB_DEADLINE_MS);
        assert.equal(done.info.status, 'SUCCEEDED', JSON.stringify(done.info));
        assert.equal(done.engine_job_id, running.engine_job_id);
        assert.equal(done.oozie_job_id, running.engine_job_id);
        assert.equal(done.info.yarn_final_status, 'SUCCEEDED');
        assert.notEqual(done.end_time, null);

        // Submitted once: the only application tagged with the execution is the one adopted.
        assert.deepEqual(await applicationsTagged(hadoop, `oasis-${id}`), [
          { id: running.engine_job_id, state: 'FINISHED' },
        ]);
        assert.equal((await yarnApplication(hadoop, running.engine_job_id)).applicationTags, `oasis-${id}`);
        assert.equal(await hdfsCat(hadoop, target), SLEEP);
      } finally {
        await oasis.dispose();
      }
    });
  });
}
