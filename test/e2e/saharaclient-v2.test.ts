import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openTestStore, testDialects } from '../support/databases.js';
import { type OasisProcess, startOasis } from '../support/server.js';
import { openstack, printedJson, pythonClientsInstalled, pythonScenario, tokenAuth } from './support.js';

/**
 * Sahara's v2 end to end through the real clients: python-saharaclient's ClientV2 and the
 * openstack CLI with `--os-data-processing-api-version 2`, against a real Oasis process under
 * tokens auth, at the endpoint `<url>/v2` (no project in the path: the token names it).
 */
const PROJECT = '4c1f9e2a7b3d4e5f8a9b0c1d2e3f4a5b';
const TOKEN = 'e2e-v2-token';
const LOCAL_CLUSTER = '00000000-0000-4000-8000-000000000001';

const clientsInstalled = pythonClientsInstalled();

for (const dialect of testDialects()) {
  describe(
    `python-saharaclient v2 and openstack dataprocessing v2 against Oasis (${dialect})`,
    { skip: !clientsInstalled },
    () => {
      let oasis: OasisProcess;
      let drop: () => Promise<void> = async () => {};

      before(async () => {
        const database = await openTestStore(dialect);
        await database.store.close();
        drop = database.drop;
        oasis = await startOasis({
          dataDir: database.dataDir,
          env: database.url ? { OASIS_DATABASE_URL: database.url } : {},
          tokens: { [TOKEN]: { project_id: PROJECT, roles: ['member'] } },
        });
      });

      after(async () => {
        await oasis?.stop();
        await drop();
      });

      /** A `dataprocessing` command through the v2 API; what it prints, as JSON when it is. */
      const dataprocessing = async (...args: string[]): Promise<any> =>
        printedJson(
          (
            await openstack([
              ...tokenAuth(`${oasis.url}/v2`, TOKEN),
              '--os-data-processing-api-version',
              '2',
              'dataprocessing',
              ...args,
            ])
          ).stdout,
        );

      test('ClientV2 executes, lists, shows, cancels by PATCH, updates and deletes jobs', async () => {
        const result = await pythonScenario('saharaclient_v2_flow.py', [oasis.url, PROJECT, TOKEN]);
        assert.equal(result.template.project_id, PROJECT);
        assert.equal(result.template.description, 'through v2');
        assert.deepEqual(result.executed.template, result.template.id);
        assert.equal(result.executed.project_id, PROJECT);
        assert.deepEqual(result.done, { status: 'SUCCEEDED', return_code: '0' });
        const stdoutFile = path.join(oasis.dataDir, 'executions', result.executed.id, 'stdout');
        assert.equal(await readFile(stdoutFile, 'utf8'), 'v2 says hello\n');
        assert.ok(result.listed.includes(result.executed.id));
        assert.equal(result.page_size, 1);
        assert.ok(result.filtered.includes(result.executed.id));

        assert.equal(result.cancel.code, 202);
        assert.equal(result.cancel.version, 'data-processing 2.0');
        assert.equal(result.cancel.status, 'KILLED');
        const pid = Number(String(result.cancel.engine_job_id).split('@')[0]);
        assert.ok(pid > 0);
        assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' });

        assert.equal(result.updated_public, true);
        assert.deepEqual(result.deleted, { code: 404, name: 'NOT_FOUND' });
        // Sahara's v2 refused the client's own refresh_status parameter; so does Oasis.
        assert.deepEqual(result.refresh_status, { code: 400, name: 'INVALID_PARAMS_ON_REQUEST' });
        assert.equal(result.through_v1, result.template.id);
      });

      // Each CLI call starts a Python interpreter (seconds): the database under it is covered above.
      test(
        'the CLI with --os-data-processing-api-version 2 runs a job and manages it',
        { skip: dialect !== 'sqlite' && 'run on SQLite only' },
        async () => {
          const script = path.join(await mkdtemp(path.join(tmpdir(), 'oasis-e2e-')), 'cli.sh');
          await writeFile(script, 'echo "cli v2 $1"\n');
          // v2 has no upload: the binary comes through v1.1, as python-saharaclient's v2 CLI expects.
          const upload = await fetch(`${oasis.url}/v1.1/${PROJECT}/job-binary-internals/cli.sh`, {
            method: 'PUT',
            headers: { 'X-Auth-Token': TOKEN, 'Content-Type': 'application/octet-stream' },
            body: await readFile(script),
          });
          const jbi = ((await upload.json()) as any).job_binary_internal.id;
          const binaryResponse = await fetch(`${oasis.url}/v1.1/${PROJECT}/job-binaries`, {
            method: 'POST',
            headers: { 'X-Auth-Token': TOKEN, 'Content-Type': 'application/json' },
            body: JSON.stringify({ name: 'cli.sh', url: `internal-db://${jbi}` }),
          });
          assert.equal(binaryResponse.status, 202);

          const binaries = await dataprocessing('job', 'binary', 'list', '-f', 'json');
          assert.ok(binaries.some((row: any) => row.Name === 'cli.sh'));
          const template = await dataprocessing(
            'job',
            'template',
            'create',
            '--name',
            'cli-v2',
            '--type',
            'Shell',
            '--mains',
            'cli.sh',
            '-f',
            'json',
          );
          const clusters = await dataprocessing('cluster', 'list', '-f', 'json');
          assert.ok(clusters.some((row: any) => row.Name === 'local' && row.Id === LOCAL_CLUSTER));

          const started = await dataprocessing(
            'job',
            'execute',
            '--job-template',
            'cli-v2',
            '--cluster',
            'local',
            '--args',
            'works',
            '-f',
            'json',
          );
          assert.equal(started['Job template id'], template.Id);
          let shown: any;
          for (let attempt = 0; attempt < 60; attempt += 1) {
            shown = await dataprocessing('job', 'show', started.Id, '-f', 'json');
            if (['SUCCEEDED', 'DONEWITHERROR', 'FAILED', 'KILLED'].includes(shown.Status)) break;
          }
          assert.equal(shown.Status, 'SUCCEEDED');
          assert.equal(
            await readFile(path.join(oasis.dataDir, 'executions', started.Id, 'stdout'), 'utf8'),
            'cli v2 works\n',
          );

          const listed = await dataprocessing('job', 'list', '-f', 'json');
          assert.ok(listed.some((row: any) => row.Id === started.Id && row.Status === 'SUCCEEDED'));
          const updated = await dataprocessing('job', 'update', started.Id, '--public', '-f', 'json');
          assert.equal(updated['Is public'], true);
          await dataprocessing('job', 'delete', started.Id, '--wait');
          const response = await fetch(`${oasis.url}/v2/jobs/${started.Id}`, { headers: { 'X-Auth-Token': TOKEN } });
          assert.equal(response.status, 404);
        },
      );
    },
  );
}
