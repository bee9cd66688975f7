import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { testDialects, openTestStore } from '../support/databases.js';
import { type OasisProcess, startOasis } from '../support/server.js';
import { openstack, printedJson, pythonClientsInstalled, pythonScenario, tokenAuth } from './support.js';

/**
 * End to end through the real clients: the openstack CLI (python-openstackclient with the
 * saharaclient plugin) and the python-saharaclient library, against a real Oasis process.
 * scripts/python-clients.sh installs them; the suite refuses to skip silently in CI.
 */
const PROJECT = '9d3a2c6e0f4b4f7c8a1e5b2d3c4f5a6b';
const TOKEN = 'e2e-secret-token';
const LOCAL_CLUSTER = '00000000-0000-4000-8000-000000000001';

const clientsInstalled = pythonClientsInstalled();
if ((!process.env.SPARK_MASTER_URL || !process.env.HADOOP_RM_URL) && process.env.CI) {
  throw new Error('SPARK_MASTER_URL or HADOOP_RM_URL unset: scripts/test.sh starts the Spark and Hadoop clusters');
}

for (const dialect of testDialects()) {
  describe(
    `openstack dataprocessing and python-saharaclient against Oasis (${dialect})`,
    { skip: !clientsInstalled },
    () => {
      let oasis: OasisProcess;
      let drop: () => Promise<void> = async () => {};
      let endpoint: string;

      before(async () => {
        const database = await openTestStore(dialect);
        await database.store.close();
        drop = database.drop;
        oasis = await startOasis({
          dataDir: database.dataDir,
          env: database.url ? { OASIS_DATABASE_URL: database.url } : {},
          // The CLI registers and deletes clusters, which needs the admin role (docs/policy.md).
          tokens: { [TOKEN]: { project_id: PROJECT, roles: ['admin'] } },
        });
        endpoint = `${oasis.url}/v1.1/${PROJECT}`;
      });

      after(async () => {
        await oasis?.stop();
        await drop();
      });

      /** A `dataprocessing` command that prints a result, read as JSON. */
      const dataprocessing = async (...args: string[]): Promise<any> =>
        printedJson((await openstack([...tokenAuth(endpoint, TOKEN), 'dataprocessing', ...args, '-f', 'json'])).stdout);

      const saharaclient = (scenario: string): Promise<any> =>
        pythonScenario('saharaclient_flow.py', [endpoint, TOKEN, scenario]);

      test('a shell script uploaded with the CLI runs on local and succeeds with its output', async () => {
        const script = path.join(await mkdtemp(path.join(tmpdir(), 'oasis-e2e-')), 'hello.sh');
        await writeFile(script, 'echo "hello $1 $2 from $GREETING"\n');
        const binary = await dataprocessing('job', 'binary', 'create', '--name', 'hello.sh', '--data', script);
        const template = await dataprocessing(
          'job',
          'template',
          'create',
          '--name',
          'hello',
          '--type',
          'Shell',
          '--mains',
          binary.Id,
        );
        const clusters = await dataprocessing('cluster', 'list');
        assert.ok(clusters.some((cluster: any) => cluster.Name === 'local' && cluster.Id === LOCAL_CLUSTER));

        const started = await dataprocessing(
          'job',
          'execute',
          '--job-template',
          template.Id,
          '--cluster',
          'local',
          '--args',
          'big',
          'world',
          '--params',
          'GREETING:oasis',
        );
        assert.equal(started.Status, 'PENDING');

        let shown: any;
        for (let attempt = 0; attempt < 60; attempt += 1) {
          shown = await dataprocessing('job', 'show', started.Id);
          if (['SUCCEEDED', 'DONEWITHERROR', 'FAILED', 'KILLED'].includes(shown.Status)) break;
        }
        assert.equal(shown.Status, 'SUCCEEDED');

        const response = await fetch(`${endpoint}/job-executions/${started.Id}`, {
          headers: { 'X-Auth-Token': TOKEN },
        });
        const execution = ((await response.json()) as any).job_execution;
        assert.equal(execution.return_code, '0');
        const stdout = path.join(oasis.dataDir, 'executions', started.Id, 'stdout');
        const { readFile } = await import('node:fs/promises');
        assert.equal(await readFile(stdout, 'utf8'), 'hello big world from oasis\n');

        const listed = await dataprocessing('job', 'list');
        assert.ok(listed.some((row: any) => row.Id === started.Id && row.Status === 'SUCCEEDED'));
      });

      test('a failing script ends DONEWITHERROR with its exit code', async () => {
        const result = await saharaclient('failing');
        assert.deepEqual(result, { status: 'DONEWITHERROR', return_code: '3' });
      });

      test('a long script is cancelled and its process is really gone', async () => {
        const result = await saharaclient('cancel');
        assert.equal(result.status, 'KILLED');
        const pid = Number(String(result.engine_job_id).split('@')[0]);
        assert.ok(pid > 0);
        assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
      });

      test('list, show, update and delete through python-saharaclient', async () => {
        const result = await saharaclient('manage');
        for (const id of result.ids) assert.ok(result.listed.includes(id));
        assert.equal(result.page_size, 2);
        assert.equal(result.shown.id, result.ids[0]);
        assert.equal(result.shown.status, 'SUCCEEDED');
        assert.equal(result.updated_public, true);
        assert.deepEqual(result.deleted, { code: 404, name: 'NOT_FOUND' });
        assert.equal(result.bad_template.code, 400);
        assert.equal(result.bad_template.name, 'VALIDATION_ERROR');
      });

      /** Registers a cluster with `cluster create --json`, checks it is listed Active, deletes it. */
      const registerThroughCli = async (body: Record<string, unknown>) => {
        const file = path.join(await mkdtemp(path.join(tmpdir(), 'oasis-e2e-')), 'cluster.json');
        await writeFile(file, JSON.stringify(body));
        const created = await dataprocessing('cluster', 'create', '--json', file);
        assert.equal(created.Status, 'Active');
        assert.equal(created['Plugin name'], body.plugin_name);
        const listed = await dataprocessing('cluster', 'list');
        assert.ok(listed.some((row: any) => row.Id === created.Id && row.Status === 'Active'));
        await openstack([...tokenAuth(endpoint, TOKEN), 'dataprocessing', 'cluster', 'delete', created.Id]);
        const response = await fetch(`${endpoint}/clusters/${created.Id}`, { headers: { 'X-Auth-Token': TOKEN } });
        assert.equal(response.status, 404);
      };

      const sparkMaster = process.env.SPARK_MASTER_URL;
      test(
        'the CLI registers, lists and deletes a real Spark cluster (cluster create --json)',
        { skip: !sparkMaster },
        async () => {
          await registerThroughCli({
            name: 'spark-e2e',
            plugin_name: 'spark',
            hadoop_version: '3.5.9',
            cluster_configs: { spark: { master: sparkMaster, rest_url: process.env.SPARK_REST_URL } },
          });
        },
      );

      const resourceManager = process.env.HADOOP_RM_URL;
      test(
        'the CLI registers, lists and deletes a real Hadoop cluster (cluster create --json)',
        { skip: !resourceManager },
        async () => {
          await registerThroughCli({
            name: 'hadoop-e2e',
            plugin_name: 'vanilla',
            hadoop_version: '3.5.0',
            cluster_configs: { yarn: { resourcemanager: resourceManager, namenode: process.env.HADOOP_NAMENODE } },
          });
        },
      );

      test('the CLI updates and deletes an execution', async () => {
        const templates = await dataprocessing('job', 'template', 'list');
        const hello = templates.find((row: any) => row.Name === 'hello');
        const started = await dataprocessing(
          'job',
          'execute',
          '--job-template',
          hello.Id,
          '--cluster',
          'local',
          '--args',
          'a',
          'b',
        );
        const updated = await dataprocessing('job', 'update', started.Id, '--public');
        assert.equal(updated['Is public'], true);
        await openstack([...tokenAuth(endpoint, TOKEN), 'dataprocessing', 'job', 'delete', started.Id, '--wait']);
        const response = await fetch(`${endpoint}/job-executions/${started.Id}`, {
          headers: { 'X-Auth-Token': TOKEN },
        });
        assert.equal(response.status, 404);
      });
    },
  );
}
