import assert from 'node:assert/strict';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { createLocalEngine } from '../../src/engines/local/index.js';
import { prepareJob } from '../../src/executions/job-spec.js';
import { isTerminal } from '../../src/store/statuses.js';
import { LOCAL_CLUSTER_ID } from '../../src/store/index.js';
import { createTestApp } from '../support/app.js';
import { openTestStore, testDialects } from '../support/databases.js';
import { newProject } from '../support/resources.js';
import { startOasis, type OasisProcess } from '../support/server.js';
import { eventually, executeLocal, http, markedScript, runsOf, shellTemplate, terminalExecution } from './support.js';
import { exchangeSubdir, jobSandbox } from '../support/sandbox.js';

const JOBS = 50;
const NODE = 'crash-node';

/** Job i sleeps a little or a few seconds and exits 0 or with a small code, so the kill finds every state. */
const plan = (i: number) => ({ sleep: ['0', '0.3', '1', '2', '4'][i % 5]!, code: i % 3 === 1 ? (i % 7) + 1 : 0 });

async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(tmpdir(), prefix));
}

for (const dialect of testDialects()) {
  describe(`crash recovery (${dialect})`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    after(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });

    test(`kill -9 with ${JOBS} jobs in flight: after the restart every execution ends right, once`, async () => {
      const database = dialect === 'postgres' ? await openTestStore('postgres') : undefined;
      if (database) cleanups.push(() => database.drop());
      const dataDir = await tempDir('oasis-crash-');
      const markers = exchangeSubdir('crash-markers-');
      cleanups.push(() => rm(markers, { recursive: true, force: true }));
      const env: Record<string, string> = {
        OASIS_NODE_ID: NODE,
        OASIS_LOCAL_CONCURRENCY: '10',
        OASIS_POLL_INTERVAL: '200ms',
        ...(database?.url ? { OASIS_DATABASE_URL: database.url } : {}),
      };
      let oasis: OasisProcess = await startOasis({ dataDir, env });
      cleanups.push(async () => {
        await oasis.stop();
        // Jobs still running are killed with their data dir's removal by the test's own cleanup.
        await rm(dataDir, { recursive: true, force: true });
      });
      const project = newProject();
      const api = (method: string, route: string, body?: unknown) =>
        http(oasis.url, method, `/v1.1/${project}${route}`, body);

      const upload = await http(
        oasis.url,
        'PUT',
        `/v1.1/${project}/job-binary-internals/crash.sh`,
        markedScript('sleep "$SLEEP"\nexit "$CODE"'),
        {
          'content-type': 'application/octet-stream',
        },
      );
      assert.equal(upload.status, 202, upload.text);
      const binary = await api('POST', '/job-binaries', {
        name: 'crash.sh',
        url: `internal-db://${upload.json.job_binary_internal.id}`,
      });
      assert.equal(binary.status, 202, binary.text);
      const template = await api('POST', '/jobs', { name: 'crash', type: 'Shell', mains: [binary.json.job_binary.id] });
      assert.equal(template.status, 202, template.text);

      const executions: { id: string; marker: string; code: number }[] = [];
      for (let i = 0; i < JOBS; i += 1) {
        const { sleep, code } = plan(i);
        const marker = path.join(markers, `job-${i}`);
        const response = await api('POST', `/jobs/${template.json.job.id}/execute`, {
          cluster_id: LOCAL_CLUSTER_ID,
          job_configs: { params: { MARKER: marker, SLEEP: sleep, CODE: String(code) } },
        });
        assert.equal(response.status, 202, response.text);
        executions.push({ id: response.json.job_execution.id, marker, code });
      }

      // Kill once some executions have ended while others run and the rest still wait.
      const statuses = async () => {
        const list = await api('GET', '/job-executions');
        assert.equal(list.status, 200, list.text);
        return (list.json.job_executions as { info: { status: string } }[]).map((e) => e.info.status);
      };
      await eventually(async () => {
        const now = await statuses();
        return now.filter(isTerminal).length >= 5 && now.includes('RUNNING') ? true : undefined;
      }, 'a mix of ended and running executions');
      await oasis.kill();

      oasis = await startOasis({ dataDir, env });
      const ended = await eventually(
        async () => {
          const now = await statuses();
          return now.length === JOBS && now.every(isTerminal) ? now : undefined;
        },
        'every execution to end after the restart',
        120_000,
      );
      assert.equal(ended.length, JOBS);

      for (const { id, marker, code } of executions) {
        const shown = await api('GET', `/job-executions/${id}`);
        assert.equal(shown.status, 200, `execution ${id} was lost`);
        const execution = shown.json.job_execution;
        assert.equal(
          execution.info.status,
          code === 0 ? 'SUCCEEDED' : 'DONEWITHERROR',
          `${id}: ${JSON.stringify(execution.info)}`,
        );
        assert.equal(execution.return_code, String(code), id);
        assert.equal(await runsOf(marker), 1, `${id} ran ${await runsOf(marker)} times`);
      }
    });

    test('a job started just before the crash, whose row never recorded it, is adopted and not run again', async () => {
      const database = await openTestStore(dialect);
      cleanups.push(() => database.drop());
      const dataDir = await tempDir('oasis-adopt-');
      cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
      const markers = exchangeSubdir('adopt-markers-');
      cleanups.push(() => rm(markers, { recursive: true, force: true }));
      const common = { dialect, store: database.store, dataDir, nodeId: NODE } as const;
      const project = newProject();

      // An Oasis that stores executions but never launches them (its launch is played below).
      const first = await createTestApp({ ...common, localConcurrency: 0 });
      const script = markedScript('while [ ! -e "$GO" ]; do sleep 0.05; done\nexit "$CODE"');
      const template = await shellTemplate(first.app, project, 'adopt', script);
      const go = path.join(markers, 'go');
      const cases = [
        { name: 'ended while Oasis was down', code: 0, dropJobRecord: false },
        { name: 'running, job.json not yet written', code: 4, dropJobRecord: true },
        { name: 'running, job.json written', code: 6, dropJobRecord: false },
      ].map((c, i) => ({ ...c, marker: path.join(markers, `adopt-${i}`) }));
      const ids: string[] = [];
      for (const c of cases) {
        ids.push(
          await executeLocal(first.app, project, template.id, {
            params: { MARKER: c.marker, GO: go, CODE: String(c.code) },
          }),
        );
      }
      await first.close();

      // The crashed Oasis's launch: claimed, submitted to the engine, row not yet updated.
      const engine = await createLocalEngine({
        workDir: path.join(dataDir, 'executions'),
        nodeId: NODE,
        killGraceMs: 500,
        sandbox: jobSandbox(),
      });
      const cluster = (await database.store.clusters.get(LOCAL_CLUSTER_ID))!;
      const templateRow = (await database.store.jobTemplates.get(template.id))!;
      for (const [i, c] of cases.entries()) {
        const [claimed] = await database.store.jobExecutions.claim({
          nodeId: NODE,
          statuses: ['PENDING'],
          engines: ['local'],
          limit: 1,
          leaseMs: 60_000,
        });
        assert.equal(claimed?.id, ids[i]);
        const { spec } = await prepareJob(database.store, claimed!, templateRow);
        // The first case's job ends before the restart; the others wait for `go`.
        if (i === 0) await writeFile(go, '');
        const submission = await engine.submit(spec, cluster);
        if (i === 0) {
          const ref = { executionId: spec.executionId, engineJobId: submission.engineJobId, extra: submission.extra };
          await eventually(
            async () => (isTerminal((await engine.status(ref, cluster)).status) ? true : undefined),
            'the first job to end',
          );
          await unlink(go);
        }
        await eventually(async () => ((await runsOf(c.marker)) === 1 ? true : undefined), `${c.name} to start`);
        if (c.dropJobRecord) await unlink(path.join(dataDir, 'executions', spec.executionId, 'job.json'));
      }
      await engine.close();
      for (const id of ids) assert.equal((await database.store.jobExecutions.get(id))?.status, 'PENDING');

      const restarted = await createTestApp({ ...common, localConcurrency: 4 });
      try {
        const first = await terminalExecution(restarted.app, project, ids[0]!);
        assert.equal(first.info.status, 'SUCCEEDED');
        await eventually(async () => {
          const rows = await Promise.all(ids.slice(1).map((id) => database.store.jobExecutions.get(id)));
          return rows.every((row) => row?.status === 'RUNNING') ? true : undefined;
        }, 'the running jobs to be adopted');
        await writeFile(go, '');
        for (const [i, c] of cases.entries()) {
          const execution = await terminalExecution(restarted.app, project, ids[i]!);
          assert.equal(
            execution.info.status,
            c.code === 0 ? 'SUCCEEDED' : 'DONEWITHERROR',
            `${c.name}: ${JSON.stringify(execution.info)}`,
          );
          assert.equal(execution.return_code, String(c.code), c.name);
          assert.equal(await runsOf(c.marker), 1, `${c.name}: the job ran twice`);
        }
      } finally {
        await restarted.close();
      }
    });
  });
}
