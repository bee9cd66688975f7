import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { readExitCode } from '../../src/engines/processes/workdir.js';
import { isTerminal } from '../../src/store/statuses.js';
import { LOCAL_CLUSTER_ID } from '../../src/store/index.js';
import { openTestStore } from '../support/databases.js';
import { newProject } from '../support/resources.js';
import { exchangeSubdir } from '../support/sandbox.js';
import { startOasis, type OasisProcess } from '../support/server.js';
import { eventually, http, markedScript, runsOf } from './support.js';

/** Several Oasis nodes share one PostgreSQL: each test has its own database. */
const databaseUrl = process.env.OASIS_TEST_DATABASE_URL;

describe('node loss (postgres)', { skip: databaseUrl ? false : 'needs OASIS_TEST_DATABASE_URL' }, () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  /** A fresh database, a gate directory and a way to start nodes on them, all cleaned up. */
  async function cluster(lease: string) {
    const database = await openTestStore('postgres');
    cleanups.push(() => database.drop());
    const gates = exchangeSubdir('node-loss-');
    // Opening every gate ends the jobs a killed node left running.
    cleanups.push(async () => {
      for (const gate of ['go-1', 'go-2']) await writeFile(path.join(gates, gate), '');
    });
    const dataDirs = new Map<string, string>();
    const start = async (nodeId: string): Promise<OasisProcess> => {
      let dataDir = dataDirs.get(nodeId);
      if (!dataDir) {
        dataDir = await mkdtemp(path.join(tmpdir(), `oasis-${nodeId}-`));
        dataDirs.set(nodeId, dataDir);
        const dir = dataDir;
        cleanups.push(() => rm(dir, { recursive: true, force: true }));
      }
      const node = await startOasis({
        dataDir,
        env: {
          OASIS_NODE_ID: nodeId,
          OASIS_DATABASE_URL: database.url!,
          OASIS_LOCAL_CONCURRENCY: '1',
          OASIS_POLL_INTERVAL: '200ms',
          OASIS_LEASE: lease,
          OASIS_NODE_LOSS_GRACE: '0s',
        },
      });
      cleanups.push(() => node.stop());
      return node;
    };
    return { gates, start };
  }

  async function gatedTemplate(url: string, project: string): Promise<string> {
    const upload = await http(
      url,
      'PUT',
      `/v1.1/${project}/job-binary-internals/gated.sh`,
      markedScript('while [ ! -e "$GO" ]; do sleep 0.1; done'),
      {
        'content-type': 'application/octet-stream',
      },
    );
    assert.equal(upload.status, 202, upload.text);
    const binary = await http(url, 'POST', `/v1.1/${project}/job-binaries`, {
      name: 'gated.sh',
      url: `internal-db://${upload.json.job_binary_internal.id}`,
    });
    assert.equal(binary.status, 202, binary.text);
    const template = await http(url, 'POST', `/v1.1/${project}/jobs`, {
      name: 'gated',
      type: 'Shell',
      mains: [binary.json.job_binary.id],
    });
    assert.equal(template.status, 202, template.text);
    return template.json.job.id as string;
  }

  async function execute(
    url: string,
    project: string,
    templateId: string,
    params: Record<string, string>,
  ): Promise<string> {
    const response = await http(url, 'POST', `/v1.1/${project}/jobs/${templateId}/execute`, {
      cluster_id: LOCAL_CLUSTER_ID,
      job_configs: { params },
    });
    assert.equal(response.status, 202, response.text);
    return response.json.job_execution.id as string;
  }

  const show = async (url: string, project: string, id: string) => {
    const response = await http(url, 'GET', `/v1.1/${project}/job-executions/${id}`);
    assert.equal(response.status, 200, response.text);
    return response.json.job_execution as {
      info: Record<string, any>;
      engine_job_id: string | null;
      return_code: string | null;
    };
  };

  test('a node killed for good: its running local job ends FAILED naming it, its queued one runs on the survivor', async () => {
    const { gates, start } = await cluster('2s');
    const lost = await start('node-lost');
    const project = newProject();
    const template = await gatedTemplate(lost.url, project);
    const runningMarker = path.join(gates, 'running');
    const queuedMarker = path.join(gates, 'queued');
    await writeFile(path.join(gates, 'go-2'), '');
    const running = await execute(lost.url, project, template, { MARKER: runningMarker, GO: path.join(gates, 'go-1') });
    await eventually(
      async () => ((await show(lost.url, project, running)).info.status === 'RUNNING' ? true : undefined),
      'the first job to run',
    );
    // One local job at a time: the second waits its turn as PENDING.
    const queued = await execute(lost.url, project, template, { MARKER: queuedMarker, GO: path.join(gates, 'go-2') });
    assert.equal((await show(lost.url, project, queued)).info.status, 'PENDING');
    await lost.kill();

    const survivor = await start('node-survivor');
    const ran = await eventually(async () => {
      const execution = await show(survivor.url, project, queued);
      return isTerminal(execution.info.status) ? execution : undefined;
    }, 'the queued job to run on the survivor');
    assert.equal(ran.info.status, 'SUCCEEDED', JSON.stringify(ran.info));
    assert.match(ran.engine_job_id ?? '', /@node-survivor$/);
    assert.equal(await runsOf(queuedMarker), 1);

    const failed = await eventually(async () => {
      const execution = await show(survivor.url, project, running);
      return isTerminal(execution.info.status) ? execution : undefined;
    }, "the lost node's running job to end");
    assert.equal(failed.info.status, 'FAILED', JSON.stringify(failed.info));
    assert.equal(failed.info.lost_node, 'node-lost');
    assert.match(failed.info.reason, /'node-lost'/);
    assert.equal(await runsOf(runningMarker), 1, 'the lost job was started again');

    // The lost node's job outlived it, as a partitioned node's would: end it.
    await writeFile(path.join(gates, 'go-1'), '');
    const orphan = path.join(lost.dataDir, 'executions', running);
    await eventually(
      async () => ((await readExitCode(orphan)) === undefined ? undefined : true),
      'the orphaned job to end',
    );
  });

  test('a node that comes back within its lease re-adopts its running job', async () => {
    const { gates, start } = await cluster('60s');
    let first = await start('node-back');
    const project = newProject();
    const template = await gatedTemplate(first.url, project);
    const marker = path.join(gates, 'adopted');
    const id = await execute(first.url, project, template, { MARKER: marker, GO: path.join(gates, 'go-1') });
    await eventually(
      async () => ((await show(first.url, project, id)).info.status === 'RUNNING' ? true : undefined),
      'the job to run',
    );
    const other = await start('node-other');
    await first.kill();
    first = await start('node-back');

    await writeFile(path.join(gates, 'go-1'), '');
    const ended = await eventually(async () => {
      const execution = await show(other.url, project, id);
      return isTerminal(execution.info.status) ? execution : undefined;
    }, 'the re-adopted job to end');
    assert.equal(ended.info.status, 'SUCCEEDED', JSON.stringify(ended.info));
    assert.equal(ended.return_code, '0');
    assert.match(ended.engine_job_id ?? '', /@node-back$/);
    assert.equal(await runsOf(marker), 1);
  });
});
