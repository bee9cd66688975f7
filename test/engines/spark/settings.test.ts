import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ClusterSettingsInvalid } from '../../../src/engines/errors.js';
import { validateSparkCluster, sparkSettingsOf } from '../../../src/engines/spark/settings.js';
import { applicationIdIn, failureReasonIn, statusOfDriverState } from '../../../src/engines/spark/states.js';
import type { ClusterRecord } from '../../../src/store/types.js';

const registration = (spark: unknown, hadoop_version = '3.5.9') => ({
  hadoop_version,
  cluster_configs: { spark } as Record<string, Record<string, unknown>>,
});

function problemsOf(cluster: ReturnType<typeof registration>): string {
  try {
    validateSparkCluster(cluster);
  } catch (error) {
    assert.ok(error instanceof ClusterSettingsInvalid);
    return error.message;
  }
  return '';
}

describe('spark cluster settings', () => {
  it('accepts a master and a REST server, deriving the web UI from the master host', () => {
    const cluster = registration({ master: 'spark://10.0.0.5:7077', rest_url: 'http://10.0.0.5:6066/' });
    assert.equal(problemsOf(cluster), '');
    const settings = sparkSettingsOf({ ...cluster, id: 'c' } as ClusterRecord);
    assert.equal(settings.master, 'spark://10.0.0.5:7077');
    assert.equal(settings.restUrl, 'http://10.0.0.5:6066');
    assert.equal(settings.webUrl, 'http://10.0.0.5:8080');
    assert.equal(settings.python, 'python3');
    assert.equal(
      sparkSettingsOf({ ...registration({ master: 'spark://m', rest_url: 'http://m:6066' }), id: 'c' } as ClusterRecord)
        .master,
      'spark://m:7077',
    );
  });

  it('names every bad setting at once', () => {
    const message = problemsOf(
      registration(
        {
          master: 'http://10.0.0.5:7077',
          rest_url: 'spark://x',
          web_url: 'ftp://x',
          shared_dir: 'relative/dir',
          spark_home: 42,
          colour: 'blue',
        },
        'latest',
      ),
    );
    for (const fragment of ['hadoop_version', 'master', 'rest_url', 'web_url', 'shared_dir', 'spark_home', 'colour']) {
      assert.match(message, new RegExp(fragment));
    }
  });

  it('requires the spark section', () => {
    assert.match(problemsOf({ hadoop_version: '3.5.9', cluster_configs: {} }), /cluster_configs\.spark/);
    assert.match(problemsOf(registration({ master: 'spark://m:7077' })), /rest_url/);
  });
});

describe('spark driver states', () => {
  it('maps every driver state to a Sahara status, an unknown driver included', () => {
    const expected: Record<string, string> = {
      SUBMITTED: 'RUNNING',
      RUNNING: 'RUNNING',
      RELAUNCHING: 'RUNNING',
      UNKNOWN: 'RUNNING',
      FINISHED: 'SUCCEEDED',
      FAILED: 'DONEWITHERROR',
      ERROR: 'FAILED',
      KILLED: 'KILLED',
    };
    for (const [state, status] of Object.entries(expected)) assert.equal(statusOfDriverState(state), status, state);
    assert.equal(statusOfDriverState(undefined), 'FAILED');
  });

  it('finds the application id and the innermost cause in driver logs', () => {
    const log = [
      '26/11/29 04:59:55 INFO StandaloneSchedulerBackend: Connected to Spark cluster with app ID app-20261129045955-0000',
      'Exception in thread "main" java.lang.reflect.InvocationTargetException',
      '\tat java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)',
      'Caused by: java.lang.IllegalStateException: boom',
      '\t... 6 more',
      '26/11/29 04:59:18 INFO ShutdownHookManager: Shutdown hook called',
    ].join('\n');
    assert.equal(applicationIdIn(log), 'app-20261129045955-0000');
    assert.equal(failureReasonIn(log), 'java.lang.IllegalStateException: boom');
    const python = 'Traceback (most recent call last):\n  File "x.py", line 2, in <module>\nValueError: bad input\n';
    assert.equal(failureReasonIn(python), 'ValueError: bad input');
    assert.equal(failureReasonIn('all fine\n'), undefined);
  });
});
