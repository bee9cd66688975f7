import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type TestApp, createTestApp } from '../support/app.js';
import { openTestStore, outsider, type Outsider, type TestDatabase, testDialects } from '../support/databases.js';
import { type ClusterEngines, clusterEngines } from '../support/engines.js';
import { LOCAL_CLUSTER_ID } from '../../src/store/index.js';
import { Client } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { insertCluster, insertExecution, insertSparkCluster } from '../support/rows.js';

const SLEEPER = 'sleep 30\n';

for (const dialect of testDialects()) {
  describe(`v1.1 job executions (${dialect})`, () => {
    let t: TestApp;
    let clusters: ClusterEngines;
    let a: Client;
    /** A Hadoop cluster (the real YARN engine) that is not Active: the launcher leaves its jobs PENDING. */
    let spawning: string;
    /** An Active Hadoop cluster where nothing listens: the real engine's submit is retried, jobs stay PENDING. */
    let unreachable: string;
    /** An Active Spark cluster where nothing listens (the real Spark engine). */
    let spark: string;
    let shell: string;

    before(async () => {
      clusters = await clusterEngines();
      t = await createTestApp({ dialect, engines: clusters.engines });
      a = new Client(t.app, 'tenant-a');
      spawning = (await insertCluster(t.store, { status: 'Spawning' })).id;
      unreachable = (await insertCluster(t.store)).id;
      spark = (await insertSparkCluster(t.store)).id;
      shell = await a.shellTemplate('exit 0\n');
    });
    after(async () => {
      await t.close();
      await clusters.remove();
    });

    /** A template of `type` with the binaries its type asks for (docs/compatibility.md#job-types-and-binaries): libs only, none, or mains. */
    const template = async (type: string, extra: Record<string, unknown> = {}) => {
      const needsLibs = type === 'Java' || type === 'MapReduce';
      const noMains = needsLibs || type === 'MapReduce.Streaming';
      const binary = noMains && !needsLibs ? [] : [await a.binary(`b-${randomUUID().slice(0, 8)}.jar`, 'x')];
      return a.template({ type, ...(noMains ? { libs: binary } : { mains: binary }), ...extra });
    };
    const expectError = (
      response: { status: number; json: Record<string, any> },
      status: number,
      name: string | number,
    ) => {
      assert.equal(response.status, status, JSON.stringify(response.json));
      assert.equal(response.json.error_name, name, JSON.stringify(response.json));
    };

    describe('execute', () => {
      test('an execute body must follow the JE_CREATE schema', async () => {
        const mapReduce = await template('MapReduce');
        const v1 = await a.execute(mapReduce, {});
        expectError(v1, 400, 'VALIDATION_ERROR');
        assert.match(v1.json.error_message, /'cluster_id' is a required property/);
        const v2 = await a.execute(mapReduce, { cluster_id: 'abc' });
        expectError(v2, 400, 'VALIDATION_ERROR');
        assert.match(v2.json.error_message, /is not a 'uuid'/);
        expectError(await a.execute(mapReduce, { cluster_id: spawning, foo: 1 }), 400, 'VALIDATION_ERROR');
        expectError(
          await a.execute(mapReduce, { cluster_id: spawning, job_configs: { configs: { x: 1.5 } } }),
          400,
          'VALIDATION_ERROR',
        );
        expectError(
          await a.execute(mapReduce, { cluster_id: spawning, job_configs: { args: 'a' } }),
          400,
          'VALIDATION_ERROR',
        );
        expectError(
          await a.execute(mapReduce, { cluster_id: spawning, job_configs: { bogus: {} } }),
          400,
          'VALIDATION_ERROR',
        );
        expectError(
          await a.execute(mapReduce, { cluster_id: spawning, job_execution_info: {} }),
          400,
          'VALIDATION_ERROR',
        );
        expectError(await a.execute(mapReduce, { cluster_id: spawning, input_id: null }), 400, 'VALIDATION_ERROR');
      });

      test('unknown or private foreign cluster is INVALID_REFERENCE', async () => {
        expectError(await a.execute(shell, { cluster_id: randomUUID() }), 400, 'INVALID_REFERENCE');
        const foreign = await insertCluster(t.store, { tenant_id: 'tenant-o', engine: 'local' });
        expectError(await a.execute(shell, { cluster_id: foreign.id }), 400, 'INVALID_REFERENCE');
      });

      test('unknown template is 404, checked before the body', async () => {
        expectError(await a.execute(randomUUID(), { cluster_id: LOCAL_CLUSTER_ID }), 404, 'NOT_FOUND');
        expectError(await a.execute(randomUUID(), {}), 404, 'NOT_FOUND');
      });

      test('Java and Spark executions need a main class', async () => {
        const java = await template('Java');
        expectError(await a.execute(java, { cluster_id: spawning }), 400, 'INVALID_DATA');
        expectError(
          await a.execute(java, { cluster_id: spawning, job_configs: { configs: { 'edp.java.main_class': '' } } }),
          400,
          'INVALID_DATA',
        );
        const ok = await a.execute(java, {
          cluster_id: spawning,
          job_configs: { configs: { 'edp.java.main_class': 'org.Main' } },
        });
        assert.equal(ok.status, 202);
        assert.equal(ok.json.job_execution.info.status, 'PENDING');
        const sparkApp = await template('Spark');
        expectError(await a.execute(sparkApp, { cluster_id: spark }), 400, 'INVALID_DATA');
        expectError(
          await a.execute(sparkApp, { cluster_id: spark, job_configs: { configs: { 'edp.java.main_class': ' ' } } }),
          400,
          'INVALID_DATA',
        );
        const accepted = await a.execute(sparkApp, {
          cluster_id: spark,
          job_configs: { configs: { 'edp.java.main_class': 'org.Main' } },
        });
        assert.equal(accepted.status, 202, JSON.stringify(accepted.json));
        assert.equal(accepted.json.job_execution.info.status, 'PENDING');
      });

      test('MapReduce executions need distinct input and output data sources', async () => {
        const mapReduce = await template('MapReduce');
        expectError(await a.execute(mapReduce, { cluster_id: spawning }), 400, 'INVALID_DATA');
        const output = await a.dataSource();
        expectError(
          await a.execute(mapReduce, { cluster_id: spawning, input_id: randomUUID(), output_id: output }),
          400,
          'INVALID_REFERENCE',
        );
        const url = 'hdfs://namenode/same';
        const input = await a.dataSource({ url });
        const sameOutput = await a.dataSource({ url });
        const same = await a.execute(mapReduce, { cluster_id: spawning, input_id: input, output_id: sameOutput });
        expectError(same, 400, 'INVALID_DATA');
        assert.match(same.json.error_message, /reference the same location: hdfs:\/\/namenode\/same/);
      });

      test('Streaming executions need a mapper and a reducer', async () => {
        const streaming = await a.template({ type: 'MapReduce.Streaming' });
        const input = await a.dataSource();
        const output = await a.dataSource();
        const body = { cluster_id: spawning, input_id: input, output_id: output };
        expectError(await a.execute(streaming, body), 400, 'INVALID_DATA');
        const ok = await a.execute(streaming, {
          ...body,
          job_configs: { configs: { 'edp.streaming.mapper': '/bin/cat', 'edp.streaming.reducer': '/usr/bin/wc' } },
        });
        assert.equal(ok.status, 202, JSON.stringify(ok.json));
      });

      test('Shell without configs; is_public is accepted and ignored', async () => {
        const response = await a.execute(shell, { cluster_id: LOCAL_CLUSTER_ID, is_public: true, is_protected: true });
        assert.equal(response.status, 202);
        const execution = response.json.job_execution;
        assert.equal(execution.is_public, false);
        assert.equal(execution.is_protected, false);
        assert.deepEqual(execution.info, { status: 'PENDING' });
        assert.deepEqual(execution.job_configs, { job_execution_info: {} });
        for (const key of [
          'start_time',
          'end_time',
          'engine_job_id',
          'oozie_job_id',
          'return_code',
          'data_source_urls',
          'updated_at',
        ]) {
          assert.equal(execution[key], null, key);
        }
        assert.equal('extra' in execution, false);
        assert.equal('lease_owner' in execution, false);
        await a.waitForStatus(execution.id, 'SUCCEEDED');
      });

      test('a cluster that is not Active keeps the execution PENDING', async () => {
        const mapReduce = await template('MapReduce');
        const response = await a.execute(mapReduce, {
          cluster_id: spawning,
          input_id: await a.dataSource(),
          output_id: await a.dataSource(),
        });
        assert.equal(response.status, 202);
        t.executions.wake();
        const row = await a.execution(response.json.job_execution.id);
        assert.equal(row.info.status, 'PENDING');
        assert.equal(row.start_time, null);
      });

      test('an Active cluster that does not answer keeps the execution PENDING', async () => {
        const mapReduce = await template('MapReduce');
        const onYarn = await a.execute(mapReduce, {
          cluster_id: unreachable,
          input_id: await a.dataSource(),
          output_id: await a.dataSource(),
        });
        assert.equal(onYarn.status, 202, JSON.stringify(onYarn.json));
        const sparkApp = await template('Spark');
        const onSpark = await a.execute(sparkApp, {
          cluster_id: spark,
          job_configs: { configs: { 'edp.java.main_class': 'org.Main' } },
        });
        assert.equal(onSpark.status, 202, JSON.stringify(onSpark.json));
        // A launcher pass starts local jobs, then tries the remote ones (the real engines, which
        // cannot reach their clusters). A local job created after another one ended is started by
        // a later pass, so once it has run, a whole pass over the remote executions has finished.
        for (let pass = 0; pass < 2; pass += 1) await a.waitForStatus(await a.run(shell), 'SUCCEEDED');
        for (const id of [onYarn.json.job_execution.id, onSpark.json.job_execution.id]) {
          const row = await a.execution(id);
          assert.equal(row.info.status, 'PENDING', JSON.stringify(row));
          assert.equal(row.start_time, null);
          assert.equal(row.engine_job_id, null);
        }
      });

      test('an engine without the job type is INVALID_REFERENCE', async () => {
        const mapReduce = await template('MapReduce');
        const response = await a.execute(mapReduce, {
          cluster_id: LOCAL_CLUSTER_ID,
          input_id: await a.dataSource(),
          output_id: await a.dataSource(),
        });
        expectError(response, 400, 'INVALID_REFERENCE');
        assert.match(response.json.error_message, /doesn't support job type 'MapReduce'/);
        const java = await template('Java');
        const onSpark = await a.execute(java, {
          cluster_id: spark,
          job_configs: { configs: { 'edp.java.main_class': 'org.Main' } },
        });
        expectError(onSpark, 400, 'INVALID_REFERENCE');
        const sparkApp = await template('Spark');
        const onYarn = await a.execute(sparkApp, {
          cluster_id: unreachable,
          job_configs: { configs: { 'edp.java.main_class': 'org.Main' } },
        });
        expectError(onYarn, 400, 'INVALID_REFERENCE');
      });

      test('no engine runs Pig, Hive or Storm: a clear 400 on every cluster', async () => {
        const input = await a.dataSource();
        const output = await a.dataSource();
        for (const type of ['Pig', 'Hive', 'Storm', 'Storm.Pyleus']) {
          const tmpl = await template(type);
          for (const cluster of [LOCAL_CLUSTER_ID, spawning, unreachable, spark]) {
            const response = await a.execute(tmpl, {
              cluster_id: cluster,
              input_id: input,
              output_id: output,
              job_configs: { configs: { 'edp.java.main_class': 'org.Main' } },
            });
            expectError(response, 400, 'INVALID_REFERENCE');
            assert.match(
              response.json.error_message,
              new RegExp(`doesn't support job type '${type.replace('.', '\\.')}'`),
            );
          }
        }
      });

      test("24: another tenant's public cluster may be used", async () => {
        const shared = await insertCluster(t.store, { tenant_id: 'tenant-o', is_public: true, engine: 'local' });
        const response = await a.execute(shell, { cluster_id: shared.id });
        assert.equal(response.status, 202, JSON.stringify(response.json));
        await a.waitForStatus(response.json.job_execution.id, 'SUCCEEDED');
      });

      test('interface values are checked and merged into job_configs', async () => {
        const source = await a.dataSource();
        // Shell maps interface arguments to configs, params and args alike; on a Spark cluster
        // that is not Active, the real Spark engine validates it and nothing runs.
        const sparkSpawning = await insertSparkCluster(t.store, { status: 'Spawning' });
        const tmpl = await a.shellTemplate('exit 0\n', {
          interface: [
            {
              name: 'Reducer Count',
              mapping_type: 'configs',
              location: 'mapred.reduce.tasks',
              value_type: 'number',
              required: false,
              default: '1',
            },
            {
              name: 'Input Path',
              mapping_type: 'params',
              location: 'INPUT',
              value_type: 'data_source',
              required: false,
              default: 'hdfs://path',
            },
            {
              name: 'Positional Argument 2',
              mapping_type: 'args',
              location: '1',
              value_type: 'string',
              required: false,
              default: 'default',
            },
            {
              name: 'Positional Argument 1',
              mapping_type: 'args',
              location: '0',
              value_type: 'string',
              required: false,
              default: 'arg_1',
            },
            { name: 'Needed', mapping_type: 'params', location: 'NEEDED', value_type: 'string', required: true },
          ],
        });
        const base = { cluster_id: sparkSpawning.id };
        expectError(await a.execute(tmpl, base), 400, 'INVALID_DATA');
        expectError(await a.execute(tmpl, { ...base, interface: { Fish: 'x', Needed: 'y' } }), 400, 'INVALID_DATA');
        expectError(await a.execute(tmpl, { ...base, interface: {} }), 400, 'INVALID_DATA');
        expectError(
          await a.execute(tmpl, { ...base, interface: { Needed: 'y', 'Reducer Count': 'Two' } }),
          400,
          'INVALID_DATA',
        );
        expectError(
          await a.execute(tmpl, { ...base, interface: { Needed: 'y', 'Input Path': randomUUID() } }),
          400,
          'INVALID_REFERENCE',
        );
        expectError(
          await a.execute(tmpl, {
            ...base,
            interface: { Needed: 'y', 'Reducer Count': '2' },
            job_configs: { configs: { 'mapred.reduce.tasks': '3' } },
          }),
          400,
          'INVALID_DATA',
        );
        const equal = await a.execute(tmpl, {
          ...base,
          interface: { Needed: 'y', 'Reducer Count': '2', 'Input Path': source },
          job_configs: { configs: { 'mapred.reduce.tasks': '2' } },
        });
        assert.equal(equal.status, 202, JSON.stringify(equal.json));

        const merged = await a.execute(tmpl, {
          ...base,
          interface: { 'Reducer Count': '2', 'Positional Argument 2': 'arg_2', Needed: 'y' },
          job_configs: { args: ['arg_3'], configs: { 'mapred.map.tasks': '3' } },
        });
        assert.equal(merged.status, 202, JSON.stringify(merged.json));
        assert.deepEqual(merged.json.job_execution.job_configs, {
          configs: { 'mapred.reduce.tasks': '2', 'mapred.map.tasks': '3' },
          args: ['arg_1', 'arg_2', 'arg_3'],
          params: { INPUT: 'hdfs://path', NEEDED: 'y' },
          job_execution_info: {},
        });
      });

      test('malformed and non-JSON bodies', async () => {
        const malformed = await t.app.inject({
          method: 'POST',
          url: `/v1.1/tenant-a/jobs/${shell}/execute`,
          payload: '{bad json',
          headers: { 'content-type': 'application/json' },
        });
        assert.equal(malformed.json().error_name, 'MALFORMED_REQUEST_BODY');
        const text = await t.app.inject({
          method: 'POST',
          url: `/v1.1/tenant-a/jobs/${shell}/execute`,
          payload: 'cluster',
          headers: { 'content-type': 'text/plain' },
        });
        assert.equal(text.statusCode, 400);
        assert.equal(text.json().error_name, 'INVALID_DATA');
      });
    });

    describe('show, list, visibility', () => {
      test('show finds visible executions and hides invisible ones', async () => {
        expectError(await a.request('GET', `/job-executions/${randomUUID()}`), 404, 'NOT_FOUND');
        const hidden = await insertExecution(t.store, { job_id: shell, tenant_id: 'tenant-o' });
        expectError(await a.request('GET', `/job-executions/${hidden.id}`), 404, 'NOT_FOUND');
        const shared = await insertExecution(t.store, { job_id: shell, tenant_id: 'tenant-o', is_public: true });
        assert.equal((await a.request('GET', `/job-executions/${shared.id}`)).status, 200);
      });

      test('lists sort, limit and page from a marker, and refuse unknown filters', async () => {
        const lister = new Client(t.app, `lister-${dialect}`);
        // Other tests add public executions, which every tenant sees.
        const own = `tenant_id=${lister.project}`;
        const ids = [];
        for (let i = 0; i < 5; i += 1)
          ids.push((await insertExecution(t.store, { job_id: shell, tenant_id: lister.project })).id);
        ids.sort();
        const [first, second, third, fourth, fifth] = ids;
        expectError(await lister.request('GET', `/job-executions?${own}&sort_by=bogus`), 400, 400);
        expectError(await lister.request('GET', `/job-executions?${own}&sort_by=created_at`), 400, 400);
        const descending = await lister.request('GET', `/job-executions?${own}&sort_by=-id`);
        assert.deepEqual(
          descending.json.job_executions.map((e: { id: string }) => e.id),
          [...ids].reverse(),
        );
        for (const limit of ['0', 'abc', '-1'])
          expectError(await lister.request('GET', `/job-executions?${own}&limit=${limit}`), 400, 400);
        expectError(await lister.request('GET', `/job-executions?${own}&marker=${randomUUID()}`), 404, 'NOT_FOUND');
        const atMarker = await lister.request('GET', `/job-executions?${own}&marker=${first}`);
        assert.deepEqual(atMarker.json.markers, { prev: null, next: null });
        const page1 = await lister.request('GET', `/job-executions?${own}&limit=2`);
        assert.deepEqual(
          page1.json.job_executions.map((e: { id: string }) => e.id),
          [first, second],
        );
        assert.equal(page1.json.markers.next, second);
        const page2 = await lister.request('GET', `/job-executions?${own}&limit=2&marker=${second}`);
        assert.deepEqual(
          page2.json.job_executions.map((e: { id: string }) => e.id),
          [second, third],
        );
        assert.deepEqual(page2.json.markers, { prev: null, next: fourth });
        const page3 = await lister.request('GET', `/job-executions?${own}&limit=2&marker=${fourth}`);
        assert.deepEqual(
          page3.json.job_executions.map((e: { id: string }) => e.id),
          [fourth, fifth],
        );
        assert.deepEqual(page3.json.markers, { prev: second, next: null });
        // Sahara answered 500 for an unknown filter; Oasis answers 400.
        expectError(await lister.request('GET', `/job-executions?${own}&badfield=1`), 400, 'INVALID_PARAMS_ON_REQUEST');
      });

      test('54 and the filters: status ignores case, names match substrings', async () => {
        const lister = new Client(t.app, `filters-${dialect}`);
        const own = `tenant_id=${lister.project}`;
        const named = await insertCluster(t.store, {
          tenant_id: lister.project,
          name: 'analytics-cluster',
          engine: 'local',
        });
        const killed = await insertExecution(t.store, {
          job_id: shell,
          tenant_id: lister.project,
          status: 'KiLLeD',
          info: { status: 'KiLLeD' },
        });
        const running = await insertExecution(t.store, {
          job_id: shell,
          tenant_id: lister.project,
          status: 'RUNNING',
          cluster_id: named.id,
        });
        const ids = async (query: string) => {
          const response = await lister.request('GET', `/job-executions?${own}&${query}`);
          assert.equal(response.status, 200, JSON.stringify(response.json));
          return response.json.job_executions.map((e: { id: string }) => e.id).sort();
        };
        assert.deepEqual(await ids('status=killed'), [killed.id]);
        assert.deepEqual(await ids('cluster.name=analytics'), [running.id]);
        assert.deepEqual(await ids(`cluster_id=${named.id}`), [running.id]);
        assert.deepEqual(await ids('is_public=false'), [killed.id, running.id].sort());
        const templateName = (await a.request('GET', `/jobs/${shell}`)).json.job.name as string;
        assert.deepEqual(await ids(`job.name=${templateName.slice(2)}`), [killed.id, running.id].sort());
        for (const field of ['job_template', 'cluster', 'status', '-status']) {
          assert.equal((await lister.request('GET', `/job-executions?${own}&sort_by=${field}`)).status, 200, field);
        }
        const byStatus = await lister.request('GET', `/job-executions?${own}&sort_by=status`);
        assert.deepEqual(
          byStatus.json.job_executions.map((e: { id: string }) => e.id),
          [killed.id, running.id],
        );
      });

      test('there is no POST /job-executions', async () => {
        assert.equal((await a.request('POST', '/job-executions', {})).status, 405);
      });
    });

    describe('refresh, cancel, update, delete', () => {
      test('refresh of a public foreign execution; deleted cluster leaves it unchanged', async () => {
        const gone = await insertCluster(t.store, { engine: 'local' });
        const row = await insertExecution(t.store, {
          job_id: shell,
          cluster_id: gone.id,
          status: 'RUNNING',
          engine_job_id: '1@x',
        });
        await t.store.clusters.delete(gone.id);
        const refreshed = await a.request('GET', `/job-executions/${row.id}/refresh-status`);
        assert.equal(refreshed.status, 200);
        assert.equal(refreshed.json.job_execution.info.status, 'RUNNING');
        const shared = await insertExecution(t.store, { job_id: shell, tenant_id: 'tenant-o', is_public: true });
        assert.equal((await a.request('GET', `/job-executions/${shared.id}/refresh-status`)).status, 200);
      });

      test('cancel follows the tenant, protection and terminal-status rules', async () => {
        const done = await insertExecution(t.store, { job_id: shell, status: 'SUCCEEDED' });
        const unchanged = await a.request('GET', `/job-executions/${done.id}/cancel`);
        assert.equal(unchanged.status, 200);
        assert.equal((await a.execution(done.id)).info.status, 'SUCCEEDED');
        const sleeper = await a.shellTemplate(SLEEPER);
        const id = await a.run(sleeper);
        await a.waitForStatus(id, 'RUNNING');
        const snapshot = await a.request('GET', `/job-executions/${id}/cancel`);
        assert.equal(snapshot.status, 200);
        assert.equal(snapshot.json.job_execution.info.status, 'RUNNING');
        await a.waitForStatus(id, 'KILLED');
        const protectedRow = await insertExecution(t.store, { job_id: shell, status: 'RUNNING', is_protected: true });
        expectError(await a.request('GET', `/job-executions/${protectedRow.id}/cancel`), 400, 'CANCELING_FAILED');
        const foreign = await insertExecution(t.store, {
          job_id: shell,
          tenant_id: 'tenant-o',
          is_public: true,
          status: 'RUNNING',
        });
        expectError(await a.request('GET', `/job-executions/${foreign.id}/cancel`), 400, 'CANCELING_FAILED');
        expectError(await a.request('GET', `/job-executions/${randomUUID()}/cancel`), 404, 'NOT_FOUND');
      });

      test('PATCH changes visibility and protection and cancels, by the protection rules', async () => {
        const row = await insertExecution(t.store, { job_id: shell });
        const path = `/job-executions/${row.id}`;
        expectError(await a.request('PATCH', path, { foo: 1 }), 400, 'VALIDATION_ERROR');
        expectError(await a.request('PATCH', path, { is_public: 'yes' }), 400, 'VALIDATION_ERROR');
        expectError(await a.request('PATCH', path, { info: { status: 'resume' } }), 400, 'VALIDATION_ERROR');
        expectError(await a.request('PATCH', path, { info: { status: 'cancel', x: 'y' } }), 400, 'VALIDATION_ERROR');
        const published = await a.request('PATCH', path, { is_public: true });
        assert.equal(published.status, 202);
        assert.equal(published.json.job_execution.is_public, true);
        // Oasis does not require the cluster to be Active for an update (Sahara did: vector 72).
        const elsewhere = await insertExecution(t.store, { job_id: shell, cluster_id: spawning });
        assert.equal((await a.request('PATCH', `/job-executions/${elsewhere.id}`, { is_public: true })).status, 202);
        expectError(
          await a.request('PATCH', path, { info: { status: 'suspend' }, is_public: true }),
          400,
          'INVALID_JOB_STATUS',
        );
        expectError(await a.request('PATCH', path, { info: { status: 'suspend' } }), 400, 'INVALID_REFERENCE');
        expectError(await a.request('PATCH', path, { info: {} }), 400, 'VALIDATION_ERROR');
        expectError(await a.request('PATCH', `/job-executions/${randomUUID()}`, { foo: 1 }), 404, 'NOT_FOUND');

        const guarded = await insertExecution(t.store, { job_id: shell, is_protected: true });
        const guardedPath = `/job-executions/${guarded.id}`;
        assert.equal((await a.request('PATCH', guardedPath, { is_public: true })).status, 202);
        expectError(await a.request('PATCH', guardedPath, { info: { status: 'cancel' } }), 400, 'UPDATE_FAILED');
        const unprotected = await a.request('PATCH', guardedPath, { is_protected: false, is_public: false });
        assert.equal(unprotected.status, 202);
        assert.equal(unprotected.json.job_execution.is_protected, false);

        const foreign = await insertExecution(t.store, { job_id: shell, tenant_id: 'tenant-o', is_public: true });
        expectError(
          await a.request('PATCH', `/job-executions/${foreign.id}`, { is_public: false }),
          400,
          'UPDATE_FAILED',
        );
      });

      test('77 (Oasis): PATCH info cancel really cancels', async () => {
        const sleeper = await a.shellTemplate(SLEEPER);
        const id = await a.run(sleeper);
        const running = await a.waitForStatus(id, 'RUNNING');
        const response = await a.request('PATCH', `/job-executions/${id}`, { info: { status: 'cancel' } });
        assert.equal(response.status, 202);
        assert.ok(['TOBEKILLED', 'KILLED'].includes(response.json.job_execution.info.status));
        const killed = await a.waitForStatus(id, 'KILLED');
        assert.notEqual(killed.end_time, null);
        assert.ok(running.info.pid);
      });

      test('DELETE follows the tenant and protection rules', async () => {
        const guarded = await insertExecution(t.store, { job_id: shell, is_protected: true });
        expectError(await a.request('DELETE', `/job-executions/${guarded.id}`), 400, 'DELETION_FAILED');
        const foreign = await insertExecution(t.store, { job_id: shell, tenant_id: 'tenant-o', is_public: true });
        expectError(await a.request('DELETE', `/job-executions/${foreign.id}`), 400, 'DELETION_FAILED');
        expectError(await a.request('DELETE', `/job-executions/${randomUUID()}`), 404, 'NOT_FOUND');
        const done = await insertExecution(t.store, { job_id: shell });
        const deleted = await a.request('DELETE', `/job-executions/${done.id}`);
        assert.equal(deleted.status, 204);
        const deadline = Date.now() + 10_000;
        while ((await a.request('GET', `/job-executions/${done.id}`)).status !== 404) {
          assert.ok(Date.now() < deadline, 'the row was not removed');
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      });
    });

    test('render: sanitised job_configs, oozie_job_id mirrors engine_job_id', async () => {
      const row = await insertExecution(t.store, {
        job_id: shell,
        engine_job_id: '42@node',
        return_code: '3',
        status: 'DONEWITHERROR',
        info: { status: 'DONEWITHERROR', actions: [{ name: 'a', conf: '<x/>' }] },
        job_configs: {
          configs: { 'fs.s3a.secret.key': 'hush', 'fs.swift.service.sahara.password': 'pw', keep: 'me' },
          trusts: { id: 'x' },
          proxy_configs: { p: 1 },
          job_execution_info: {},
        },
        start_time: '2024-01-02T03:04:05.678Z',
      });
      const shown = await a.execution(row.id);
      assert.equal(shown.oozie_job_id, '42@node');
      assert.equal(shown.engine_job_id, '42@node');
      assert.equal(shown.return_code, '3');
      assert.equal(shown.start_time, '2024-01-02T03:04:05');
      assert.deepEqual(shown.job_configs, {
        configs: { 'fs.s3a.secret.key': '', 'fs.swift.service.sahara.password': '', keep: 'me' },
        job_execution_info: {},
      });
      assert.deepEqual(shown.info, { status: 'DONEWITHERROR', actions: [{ name: 'a' }] });
    });
  });

  describe(`v1.1 job execution lists held in memory (${dialect})`, () => {
    let database: TestDatabase;
    let t: TestApp;
    let other: Outsider;
    before(async () => {
      database = await openTestStore(dialect);
      t = await createTestApp({ dialect, store: database.store });
      other = await outsider(database);
    });
    after(async () => {
      await other.close();
      await t.close();
      await database.drop();
    });

    const listed = async (client: Client, query = '') => {
      const response = await client.request('GET', `/job-executions${query}`);
      assert.equal(response.status, 200, JSON.stringify(response.json));
      return response.json.job_executions as { id: string; info: { status: string }; is_public: boolean }[];
    };

    test("a list shows another node's write, and never another project's executions", async () => {
      const a = new Client(t.app, 'memory-a');
      const b = new Client(t.app, 'memory-b');
      const mine = await insertExecution(t.store, { job_id: randomUUID(), tenant_id: a.project, status: 'RUNNING' });
      const theirs = await insertExecution(t.store, { job_id: randomUUID(), tenant_id: b.project });
      // The same list twice: the second answer comes from memory.
      for (let i = 0; i < 2; i += 1) {
        assert.deepEqual(
          (await listed(a)).map((execution) => execution.id),
          [mine.id],
        );
        assert.deepEqual(
          (await listed(b)).map((execution) => execution.id),
          [theirs.id],
        );
      }
      await other.run('update job_executions set status = $1, info = $2 where id = $3', [
        'SUCCEEDED',
        JSON.stringify({ status: 'SUCCEEDED' }),
        mine.id,
      ]);
      // PostgreSQL notifies every node at commit; SQLite's data_version is asked every millisecond at most.
      await eventually(
        async () => ((await listed(a))[0]?.info.status === 'SUCCEEDED' ? true : undefined),
        "the other node's write in the list",
      );
      await other.run('update job_executions set is_public = $1 where id = $2', [
        dialect === 'postgres' ? true : 1,
        theirs.id,
      ]);
      await eventually(
        async () => ((await listed(a)).some((execution) => execution.id === theirs.id) ? true : undefined),
        'the execution made public in the list',
      );
      await other.run('delete from job_executions where id = $1', [theirs.id]);
      await eventually(
        async () => ((await listed(a)).some((execution) => execution.id === theirs.id) ? undefined : true),
        'the deleted execution to leave the list',
      );
      assert.deepEqual(await listed(b), []);
    });

    test('a list shows a write through the API, paged or whole', async () => {
      const c = new Client(t.app, 'memory-c');
      const ids: string[] = [];
      for (let i = 0; i < 3; i += 1)
        ids.push((await insertExecution(t.store, { job_id: randomUUID(), tenant_id: c.project })).id);
      ids.sort();
      assert.deepEqual(
        (await listed(c, '?limit=2')).map((execution) => execution.id),
        ids.slice(0, 2),
      );
      assert.equal((await listed(c)).length, 3);
      assert.equal((await c.request('DELETE', `/job-executions/${ids[0]}`)).status, 204);
      // The delete finishes after its answer (the job's files go first).
      await eventually(async () => ((await listed(c)).length === 2 ? true : undefined), 'the delete in the list');
      assert.deepEqual(
        (await listed(c, '?limit=2')).map((execution) => execution.id),
        ids.slice(1),
      );
      assert.deepEqual(
        (await listed(c)).map((execution) => execution.id),
        ids.slice(1),
      );
    });
  });
}
