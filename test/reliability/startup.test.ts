import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { pino } from 'pino';
import { buildApp } from '../../src/api/app.js';
import { noAuth } from '../../src/api/auth.js';
import { Executions } from '../../src/executions/executions.js';
import { openStore } from '../../src/store/index.js';
import { newProject } from '../support/resources.js';
import { executionRow } from '../support/rows.js';
import { startOasis, type OasisProcess } from '../support/server.js';
import { assertSaharaError, http } from './support.js';

const NODE = 'startup-node';

/**
 * `oasis serve` claims its port before it touches any execution: started by mistake on a port
 * another Oasis holds, it exits non-zero saying why, and leaves the executions of its node id as
 * they were (no recovery, no lease taken, no launch).
 */
describe('start-up order', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  test('a second Oasis on a busy port exits 1 with a clear message and touches no execution', async () => {
    const first: OasisProcess = await startOasis();
    cleanups.push(async () => {
      await first.stop();
      await rm(first.dataDir, { recursive: true, force: true });
    });
    const port = new URL(first.url).port;

    // The second Oasis's own database holds one execution it would re-adopt (RUNNING, leased by
    // its node, its job gone) and one it would launch (PENDING, unleased).
    const dataDir = await mkdtemp(path.join(tmpdir(), 'oasis-startup-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const project = newProject();
    const before = await withStore(dataDir, async (store) => [
      await store.jobExecutions.insert(
        executionRow({
          tenant_id: project,
          status: 'RUNNING',
          engine_job_id: 'gone',
          start_time: new Date().toISOString(),
          lease_owner: NODE,
          lease_expires_at: new Date(Date.now() - 60_000).toISOString(),
        }),
      ),
      await store.jobExecutions.insert(executionRow({ tenant_id: project })),
    ]);

    await assert.rejects(
      startOasis({ dataDir, env: { OASIS_PORT: port, OASIS_NODE_ID: NODE, OASIS_POLL_INTERVAL: '50ms' } }),
      (error: Error) => {
        assert.match(error.message, /exited with 1 before it was ready/);
        assert.match(
          error.message,
          new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the address is already in use \\(EADDRINUSE\\)`),
        );
        assert.doesNotMatch(error.message, /recover|adopt|launch/i);
        return true;
      },
    );

    const now = await withStore(dataDir, (store) => Promise.all(before.map((row) => store.jobExecutions.get(row.id))));
    assert.deepEqual(now, before);
    // The first Oasis never noticed.
    const listed = await http(first.url, 'GET', `/v1.1/${project}/job-executions`);
    assert.equal(listed.status, 200, listed.text);
  });

  test('between listen and the end of start-up, requests answer 503 "starting" with Sahara\'s body', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'oasis-startup-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const store = await openStore({ databaseUrl: null, dataDir });
    cleanups.push(() => store.close());
    const executions = new Executions({
      store,
      engines: new Map(),
      nodeId: NODE,
      localConcurrency: 1,
      pollIntervalMs: 1000,
      leaseMs: 10_000,
      logger: pino({ level: 'silent' }),
    });
    const app = await buildApp({
      config: { bodyLimitBytes: 1024 },
      store,
      engines: new Map(),
      executions,
      auth: noAuth,
    });
    cleanups.push(() => app.close());
    app.markStarting();
    const starting = await app.inject({ method: 'GET', url: `/v1.1/${newProject()}/job-executions` });
    assert.equal(starting.statusCode, 503);
    assertSaharaError(503, starting.json(), 'starting');
    assert.match(starting.json().error_message, /Oasis is starting/);
    app.markReady();
    assert.equal((await app.inject({ method: 'GET', url: `/v1.1/${newProject()}/job-executions` })).statusCode, 200);
  });
});

async function withStore<T>(
  dataDir: string,
  work: (store: Awaited<ReturnType<typeof openStore>>) => Promise<T>,
): Promise<T> {
  const store = await openStore({ databaseUrl: null, dataDir });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}
