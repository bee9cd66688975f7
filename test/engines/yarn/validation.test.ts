import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { createYarnEngine } from '../../../src/engines/yarn/index.js';
import { executionStatusOf } from '../../../src/engines/yarn/states.js';
import type { EngineCluster } from '../../../src/engines/engine.js';
import { ClusterSettingsInvalid, EngineError, InvalidJob } from '../../../src/engines/errors.js';
import { fileOf, jobSpec } from './support.js';

// Checks that need no cluster: registration settings, execute-time validation, state mapping.
const engine = createYarnEngine({ workDir: '/tmp/oasis-yarn-validation', nodeId: 'n' });
const cluster = {
  hadoop_version: '3.5.0',
  cluster_configs: { yarn: { resourcemanager: 'http://rm:8088', namenode: 'hdfs://nn:8020' } },
  name: 'yarn-validation',
} satisfies EngineCluster;

/** An engine refusal the API answers with INVALID_DATA: a job it cannot run, or bad cluster settings. */
function invalid(message: RegExp) {
  return (error: unknown) => {
    assert(error instanceof InvalidJob || error instanceof ClusterSettingsInvalid, String(error));
    assert(error instanceof EngineError);
    assert.match(error.message, message);
    return true;
  };
}

describe('YARN cluster settings', () => {
  test('minimal and full settings are accepted', () => {
    engine.validateCluster?.(cluster);
    engine.validateCluster?.({
      hadoop_version: '3.5.0',
      cluster_configs: {
        yarn: {
          resourcemanager: 'https://rm.example:8090/',
          namenode: 'hdfs://nn.example',
          resourcemanager_address: 'rm.example:8032',
          jobhistory: 'http://jhs:19888',
          hadoop_conf_dir: '/etc/hadoop/conf',
          properties: { 'mapreduce.job.queuename': 'etl', 'mapreduce.job.reduces': 2 },
          hadoop_classpath: '/opt/hadoop/share/hadoop/common/*',
          user: 'hadoop',
        },
      },
    });
  });

  test('every bad setting is named at once', () => {
    assert.throws(
      () =>
        engine.validateCluster?.({
          hadoop_version: 'latest',
          cluster_configs: {
            yarn: {
              resourcemanager: 'rm:8088',
              namenode: 'http://nn:8020',
              hadoop_conf_dir: 'conf',
              properties: { a: {} },
              colour: 'blue',
            },
          },
        }),
      (error: unknown) => {
        assert(error instanceof ClusterSettingsInvalid);
        for (const part of [
          'hadoop_version',
          'resourcemanager',
          'namenode',
          'hadoop_conf_dir',
          'properties.a',
          'colour',
        ]) {
          assert.match(error.message, new RegExp(part.replace('.', '\\.')));
        }
        return true;
      },
    );
    assert.throws(
      () => engine.validateCluster?.({ hadoop_version: '3.5.0', cluster_configs: {} }),
      invalid(/cluster_configs\.yarn/),
    );
  });
});

describe('YARN job validation', () => {
  test('Pig and Hive are refused as not supported yet', () => {
    assert.deepEqual([...engine.supportedJobTypes(cluster)], ['MapReduce', 'MapReduce.Streaming', 'Java']);
    assert.throws(
      () => engine.validate(jobSpec('Pig'), cluster),
      invalid(/Pig jobs are not supported on YARN clusters yet/),
    );
    assert.throws(
      () => engine.validate(jobSpec('Hive'), cluster),
      invalid(/Hive jobs are not supported on YARN clusters yet/),
    );
  });

  test('job-type requirements, binary URLs and data-source URLs', () => {
    assert.throws(() => engine.validate(jobSpec('Java'), cluster), invalid(/edp\.java\.main_class/));
    assert.throws(
      () =>
        engine.validate(
          jobSpec('MapReduce.Streaming', {
            configs: { 'edp.streaming.mapper': 'cat' },
            inputUrl: '/a',
            outputUrl: '/b',
          }),
          cluster,
        ),
      invalid(/edp\.streaming\.reducer/),
    );
    const swiftLib = { ...fileOf('x.jar', Buffer.alloc(0)), url: 'swift://container/x.jar' };
    assert.throws(
      () => engine.validate(jobSpec('MapReduce', { libs: [swiftLib] }), cluster),
      invalid(/internal-db:\/\/ and hdfs:\/\//),
    );
    assert.throws(
      () => engine.validate(jobSpec('MapReduce', { inputUrl: 's3a://bucket/in' }), cluster),
      invalid(/not on HDFS/),
    );
    engine.validate(jobSpec('MapReduce', { inputUrl: '/user/x/in', outputUrl: 'hdfs://nn:8020/user/x/out' }), cluster);
    const hdfsLib = { ...fileOf('x.jar', Buffer.alloc(0)), url: 'hdfs://nn:8020/jars/x.jar' };
    engine.validate(jobSpec('Java', { libs: [hdfsLib], configs: { 'edp.java.main_class': 'a.B' } }), cluster);
  });
});

test('YARN states map to Sahara statuses', () => {
  for (const state of ['NEW', 'NEW_SAVING', 'SUBMITTED', 'ACCEPTED', 'RUNNING'])
    assert.equal(executionStatusOf(state, 'UNDEFINED'), 'RUNNING');
  assert.equal(executionStatusOf('FINISHED', 'SUCCEEDED'), 'SUCCEEDED');
  assert.equal(executionStatusOf('FINISHED', 'FAILED'), 'FAILED');
  assert.equal(executionStatusOf('FINISHED', 'KILLED'), 'KILLED');
  assert.equal(executionStatusOf('FAILED', 'FAILED'), 'FAILED');
  assert.equal(executionStatusOf('KILLED', 'KILLED'), 'KILLED');
});
