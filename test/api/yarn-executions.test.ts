import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { type TestApp, createTestApp } from '../support/app.js';
import { testDialects } from '../support/databases.js';
import { Client } from '../support/client.js';
import {
  type HadoopTestCluster,
  fixturesJar,
  hadoopCluster,
  hdfsCat,
  hdfsPath,
  hdfsPut,
  newEngine,
  yarnApplication,
} from '../engines/yarn/support.js';

const hadoop = await hadoopCluster();
const SKIP = !hadoop && 'no Hadoop test cluster (source scripts/hadoop.sh && hadoop_start)';
/** YARN applications start containers and JVMs: generous, never asserted as a speed. */
const JOB_DEADLINE_MS = 240_000;
const TERMINAL = ['SUCCEEDED', 'FAILED', 'KILLED', 'DONEWITHERROR'];

/**
 * The ResourceManager's RPC address from the cluster's client configuration: the test cluster
 * may run on other ports than the defaults, and a submission must never reach another cluster.
 */
async function resourceManagerAddress(cluster: HadoopTestCluster): Promise<string> {
  const xml = await readFile(path.join(cluster.confDir, 'yarn-site.xml'), 'utf8');
  const address = /<name>yarn\.resourcemanager\.address<\/name><value>([^<]+)<\/value>/.exec(xml)?.[1];
  if (!address) throw new Error('yarn.resourcemanager.address is not in the test cluster configuration');
  return address.replace(/^localhost:/, '127.0.0.1:');
}

/** The `cluster_configs.yarn` of the test cluster, as an operator would register it. */
async function yarnSettings(cluster: HadoopTestCluster): Promise<Record<string, unknown>> {
  return {
    resourcemanager: cluster.rmUrl,
    resourcemanager_address: await resourceManagerAddress(cluster),
    namenode: cluster.nameNode,
    jobhistory: cluster.jobHistoryUrl,
    hadoop_conf_dir: cluster.confDir,
    hadoop_classpath: cluster.classpath,
  };
}

for (const dialect of testDialects()) {
  // The jobs are independent YARN applications: they run side by side once the cluster is registered.
  describe(`YARN jobs through the API (${dialect})`, { skip: SKIP, concurrency: true }, () => {
    let t: TestApp;
    let a: Client;
    let clusterId: string;

    const register = (yarn: Record<string, unknown>) =>
      a.request('POST', '/clusters', {
        name: `hadoop-${randomUUID().slice(0, 8)}`,
        plugin_name: 'vanilla',
        hadoop_version: '3.5.0',
        cluster_configs: { yarn },
      });

    before(async () => {
      if (!hadoop) return;
      t = await createTestApp({ dialect, engines: new Map([['yarn', await newEngine(hadoop)]]) });
      a = new Client(t.app, `yarn-${dialect}`);
      const registered = await register(await yarnSettings(hadoop));
      assert.equal(registered.status, 202, JSON.stringify(registered.json));
      clusterId = registered.json.cluster.id;
    });
    after(() => t?.close());

    const hdfsSource = async (url: string) => {
      const created = await a.request('POST', '/data-sources', {
        name: `ds-${randomUUID().slice(0, 8)}`,
        type: 'hdfs',
        url,
      });
      assert.equal(created.status, 202, JSON.stringify(created.json));
      return created.json.data_source.id as string;
    };

    const streaming = async (mapper: string, reducer: string, input: string, output: string) => {
      const template = await a.template({ type: 'MapReduce.Streaming' });
      const started = await a.execute(template, {
        cluster_id: clusterId,
        input_id: await hdfsSource(input),
        output_id: await hdfsSource(output),
        job_configs: {
          configs: { 'edp.streaming.mapper': mapper, 'edp.streaming.reducer': reducer, 'mapreduce.job.reduces': '1' },
        },
      });
      assert.equal(started.status, 202, JSON.stringify(started.json));
      return started.json.job_execution as Record<string, any>;
    };

    test('registration is checked: a bad setting is a 400 naming it, the real cluster is Active', async () => {
      const bad = await register({
        ...(await yarnSettings(hadoop!)),
        resourcemanager: 'hdfs://127.0.0.1:8088',
        nodes: 3,
      });
      assert.equal(bad.status, 400, JSON.stringify(bad.json));
      assert.equal(bad.json.error_name, 'INVALID_DATA');
      assert.match(
        bad.json.error_message,
        /cluster_configs\.yarn\.resourcemanager must be an http\(s\):\/\/host:port URL/,
      );
      assert.match(bad.json.error_message, /cluster_configs\.yarn\.nodes is not a known setting/);

      const shown = await a.request('GET', `/clusters/${clusterId}`);
      assert.equal(shown.status, 200);
      assert.equal(shown.json.cluster.status, 'Active', shown.json.cluster.status_description);
      assert.equal(shown.json.cluster.plugin_name, 'vanilla');
      assert.match(shown.json.cluster.status_description, /ResourceManager .* started/);
    });

    test('a streaming job reads its input data source and writes its output on HDFS', async () => {
      const input = hdfsPath(hadoop!, 'lines.txt');
      const output = hdfsPath(hadoop!, 'counted');
      await hdfsPut(hadoop!, input, 'one\ntwo\nthree\nfour\n');
      const started = await streaming('cat', 'wc -l', input, output);
      assert.equal(started.info.status, 'PENDING');

      const done = await a.waitFor(started.id, (row) => TERMINAL.includes(row.info.status), JOB_DEADLINE_MS);
      assert.equal(done.info.status, 'SUCCEEDED', JSON.stringify(done.info));
      assert.match(done.engine_job_id, /^application_\d+_\d+$/);
      assert.equal(done.oozie_job_id, done.engine_job_id);
      assert.equal(done.info.yarn_application_id, done.engine_job_id);
      assert.equal(done.info.yarn_state, 'FINISHED');
      assert.equal(done.info.yarn_final_status, 'SUCCEEDED');
      assert.notEqual(done.start_time, null);
      assert.notEqual(done.end_time, null);
      assert.deepEqual(Object.values(done.data_source_urls ?? {}).sort(), [input, output].sort());
      assert.equal((await hdfsCat(hadoop!, output, 'part-')).trim(), '4');

      const app = await yarnApplication(hadoop!, done.engine_job_id);
      assert.equal(app.state, 'FINISHED');
      assert.equal(app.applicationTags, `oasis-${started.id}`);
    });

    test('a MapReduce job runs its libs jar over the input and output data sources', async () => {
      const input = hdfsPath(hadoop!, 'words.txt');
      const output = hdfsPath(hadoop!, 'counts');
      await hdfsPut(hadoop!, input, 'apple banana apple\ncherry apple banana\n');
      const jar = await a.binary('wordcount.jar', await fixturesJar(hadoop!));
      const template = await a.template({ type: 'MapReduce', libs: [jar] });
      const started = await a.execute(template, {
        cluster_id: clusterId,
        input_id: await hdfsSource(input),
        output_id: await hdfsSource(output),
        job_configs: {
          configs: {
            'mapreduce.job.map.class': 'oasis.fixtures.WordCount$TokenMapper',
            'mapreduce.job.reduce.class': 'oasis.fixtures.WordCount$SumReducer',
            'mapreduce.job.output.key.class': 'org.apache.hadoop.io.Text',
            'mapreduce.job.output.value.class': 'org.apache.hadoop.io.IntWritable',
          },
        },
      });
      assert.equal(started.status, 202, JSON.stringify(started.json));
      const id = started.json.job_execution.id as string;
      const done = await a.waitFor(id, (row) => TERMINAL.includes(row.info.status), JOB_DEADLINE_MS);
      assert.equal(done.info.status, 'SUCCEEDED', JSON.stringify(done.info));
      assert.match(done.engine_job_id, /^application_\d+_\d+$/);
      const counts = Object.fromEntries(
        (await hdfsCat(hadoop!, output, 'part-r-'))
          .trim()
          .split('\n')
          .map((line) => line.split('\t')),
      );
      assert.deepEqual(counts, { apple: '3', banana: '2', cherry: '1' });
    });

    test('cancel kills a long-running job: KILLED in Oasis and on YARN', async () => {
      const input = hdfsPath(hadoop!, 'one-line.txt');
      await hdfsPut(hadoop!, input, 'x\n');
      const started = await streaming('sleep 600', 'cat', input, hdfsPath(hadoop!, 'never'));
      const running = await a.waitFor(
        started.id,
        (row) => row.engine_job_id !== null || TERMINAL.includes(row.info.status),
        JOB_DEADLINE_MS,
      );
      assert.equal(running.info.status, 'RUNNING', JSON.stringify(running.info));
      const applicationId = running.engine_job_id as string;

      const cancel = await a.request('GET', `/job-executions/${started.id}/cancel`);
      assert.equal(cancel.status, 200, JSON.stringify(cancel.json));
      const killed = await a.waitFor(started.id, (row) => TERMINAL.includes(row.info.status), JOB_DEADLINE_MS);
      assert.equal(killed.info.status, 'KILLED', JSON.stringify(killed.info));
      assert.notEqual(killed.end_time, null);
      assert.equal(killed.engine_job_id, applicationId);
      assert.equal((await yarnApplication(hadoop!, applicationId)).state, 'KILLED');
    });
  });
}
