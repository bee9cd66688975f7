import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { JobStartError } from '../../../src/engines/engine.js';
import {
  clusterRecord,
  fileOf,
  fixturesJar,
  hadoopCluster,
  hdfsCat,
  hdfsPath,
  hdfsWriterJob,
  hdfsPut,
  jobSpec,
  newEngine,
  refOf,
  waitForEnd,
  yarnApplication,
} from './support.js';

const hadoop = await hadoopCluster();

// The jobs are independent YARN applications: running them side by side keeps the file short.
describe(
  'YARN engine jobs on a real cluster',
  { skip: !hadoop && 'no Hadoop test cluster (source scripts/hadoop.sh)', concurrency: true },
  () => {
    test('a MapReduce word count writes the right counts to HDFS', async () => {
      assert(hadoop);
      const engine = await newEngine(hadoop);
      const cluster = clusterRecord(hadoop);
      const input = hdfsPath(hadoop, 'words.txt');
      const output = hdfsPath(hadoop, 'counts');
      await hdfsPut(hadoop, input, 'apple banana apple\ncherry apple banana\n');
      const job = jobSpec('MapReduce', {
        libs: [fileOf('wordcount.jar', await fixturesJar(hadoop))],
        configs: {
          'mapreduce.job.map.class': 'oasis.fixtures.WordCount$TokenMapper',
          'mapreduce.job.reduce.class': 'oasis.fixtures.WordCount$SumReducer',
          'mapreduce.job.output.key.class': 'org.apache.hadoop.io.Text',
          'mapreduce.job.output.value.class': 'org.apache.hadoop.io.IntWritable',
        },
        inputUrl: input,
        outputUrl: output,
      });
      engine.validate(job, cluster);

      const submission = await engine.submit(job, cluster);
      assert.match(submission.engineJobId, /^application_\d+_\d+$/);
      const app = await yarnApplication(hadoop, submission.engineJobId);
      assert.equal(app.applicationTags, `oasis-${job.executionId}`);

      const end = await waitForEnd(engine, refOf(job.executionId, submission.engineJobId), cluster);
      assert.equal(end.status, 'SUCCEEDED', JSON.stringify(end.info));
      assert.equal(end.info?.yarn_state, 'FINISHED');
      assert.equal(end.info?.yarn_final_status, 'SUCCEEDED');
      assert.match(String(end.info?.tracking_url), /^http/);
      const counts = Object.fromEntries(
        (await hdfsCat(hadoop, output, 'part-r-'))
          .trim()
          .split('\n')
          .map((line) => line.split('\t')),
      );
      assert.deepEqual(counts, { apple: '3', banana: '2', cherry: '1' });
    });

    test('a streaming job with shell mapper and reducer succeeds', async () => {
      assert(hadoop);
      const engine = await newEngine(hadoop);
      const cluster = clusterRecord(hadoop);
      const input = hdfsPath(hadoop, 'lines.txt');
      const output = hdfsPath(hadoop, 'out');
      await hdfsPut(hadoop, input, 'one\ntwo\nthree\nfour\n');
      const job = jobSpec('MapReduce.Streaming', {
        configs: { 'edp.streaming.mapper': 'cat', 'edp.streaming.reducer': 'wc -l', 'mapreduce.job.reduces': '1' },
        inputUrl: input,
        outputUrl: output,
      });
      engine.validate(job, cluster);
      const submission = await engine.submit(job, cluster);
      const end = await waitForEnd(engine, refOf(job.executionId, submission.engineJobId), cluster);
      assert.equal(end.status, 'SUCCEEDED', JSON.stringify(end.info));
      assert.equal((await hdfsCat(hadoop, output, 'part-')).trim(), '4');
    });

    test('a Java job runs its main class with its args on YARN', async () => {
      assert(hadoop);
      const engine = await newEngine(hadoop);
      const cluster = clusterRecord(hadoop);
      const target = hdfsPath(hadoop, 'written.txt');
      const job = await hdfsWriterJob(hadoop, target, 'hello from a Java job');
      engine.validate(job, cluster);
      const submission = await engine.submit(job, cluster);
      const end = await waitForEnd(engine, refOf(job.executionId, submission.engineJobId), cluster);
      assert.equal(end.status, 'SUCCEEDED', JSON.stringify(end.info));
      assert.equal(await hdfsCat(hadoop, target), 'hello from a Java job');
    });

    test('a failing Java job ends FAILED with the exception it threw', async () => {
      assert(hadoop);
      const engine = await newEngine(hadoop);
      const cluster = clusterRecord(hadoop);
      const job = await hdfsWriterJob(hadoop, hdfsPath(hadoop, 'never'), 'fail');
      const submission = await engine.submit(job, cluster);
      const end = await waitForEnd(engine, refOf(job.executionId, submission.engineJobId), cluster);
      assert.equal(end.status, 'FAILED');
      assert.equal(end.info?.yarn_final_status, 'FAILED');
      assert.match(String(end.info?.diagnostics), /HdfsWriter was asked to fail/);
      assert.match(String(end.info?.reason), /HdfsWriter was asked to fail/);
    });

    test('a job whose input does not exist is refused at submit with the reason', async () => {
      assert(hadoop);
      const engine = await newEngine(hadoop);
      const cluster = clusterRecord(hadoop);
      const missing = hdfsPath(hadoop, 'missing');
      const job = jobSpec('MapReduce.Streaming', {
        configs: { 'edp.streaming.mapper': 'cat', 'edp.streaming.reducer': 'cat' },
        inputUrl: missing,
        outputUrl: hdfsPath(hadoop, 'out'),
      });
      await assert.rejects(engine.submit(job, cluster), (error: unknown) => {
        assert(error instanceof JobStartError);
        assert.match(error.message, /Input path does not exist/);
        return true;
      });
    });
  },
);
