import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { before, describe, test } from 'node:test';

import { createSparkEngine } from '../../src/engines/spark/index.js';
import { testDialects } from '../support/databases.js';
import { Client } from '../support/client.js';
import {
  SKIP_REASON,
  SMALL_APP,
  type Fixtures,
  buildFixtures,
  driversOfExecution,
  masterJson,
  sparkCluster,
} from '../engines/spark/support.js';
import { isTerminal } from '../../src/store/statuses.js';
import { RestartableOasis } from './restart-support.js';
import { jobSandbox } from '../support/sandbox.js';

const cluster = sparkCluster();
/** Drivers and executors are JVMs on a small test cluster: generous, never asserted as a speed. */
const JOB_DEADLINE_MS = 180_000;
/** Long enough that the job is still running when the first Oasis stops. */
const SLEEP_SECONDS = '12';

for (const dialect of testDialects()) {
  describe(`Spark jobs survive an Oasis restart (${dialect})`, { skip: cluster ? false : SKIP_REASON }, () => {
    let fixtures: Fixtures;

    before(async () => {
      if (cluster) fixtures = await buildFixtures(cluster);
    });

    /**
     * An installation with the Spark engine staged under its data directory (as `main` does),
     * the test cluster registered through the API, and the given application uploaded as the
     * main of a Spark template. Returns what a test needs to execute it.
     */
    const installation = async (main: string) => {
      const oasis = await RestartableOasis.open(
        dialect,
        async (dataDir) =>
          new Map([
            [
              'spark',
              createSparkEngine({
                workDir: path.join(dataDir, 'spark'),
                nodeId: 'test-node',
                killGraceMs: 2_000,
                sandbox: jobSandbox(),
              }),
            ],
          ]),
      );
      const first = await oasis.start();
      const client = new Client(first.app, `spark-restart-${dialect}`);
      const registered = await client.request('POST', '/clusters', {
        name: `spark-${randomUUID().slice(0, 8)}`,
        plugin_name: 'spark',
        hadoop_version: '3.5.9',
        cluster_configs: {
          spark: {
            master: cluster!.masterUrl,
            rest_url: cluster!.restUrl,
            web_url: cluster!.webUrl,
            spark_home: cluster!.sparkHome,
          },
        },
      });
      assert.equal(registered.status, 202, JSON.stringify(registered.json));
      const binary = await client.binary(path.basename(main), await readFile(main));
      const template = await client.template({ type: 'Spark', mains: [binary] });
      return { oasis, client, clusterId: registered.json.cluster.id as string, template };
    };

    /** Stops the first Oasis while the job runs and starts a second on the same database and data directory. */
    const restart = async (oasis: RestartableOasis, project: string, id: string) => {
      await oasis.stop();
      const stored = await oasis.store.jobExecutions.get(id);
      assert.equal(stored?.status, 'RUNNING', 'the job must still run when the first Oasis stops');
      assert.equal(stored?.end_time, null);
      return new Client((await oasis.start()).app, project);
    };

    test('a JVM application in cluster mode is re-adopted: SUCCEEDED, same driver, launched once', async () => {
      const { oasis, client, clusterId, template } = await installation(fixtures.appJar);
      try {
        const started = await client.execute(template, {
          cluster_id: clusterId,
          job_configs: {
            configs: { ...SMALL_APP, 'edp.java.main_class': 'org.oasis.fixtures.Sleeper' },
            args: [SLEEP_SECONDS],
          },
        });
        assert.equal(started.status, 202, JSON.stringify(started.json));
        const id = started.json.job_execution.id as string;
        // The application id is known once the driver runs and has registered its application.
        const running = await client.waitFor(
          id,
          (row) => typeof row.info.app_id === 'string' || isTerminal(row.info.status),
          JOB_DEADLINE_MS,
        );
        assert.equal(running.info.status, 'RUNNING', JSON.stringify(running.info));
        assert.match(running.engine_job_id, /^driver-/);

        const second = await restart(oasis, client.project, id);
        const done = await second.waitFor(id, (row) => isTerminal(row.info.status), JOB_DEADLINE_MS);
        assert.equal(done.info.status, 'SUCCEEDED', JSON.stringify(done.info));
        assert.equal(done.engine_job_id, running.engine_job_id);
        assert.equal(done.oozie_job_id, running.engine_job_id);
        assert.equal(done.info.app_id, running.info.app_id);
        assert.notEqual(done.end_time, null);

        const drivers = await driversOfExecution(cluster!, 'org.oasis.fixtures.Sleeper', id);
        assert.deepEqual(
          drivers.map((driver) => ({ id: driver.id, state: driver.state })),
          [{ id: running.engine_job_id, state: 'FINISHED' }],
        );
      } finally {
        await oasis.dispose();
      }
    });

    test('a Python application in client mode is re-adopted: SUCCEEDED, same driver process', async () => {
      const { oasis, client, clusterId, template } = await installation(fixtures.python('sleeper.py'));
      try {
        const started = await client.execute(template, {
          cluster_id: clusterId,
          // Sahara's execute check asks every Spark job for a main class; a Python main ignores it.
          job_configs: { configs: { ...SMALL_APP, 'edp.java.main_class': 'sleeper' }, args: [SLEEP_SECONDS] },
        });
        assert.equal(started.status, 202, JSON.stringify(started.json));
        const id = started.json.job_execution.id as string;
        const running = await client.waitFor(
          id,
          (row) => typeof row.info.app_id === 'string' || isTerminal(row.info.status),
          JOB_DEADLINE_MS,
        );
        assert.equal(running.info.status, 'RUNNING', JSON.stringify(running.info));
        assert.match(running.engine_job_id, /^\d+@test-node$/);

        const second = await restart(oasis, client.project, id);
        const done = await second.waitFor(id, (row) => isTerminal(row.info.status), JOB_DEADLINE_MS);
        assert.equal(done.info.status, 'SUCCEEDED', JSON.stringify(done.info));
        assert.equal(done.return_code, '0');
        // The same driver process and the same Spark application: nothing was started again.
        assert.equal(done.engine_job_id, running.engine_job_id);
        assert.equal(done.info.app_id, running.info.app_id);
        const master = await masterJson(cluster!);
        const application = [...master.activeapps, ...master.completedapps].find(
          (app) => app.id === running.info.app_id,
        );
        assert.equal(application?.state, 'FINISHED');
      } finally {
        await oasis.dispose();
      }
    });
  });
}
