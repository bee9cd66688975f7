import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { InvalidJob } from '../../../src/engines/errors.js';
import { TransientEngineError, type Engine } from '../../../src/engines/engine.js';
import { createSparkEngine } from '../../../src/engines/spark/index.js';
import type { ClusterRecord } from '../../../src/store/types.js';
import {
  SKIP_REASON,
  SMALL_APP,
  buildFixtures,
  clusterRecord,
  expectedCounts,
  jobFile,
  jobSpec,
  masterJson,
  pollUntil,
  readCounts,
  refOf,
  sparkCluster,
  untilTerminal,
  type Fixtures,
} from './support.js';
import { jobSandbox } from '../../support/sandbox.js';

const cluster = sparkCluster();

describe('spark engine: JVM applications in cluster deploy mode', { skip: cluster ? false : SKIP_REASON }, () => {
  let engine: Engine;
  let record: ClusterRecord;
  let fixtures: Fixtures;
  let scratch: string;

  before(async () => {
    if (!cluster) return;
    scratch = await mkdtemp(path.join(tmpdir(), 'oasis-spark-cluster-'));
    engine = createSparkEngine({
      workDir: path.join(scratch, 'work'),
      nodeId: 'node-a',
      killGraceMs: 2_000,
      sandbox: jobSandbox(),
    });
    record = clusterRecord(cluster);
    fixtures = await buildFixtures(cluster);
  });

  after(async () => {
    await engine?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('counts the words of a real file into a real output directory', async () => {
    const text = 'the quick brown fox\njumps over the lazy dog\nthe dog sleeps  the fox runs\n'.repeat(50);
    const input = path.join(scratch, 'words.txt');
    const output = path.join(scratch, 'counts');
    await writeFile(input, text);
    const job = jobSpec({
      mains: [jobFile(fixtures.appJar)],
      configs: { ...SMALL_APP, 'edp.java.main_class': 'org.oasis.fixtures.WordCount' },
      args: [`file://${input}`, `file://${output}`],
    });
    engine.validate(job, record);
    const submission = await engine.submit(job, record);
    assert.match(submission.engineJobId, /^driver-/);
    assert.equal(submission.status.status, 'RUNNING');

    const ref = refOf(job, submission);
    const final = await untilTerminal(() => engine.status(ref, record));
    assert.equal(final.status, 'SUCCEEDED', JSON.stringify(final.info));
    assert.equal(final.info?.driver_state, 'FINISHED');
    assert.match(String(final.info?.app_id), /^app-/);
    assert.match(String(final.info?.app_ui_url), /\/app\/\?appId=app-/);
    assert.deepEqual(await readCounts(output), expectedCounts(text));

    await engine.cleanup(ref, record);
    await assert.rejects(readFile(path.join(String(submission.extra.staged_dir), 'oasis-fixtures.jar')));
  });

  it('puts libs on the class path, configs into Spark properties and args into main', async () => {
    const result = path.join(scratch, 'greeting.txt');
    const job = jobSpec({
      mains: [jobFile(fixtures.appJar)],
      libs: [jobFile(fixtures.libJar)],
      configs: {
        ...SMALL_APP,
        'edp.java.main_class': 'org.oasis.fixtures.Greeter',
        'spark.oasis.marker': 'marked',
        'not.a.spark.key': 'ignored',
      },
      args: [result, 'oasis'],
    });
    const ref = refOf(job, await engine.submit(job, record));
    const final = await untilTerminal(() => engine.status(ref, record));
    assert.equal(final.status, 'SUCCEEDED', JSON.stringify(final.info));
    assert.equal(await readFile(result, 'utf8'), 'hello oasis marked 4\n');
  });

  it('ends a throwing application DONEWITHERROR with the exception as the reason', async () => {
    const job = jobSpec({
      mains: [jobFile(fixtures.appJar)],
      configs: { ...SMALL_APP, 'edp.java.main_class': 'org.oasis.fixtures.Thrower' },
      args: ['on', 'purpose'],
    });
    const ref = refOf(job, await engine.submit(job, record));
    const final = await untilTerminal(() => engine.status(ref, record));
    assert.equal(final.status, 'DONEWITHERROR');
    assert.equal(final.info?.driver_state, 'FAILED');
    assert.match(String(final.info?.reason), /java\.lang\.IllegalStateException: oasis fixture failure: on purpose/);
  });

  it('cancels a long application: KILLED, and the application leaves the master', async () => {
    const job = jobSpec({
      mains: [jobFile(fixtures.appJar)],
      configs: { ...SMALL_APP, 'edp.java.main_class': 'org.oasis.fixtures.Sleeper' },
      args: ['600'],
    });
    const ref = refOf(job, await engine.submit(job, record));
    const running = await pollUntil(
      () => engine.status(ref, record),
      (status) => typeof status.info?.app_id === 'string' && status.info.app_state === 'RUNNING',
    );
    const appId = String(running.info?.app_id);
    assert.ok((await masterJson(cluster!)).activeapps.some((app) => app.id === appId));

    const cancelled = (await engine.cancel(ref, record)) ?? (await untilTerminal(() => engine.status(ref, record)));
    assert.equal(cancelled.status, 'KILLED');
    assert.equal((await engine.status(ref, record)).status, 'KILLED');
    await pollUntil(
      () => masterJson(cluster!),
      (master) => !master.activeapps.some((app) => app.id === appId),
    );
    // Cancelling an ended job changes nothing.
    assert.equal((await engine.cancel(ref, record))?.status, 'KILLED');
  });

  it('reports the cluster Active while its master answers, Error with the reason otherwise', async () => {
    const active = await engine.checkCluster(record);
    assert.equal(active.status, 'Active', active.description);
    assert.match(active.description, /ALIVE/);

    const dead = clusterRecord(cluster!, { web_url: 'http://127.0.0.1:9', rest_url: 'http://127.0.0.1:9' });
    const error = await engine.checkCluster(dead);
    assert.equal(error.status, 'Error');
    assert.match(error.description, /unreachable/);

    const noRest = clusterRecord(cluster!, { rest_url: 'http://127.0.0.1:9' });
    assert.equal((await engine.checkCluster(noRest)).status, 'Error');
  });

  it('treats an unreachable master as transient, never as the end of the job', async () => {
    const dead = clusterRecord(cluster!, { web_url: 'http://127.0.0.1:9', rest_url: 'http://127.0.0.1:9' });
    const job = jobSpec({
      mains: [jobFile(fixtures.appJar)],
      configs: { 'edp.java.main_class': 'org.oasis.fixtures.Sleeper' },
    });
    await assert.rejects(engine.submit(job, dead), TransientEngineError);
    const ref = { executionId: job.executionId, engineJobId: 'driver-20000101000000-0000', extra: { mode: 'cluster' } };
    await assert.rejects(engine.status(ref, dead), TransientEngineError);
    await assert.rejects(engine.cancel(ref, dead), TransientEngineError);
  });

  it('refuses what it cannot run with InvalidJob before anything starts', () => {
    const refused = (message: RegExp) => (error: unknown) => error instanceof InvalidJob && message.test(error.message);
    const jar = jobFile(fixtures.appJar);
    assert.deepEqual(engine.supportedJobTypes(record), ['Spark', 'Shell']);
    assert.throws(() => engine.validate(jobSpec({ mains: [jar] }), record), refused(/edp\.java\.main_class/));
    assert.throws(
      () => engine.validate(jobSpec({ jobType: 'Java', mains: [], libs: [jar] }), record),
      refused(/Java jobs do not run on spark clusters/),
    );
    const remote = { ...jar, url: 'hdfs://namenode/app.jar' };
    assert.throws(
      () => engine.validate(jobSpec({ mains: [remote], configs: { 'edp.java.main_class': 'x.Y' } }), record),
      refused(/internal-db/),
    );
    // The staged directory keeps the submission's record under this name.
    assert.throws(
      () =>
        engine.validate(
          jobSpec({
            mains: [jar],
            libs: [jobFile(fixtures.libJar, 'submission.json')],
            configs: { 'edp.java.main_class': 'x.Y' },
          }),
          record,
        ),
      refused(/'submission\.json' is reserved/),
    );
    const noSparkHome = clusterRecord(cluster!, { spark_home: undefined });
    delete noSparkHome.cluster_configs.spark?.spark_home;
    assert.throws(
      () => engine.validate(jobSpec({ mains: [jobFile(fixtures.python('fail.py'))] }), noSparkHome),
      refused(/spark_home/),
    );
  });
});
