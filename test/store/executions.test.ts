import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOCAL_CLUSTER_ID, openStore } from '../../src/store/index.js';
import type { ClaimOptions, JobExecutionRecord, Store } from '../../src/store/types.js';
import { openTestStore, testDialects, type TestDatabase } from '../support/databases.js';
import { executionRow } from '../support/rows.js';
import { newCluster } from './fixtures.js';

const REPO = path.resolve(import.meta.dirname, '../..');

/** Another Oasis node in its own process: claims until nothing is left and prints what it got. */
async function claimInChildProcess(
  databaseUrl: string | null,
  dataDir: string,
  options: ClaimOptions,
  startAt: number,
): Promise<string[]> {
  const script = `
    import { openStore } from ${JSON.stringify(path.join(REPO, 'src/store/index.ts'))};
    const store = await openStore({ databaseUrl: ${JSON.stringify(databaseUrl)}, dataDir: ${JSON.stringify(dataDir)} });
    const ids = [];
    // Start together, so the claims really overlap.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, ${startAt} - Date.now())));
    for (;;) {
      const batch = await store.jobExecutions.claim(${JSON.stringify(options)});
      if (batch.length === 0) break;
      ids.push(...batch.map((row) => row.id));
    }
    await store.close();
    process.stdout.write(JSON.stringify(ids));`;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script],
    { cwd: REPO },
  );
  return JSON.parse(stdout) as string[];
}

for (const dialect of testDialects()) {
  describe(`store job executions (${dialect})`, () => {
    let database: TestDatabase;
    let store: Store;
    /** A second Store on the same database: another Oasis node. */
    let other: Store;
    before(async () => {
      database = await openTestStore(dialect);
      store = database.store;
      other = await openStore({ databaseUrl: database.url, dataDir: database.dataDir });
    });
    after(async () => {
      await other.close();
      await database.drop();
    });

    it('updateIf applies a patch only when the status and lease guards hold', async () => {
      const row = await store.jobExecutions.insert(
        executionRow({ tenant_id: 't', status: 'RUNNING', lease_owner: 'node-a' }),
      );
      const repo = store.jobExecutions;
      assert.equal(await repo.updateIf(row.id, { statusIn: ['PENDING'] }, { status: 'KILLED' }), undefined);
      assert.equal(
        await repo.updateIf(row.id, { statusIn: ['RUNNING'], owner: 'node-b' }, { status: 'KILLED' }),
        undefined,
      );
      assert.equal(await repo.updateIf(row.id, { statusIn: [] }, { status: 'KILLED' }), undefined);
      assert.equal((await repo.get(row.id))?.status, 'RUNNING');
      assert.equal((await repo.get(row.id))?.updated_at, null);

      const updated = await repo.updateIf(
        row.id,
        { statusIn: ['PREP', 'RUNNING'], owner: 'node-a' },
        {
          status: 'SUCCEEDED',
          info: { status: 'SUCCEEDED' },
          end_time: new Date().toISOString(),
        },
      );
      assert.equal(updated?.status, 'SUCCEEDED');
      assert.deepEqual(updated?.info, { status: 'SUCCEEDED' });
      assert.ok(updated?.updated_at);
      // The first transition wins; a second actor with the same expectation loses.
      assert.equal(await repo.updateIf(row.id, { statusIn: ['RUNNING'] }, { status: 'KILLED' }), undefined);
      assert.equal((await repo.updateIf(row.id, {}, { cancel_requested: true }))?.cancel_requested, true);
      assert.equal(await repo.updateIf('missing', {}, { status: 'KILLED' }), undefined);

      const unowned = await repo.insert(executionRow({ tenant_id: 't', status: 'PREPSUSPENDED' }));
      assert.equal(await repo.updateIf(unowned.id, { owner: 'node-a' }, { status: 'KILLED' }), undefined);
    });

    it('claims the oldest matching executions, filtered by status and engine', async () => {
      const spark = await store.clusters.insert(newCluster('t', { engine: 'spark' }));
      const tenant = `claim-order-${dialect}`;
      const local: JobExecutionRecord[] = [];
      for (let i = 0; i < 4; i++)
        local.push(await store.jobExecutions.insert(executionRow({ tenant_id: tenant, status: 'PENDING' })));
      const onSpark = await store.jobExecutions.insert(
        executionRow({ tenant_id: tenant, status: 'PENDING', cluster_id: spark.id }),
      );
      await store.jobExecutions.insert(executionRow({ tenant_id: tenant, status: 'RUNNING' }));
      const options: ClaimOptions = {
        nodeId: 'node-a',
        statuses: ['PENDING'],
        engines: ['local'],
        limit: 2,
        leaseMs: 60_000,
      };

      const oldest = [...local].sort((a, b) =>
        a.created_at === b.created_at ? (a.id < b.id ? -1 : 1) : a.created_at < b.created_at ? -1 : 1,
      );
      const first = await store.jobExecutions.claim(options);
      assert.deepEqual(
        first.map((row) => row.id),
        oldest.slice(0, 2).map((row) => row.id),
      );
      for (const row of first) {
        assert.equal(row.lease_owner, 'node-a');
        assert.ok(row.lease_expires_at! > new Date().toISOString());
      }
      const rest = await store.jobExecutions.claim({ ...options, limit: 10 });
      assert.deepEqual(
        rest.map((row) => row.id),
        oldest.slice(2).map((row) => row.id),
      );
      assert.deepEqual(await store.jobExecutions.claim(options), []);

      const sparkClaim = await store.jobExecutions.claim({ ...options, engines: ['spark', 'yarn'] });
      assert.deepEqual(
        sparkClaim.map((row) => row.id),
        [onSpark.id],
      );
      assert.deepEqual(await store.jobExecutions.claim({ ...options, engines: [] }), []);
      assert.deepEqual(await store.jobExecutions.claim({ ...options, statuses: [] }), []);
    });

    it('never gives one execution to two nodes claiming at once', async () => {
      const tenant = `claim-race-${dialect}`;
      const created = new Set<string>();
      for (let i = 0; i < 60; i++)
        created.add((await store.jobExecutions.insert(executionRow({ tenant_id: tenant, status: 'READYTORUN' }))).id);
      const claimAll = async (node: Store, nodeId: string) => {
        const mine: string[] = [];
        for (;;) {
          const batch = await node.jobExecutions.claim({
            nodeId,
            statuses: ['READYTORUN'],
            engines: ['local'],
            limit: 3,
            leaseMs: 60_000,
          });
          if (batch.length === 0) return mine;
          for (const row of batch) {
            assert.equal(row.lease_owner, nodeId);
            mine.push(row.id);
          }
        }
      };
      const [a, b, c] = await Promise.all([
        claimAll(store, 'node-a'),
        claimAll(other, 'node-b'),
        claimAll(other, 'node-c'),
      ]);
      const all = [...a, ...b, ...c];
      assert.equal(new Set(all).size, all.length, 'an execution was claimed twice');
      assert.deepEqual(new Set(all), created);
      for (const [nodeId, ids] of [
        ['node-a', a],
        ['node-b', b],
        ['node-c', c],
      ] as const) {
        for (const id of ids) assert.equal((await store.jobExecutions.get(id))?.lease_owner, nodeId);
      }
    });

    it('never gives one execution to two node processes claiming at once', async () => {
      const created = new Set<string>();
      for (let i = 0; i < 600; i++)
        created.add((await store.jobExecutions.insert(executionRow({ tenant_id: 'procs', status: 'SUSPENDED' }))).id);
      const startAt = Date.now() + 3000;
      const claims = await Promise.all(
        ['p1', 'p2', 'p3'].map((nodeId) =>
          claimInChildProcess(
            database.url,
            database.dataDir,
            { nodeId, statuses: ['SUSPENDED'], engines: ['local'], limit: 2, leaseMs: 60_000 },
            startAt,
          ),
        ),
      );
      const all = claims.flat();
      assert.equal(new Set(all).size, all.length, 'an execution was claimed twice');
      assert.deepEqual(new Set(all), created);
    });

    it('lets another node claim an execution once its lease has expired', async () => {
      const tenant = `claim-expiry-${dialect}`;
      const row = await store.jobExecutions.insert(
        executionRow({ tenant_id: tenant, status: 'TOBEKILLED', cluster_id: LOCAL_CLUSTER_ID }),
      );
      const options: ClaimOptions = {
        nodeId: 'node-a',
        statuses: ['TOBEKILLED'],
        engines: ['local'],
        limit: 5,
        leaseMs: 200,
      };
      assert.deepEqual(
        (await store.jobExecutions.claim(options)).map((claimed) => claimed.id),
        [row.id],
      );
      // Held by node-a: node-b waits until the lease runs out.
      const deadline = Date.now() + 20_000;
      let taken: JobExecutionRecord[] = [];
      while (taken.length === 0 && Date.now() < deadline) {
        taken = await other.jobExecutions.claim({ ...options, nodeId: 'node-b', leaseMs: 60_000 });
        if (taken.length === 0) await sleep(50);
      }
      assert.deepEqual(
        taken.map((claimed) => claimed.id),
        [row.id],
      );
      assert.equal((await store.jobExecutions.get(row.id))?.lease_owner, 'node-b');
      assert.deepEqual(await store.jobExecutions.claim({ ...options, leaseMs: 60_000 }), []);
    });

    it("claims a lost node's executions only once its lease has been expired for the grace time", async () => {
      const tenant = `claim-lost-${dialect}`;
      const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
      const insert = (fields: Partial<JobExecutionRecord>) =>
        store.jobExecutions.insert(
          executionRow({ tenant_id: tenant, status: 'RUNNING', cluster_id: LOCAL_CLUSTER_ID, ...fields }),
        );
      const lostLongAgo = await insert({ lease_owner: 'node-lost', lease_expires_at: ago(60_000) });
      await insert({ lease_owner: 'node-lost', lease_expires_at: ago(1_000) });
      await insert({ lease_owner: 'node-alive', lease_expires_at: new Date(Date.now() + 60_000).toISOString() });
      // Unowned, or this node's own: never a lost node's.
      await insert({ lease_owner: null, lease_expires_at: null });
      await insert({ lease_owner: 'node-sweeper', lease_expires_at: ago(60_000) });
      const options: ClaimOptions = {
        nodeId: 'node-sweeper',
        statuses: ['RUNNING'],
        engines: ['local'],
        limit: 10,
        leaseMs: 60_000,
        lostForMs: 30_000,
      };
      const taken = (await store.jobExecutions.claim(options)).filter((row) => row.tenant_id === tenant);
      assert.deepEqual(
        taken.map((row) => row.id),
        [lostLongAgo.id],
      );
      assert.equal(taken[0]?.lease_owner, 'node-sweeper');
    });

    it('renews, lists and counts what a node holds', async () => {
      const node = `node-renew-${dialect}`;
      const past = new Date(Date.now() - 1000).toISOString();
      const spark = await store.clusters.insert(newCluster('t', { engine: 'spark' }));
      const pending = await store.jobExecutions.insert(
        executionRow({ tenant_id: 't', status: 'PENDING', lease_owner: node, lease_expires_at: past }),
      );
      const running = await store.jobExecutions.insert(
        executionRow({
          tenant_id: 't',
          status: 'RUNNING',
          lease_owner: node,
          lease_expires_at: past,
          start_time: past,
        }),
      );
      const runningSpark = await store.jobExecutions.insert(
        executionRow({
          tenant_id: 't',
          status: 'PREP',
          lease_owner: node,
          lease_expires_at: past,
          cluster_id: spark.id,
        }),
      );
      const ended = await store.jobExecutions.insert(
        executionRow({
          tenant_id: 't',
          status: 'SUCCEEDED',
          lease_owner: node,
          lease_expires_at: past,
          end_time: past,
        }),
      );
      await store.jobExecutions.insert(
        executionRow({ tenant_id: 't', status: 'RUNNING', lease_owner: 'someone-else' }),
      );

      assert.deepEqual(
        new Set((await store.jobExecutions.listOwned(node)).map((row) => row.id)),
        new Set([pending.id, running.id, runningSpark.id]),
      );
      assert.equal(await store.jobExecutions.countActive(node, ['local']), 1);
      assert.equal(await store.jobExecutions.countActive(node, ['local', 'spark']), 2);
      assert.equal(await store.jobExecutions.countActive(node, []), 0);

      const now = new Date().toISOString();
      assert.equal(await store.jobExecutions.renewLeases(node, 60_000), 3);
      for (const id of [pending.id, running.id, runningSpark.id]) {
        assert.ok((await store.jobExecutions.get(id))!.lease_expires_at! > now);
      }
      assert.equal((await store.jobExecutions.get(ended.id))?.lease_expires_at, past);
      assert.equal(await store.jobExecutions.renewLeases('nobody', 60_000), 0);
    });
  });
}
