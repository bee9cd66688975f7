import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';

import { TransientEngineError } from '../../../src/engines/engine.js';
import {
  clusterRecord,
  hadoopCluster,
  hdfsCat,
  hdfsPath,
  hdfsWriterJob,
  jobSpec,
  newEngine,
  refOf,
  waitForEnd,
  yarnApplication,
} from './support.js';

const hadoop = await hadoopCluster();

describe(
  'YARN engine control on a real cluster',
  { skip: !hadoop && 'no Hadoop test cluster (source scripts/hadoop.sh)', concurrency: true },
  () => {
    test('cancel kills the application on YARN', async () => {
      assert(hadoop);
      const engine = await newEngine(hadoop);
      const cluster = clusterRecord(hadoop);
      const job = await hdfsWriterJob(hadoop, hdfsPath(hadoop, 'never'), 'sleep:600000');
      const submission = await engine.submit(job, cluster);
      const ref = refOf(job.executionId, submission.engineJobId);
      assert.equal((await engine.status(ref, cluster)).status, 'RUNNING');

      const cancelled = (await engine.cancel(ref, cluster)) ?? (await waitForEnd(engine, ref, cluster));
      assert.equal(cancelled.status, 'KILLED');
      assert.equal((await yarnApplication(hadoop, submission.engineJobId)).state, 'KILLED');
      // Cancelling again is harmless and reports the same end.
      assert.equal((await engine.cancel(ref, cluster))?.status, 'KILLED');
    });

    test('a new engine instance re-adopts a running job, by id and by its tag', async () => {
      assert(hadoop);
      const cluster = clusterRecord(hadoop);
      const target = hdfsPath(hadoop, 'adopted.txt');
      const job = await hdfsWriterJob(hadoop, target, 'sleep:5000');
      const first = await newEngine(hadoop);
      const submission = await first.submit(job, cluster);
      await first.close();

      // As after a restart: another instance, its own (empty) work directory.
      const second = await newEngine(hadoop, await mkdtemp(path.join(os.tmpdir(), 'oasis-yarn-restarted-')));
      const again = await second.submit(job, cluster);
      assert.equal(again.engineJobId, submission.engineJobId, 'the tagged application is adopted, not submitted twice');
      const end = await waitForEnd(second, refOf(job.executionId, submission.engineJobId), cluster);
      assert.equal(end.status, 'SUCCEEDED', JSON.stringify(end.info));
      assert.equal(await hdfsCat(hadoop, target), 'sleep:5000');
    });

    test('checkCluster: Active while the RM and NameNode answer, Error otherwise', async () => {
      assert(hadoop);
      const engine = await newEngine(hadoop);
      const healthy = await engine.checkCluster(clusterRecord(hadoop));
      assert.equal(healthy.status, 'Active', healthy.description);

      const noRm = await engine.checkCluster(clusterRecord(hadoop, { resourcemanager: 'http://127.0.0.1:9' }));
      assert.equal(noRm.status, 'Error');
      assert.match(noRm.description, /ResourceManager/);
      const noNameNode = await engine.checkCluster(clusterRecord(hadoop, { namenode: 'hdfs://127.0.0.1:9' }));
      assert.equal(noNameNode.status, 'Error');
      assert.match(noNameNode.description, /NameNode/);
    });

    test('an unreachable RM is transient, never a failure', async () => {
      assert(hadoop);
      const engine = await newEngine(hadoop);
      const unreachable = clusterRecord(hadoop, { resourcemanager: 'http://127.0.0.1:9' });
      await assert.rejects(engine.status(refOf('x', 'application_1_0001'), unreachable), TransientEngineError);
      await assert.rejects(engine.cancel(refOf('x', 'application_1_0001'), unreachable), TransientEngineError);
      await assert.rejects(
        engine.submit(jobSpec('Java', { configs: { 'edp.java.main_class': 'A' } }), unreachable),
        TransientEngineError,
      );
    });
  },
);
