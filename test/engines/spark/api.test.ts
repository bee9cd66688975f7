import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { createSparkEngine } from '../../../src/engines/spark/index.js';
import { createTestApp, type TestApp } from '../../support/app.js';
import { call, createDataSource, createTemplate, newProject, ok, uploadJbi } from '../../support/resources.js';
import {
  SKIP_REASON,
  SMALL_APP,
  buildFixtures,
  expectedCounts,
  masterJson,
  pollUntil,
  readCounts,
  sparkCluster,
  type Fixtures,
} from './support.js';
import { jobSandbox } from '../../support/sandbox.js';

const cluster = sparkCluster();
const TERMINAL = ['SUCCEEDED', 'FAILED', 'KILLED', 'DONEWITHERROR'];

describe('spark jobs through the API', { skip: cluster ? false : SKIP_REASON }, () => {
  let t: TestApp;
  let fixtures: Fixtures;
  let scratch: string;
  const project = newProject();

  before(async () => {
    if (!cluster) return;
    scratch = await mkdtemp(path.join(tmpdir(), 'oasis-spark-api-'));
    const spark = createSparkEngine({
      workDir: path.join(scratch, 'spark'),
      nodeId: 'test-node',
      killGraceMs: 2_000,
      sandbox: jobSandbox(),
    });
    t = await createTestApp({ dialect: 'sqlite', engines: new Map([['spark', spark]]) });
    fixtures = await buildFixtures(cluster);
  });

  after(async () => {
    await t?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  const registerCluster = async (spark: Record<string, unknown>) =>
    call(t.app, project, 'POST', '/clusters', {
      name: `spark-${Math.random().toString(36).slice(2, 8)}`,
      plugin_name: 'spark',
      hadoop_version: '3.5.9',
      cluster_configs: { spark },
    });

  let appJar: Promise<Record<string, any>> | undefined;
  const appJarBinary = () => (appJar ??= binaryOf(fixtures.appJar));
  const binaryOf = async (file: string) => {
    const jbi = await uploadJbi(t.app, project, path.basename(file), await readFile(file));
    const response = await call(t.app, project, 'POST', '/job-binaries', {
      name: path.basename(file),
      url: `internal-db://${jbi.id}`,
    });
    return ok(response, 202).job_binary as Record<string, any>;
  };

  const execution = async (id: string) =>
    ok(await call(t.app, project, 'GET', `/job-executions/${id}`), 200).job_execution as Record<string, any>;

  it('registers the cluster checked, then counts words from a file data source into another', async () => {
    const refused = await registerCluster({ master: 'http://nope', rest_url: cluster!.restUrl });
    assert.equal(refused.statusCode, 400, refused.body);
    assert.match(refused.json().error_message, /spark:\/\/host:port/);

    const registered = ok(
      await registerCluster({
        master: cluster!.masterUrl,
        rest_url: cluster!.restUrl,
        web_url: cluster!.webUrl,
        spark_home: cluster!.sparkHome,
      }),
      202,
    ).cluster as Record<string, any>;
    assert.equal(registered.status, 'Active');

    const text = 'one two three two three three\n'.repeat(30);
    await writeFile(path.join(scratch, 'in.txt'), text);
    await createDataSource(t.app, project, { name: 'words-in', type: 'file', url: `file://${scratch}/in.txt` });
    await createDataSource(t.app, project, {
      name: 'words-out',
      type: 'file',
      url: `file://${scratch}/out-%JOB_EXEC_ID%`,
    });

    const jar = await appJarBinary();
    const template = await createTemplate(t.app, project, { name: 'wordcount', type: 'Spark', mains: [jar.id] });
    const started = ok(
      await call(t.app, project, 'POST', `/jobs/${template.id}/execute`, {
        cluster_id: registered.id,
        job_configs: {
          configs: {
            ...SMALL_APP,
            'edp.java.main_class': 'org.oasis.fixtures.WordCount',
            'edp.substitute_data_source_for_name': true,
          },
          args: ['datasource://words-in', 'datasource://words-out'],
        },
      }),
      202,
    ).job_execution as Record<string, any>;

    const done = await pollUntil(
      () => execution(started.id),
      (row) => TERMINAL.includes(row.info.status),
    );
    assert.equal(done.info.status, 'SUCCEEDED', JSON.stringify(done.info));
    assert.match(done.oozie_job_id, /^driver-/);
    assert.match(String(done.info.app_id), /^app-/);
    assert.deepEqual(await readCounts(path.join(scratch, `out-${started.id}`)), expectedCounts(text));
  });

  it('cancels a long job through the API: KILLED, gone from the master', async () => {
    const registered = ok(
      await registerCluster({ master: cluster!.masterUrl, rest_url: cluster!.restUrl, web_url: cluster!.webUrl }),
      202,
    ).cluster as Record<string, any>;
    const jar = await appJarBinary();
    const template = await createTemplate(t.app, project, { name: 'sleeper', type: 'Spark', mains: [jar.id] });
    const started = ok(
      await call(t.app, project, 'POST', `/jobs/${template.id}/execute`, {
        cluster_id: registered.id,
        job_configs: { configs: { ...SMALL_APP, 'edp.java.main_class': 'org.oasis.fixtures.Sleeper' }, args: ['600'] },
      }),
      202,
    ).job_execution as Record<string, any>;
    const running = await pollUntil(
      () => execution(started.id),
      (row) => typeof row.info.app_id === 'string',
    );
    assert.equal(running.info.status, 'RUNNING');

    ok(await call(t.app, project, 'GET', `/job-executions/${started.id}/cancel`), 200);
    const killed = await pollUntil(
      () => execution(started.id),
      (row) => TERMINAL.includes(row.info.status),
    );
    assert.equal(killed.info.status, 'KILLED');
    await pollUntil(
      () => masterJson(cluster!),
      (master) => !master.activeapps.some((app) => app.id === running.info.app_id),
    );
  });
});
