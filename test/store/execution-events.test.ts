import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/types.js';
import { openTestStore, testDialects, type TestDatabase } from '../support/databases.js';
import { eventually } from '../support/eventually.js';
import { newProject } from '../support/resources.js';
import { executionRow } from '../support/rows.js';

for (const dialect of testDialects()) {
  describe(`store execution events and webhook outbox (${dialect})`, () => {
    let database: TestDatabase;
    let store: Store;
    before(async () => {
      database = await openTestStore(dialect);
      store = database.store;
    });
    after(async () => {
      await database?.drop();
    });

    const eventsOf = async (tenant: string) => store.executionEvents.listAfter(0, { tenantId: tenant, limit: 1000 });

    it('records creation, every status change and deletion, and nothing for writes that keep the status', async () => {
      const tenant = newProject();
      const row = await store.jobExecutions.insert(executionRow({ tenant_id: tenant }));
      await store.jobExecutions.updateIf(
        row.id,
        { statusIn: ['PENDING'] },
        { status: 'RUNNING', info: { status: 'RUNNING' } },
      );
      await store.jobExecutions.updateIf(
        row.id,
        { statusIn: ['RUNNING'] },
        { status: 'RUNNING', info: { status: 'RUNNING', progress: 1 } },
      );
      await store.jobExecutions.update(row.id, { is_public: true });
      // A guard that fails changes nothing, so records nothing.
      await store.jobExecutions.updateIf(row.id, { statusIn: ['PENDING'] }, { status: 'KILLED' });
      await store.jobExecutions.updateIf(
        row.id,
        { statusIn: ['RUNNING'] },
        { status: 'SUCCEEDED', info: { status: 'SUCCEEDED' } },
      );
      await store.jobExecutions.delete(row.id);
      const events = await eventsOf(tenant);
      assert.deepEqual(
        events.map((event) => [event.execution_id, event.previous_status, event.status]),
        [
          [row.id, null, 'PENDING'],
          [row.id, 'PENDING', 'RUNNING'],
          [row.id, 'RUNNING', 'SUCCEEDED'],
          [row.id, 'SUCCEEDED', 'DELETED'],
        ],
      );
      const ids = events.map((event) => event.id);
      assert.deepEqual(
        [...ids].sort((a, b) => a - b),
        ids,
      );
      for (const event of events) assert.match(event.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok((await store.executionEvents.latestId()) >= ids.at(-1)!);
    });

    it("lists one tenant's events or everyone's, after an id, in id order", async () => {
      const [a, b] = [newProject(), newProject()];
      const start = await store.executionEvents.latestId();
      await store.jobExecutions.insert(executionRow({ tenant_id: a }));
      await store.jobExecutions.insert(executionRow({ tenant_id: b }));
      await store.jobExecutions.insert(executionRow({ tenant_id: a }));
      const all = await store.executionEvents.listAfter(start, { limit: 10 });
      assert.deepEqual(
        all.map((event) => event.tenant_id),
        [a, b, a],
      );
      assert.deepEqual(
        (await store.executionEvents.listAfter(start, { tenantId: a, limit: 10 })).map((event) => event.id),
        [all[0]!.id, all[2]!.id],
      );
      assert.deepEqual(
        (await store.executionEvents.listAfter(all[0]!.id, { limit: 1 })).map((event) => event.id),
        [all[1]!.id],
      );
    });

    it('a terminal status queues one delivery per webhook of its project in the same write; other statuses and projects none', async () => {
      const tenant = newProject();
      const hooks = [];
      for (const n of [1, 2]) {
        hooks.push(
          (await store.webhooks.insertBounded(
            { id: randomUUID(), tenant_id: tenant, url: `https://example.com/${n}`, secret: 'x'.repeat(16) },
            10,
          ))!,
        );
      }
      const stranger = (await store.webhooks.insertBounded(
        { id: randomUUID(), tenant_id: newProject(), url: 'https://example.com/s', secret: 'x'.repeat(16) },
        10,
      ))!;
      const row = await store.jobExecutions.insert(executionRow({ tenant_id: tenant }));
      await store.jobExecutions.updateIf(row.id, { statusIn: ['PENDING'] }, { status: 'RUNNING' });
      for (const hook of hooks) assert.deepEqual(await store.webhooks.listDeliveries(hook.id, 10), []);
      await store.jobExecutions.updateIf(row.id, { statusIn: ['RUNNING'] }, { status: 'DONEWITHERROR' });
      const terminal = (await eventsOf(tenant)).at(-1)!;
      for (const hook of hooks) {
        const [delivery, ...more] = await store.webhooks.listDeliveries(hook.id, 10);
        assert.equal(more.length, 0);
        assert.equal(delivery!.event_id, terminal.id);
        assert.equal(delivery!.status, 'DONEWITHERROR');
        assert.equal(delivery!.previous_status, 'RUNNING');
        assert.equal(delivery!.state, 'pending');
      }
      assert.deepEqual(await store.webhooks.listDeliveries(stranger.id, 10), []);
    });

    it('two claimers never lease the same delivery; a recorded attempt frees it; deleting a webhook drops its pending deliveries', async () => {
      const tenant = newProject();
      const hook = (await store.webhooks.insertBounded(
        { id: randomUUID(), tenant_id: tenant, url: 'https://example.com/c', secret: 'x'.repeat(16) },
        10,
      ))!;
      for (let i = 0; i < 6; i += 1) {
        const row = await store.jobExecutions.insert(executionRow({ tenant_id: tenant }));
        await store.jobExecutions.updateIf(row.id, { statusIn: ['PENDING'] }, { status: 'KILLED' });
      }
      const now = new Date(Date.now() + 1000).toISOString();
      const claims = await Promise.all(
        ['n1', 'n2', 'n3'].map((nodeId) => store.webhooks.claimDeliveries({ nodeId, limit: 4, leaseMs: 60_000, now })),
      );
      const mine = claims.flat().filter((delivery) => delivery.webhook_id === hook.id);
      assert.equal(mine.length, 6);
      assert.equal(new Set(mine.map((delivery) => delivery.id)).size, 6);
      assert.equal(mine[0]!.secret, 'x'.repeat(16));
      const first = mine[0]!;
      const owner = claims.findIndex((claim) => claim.some((delivery) => delivery.id === first.id));
      assert.equal(
        await store.webhooks.recordAttempt(first.id, 'someone-else', {
          state: 'delivered',
          attempts: 1,
          next_attempt_at: now,
          last_error: null,
          finished_at: now,
        }),
        false,
      );
      assert.equal(
        await store.webhooks.recordAttempt(first.id, ['n1', 'n2', 'n3'][owner]!, {
          state: 'delivered',
          attempts: 1,
          next_attempt_at: now,
          last_error: null,
          finished_at: now,
        }),
        true,
      );
      assert.equal(await store.webhooks.delete(hook.id), true);
      assert.deepEqual(
        (await store.webhooks.listDeliveries(hook.id, 10)).map((delivery) => delivery.state),
        ['delivered'],
      );
      assert.equal(await store.webhooks.delete(hook.id), false);
    });

    it('a project holds a bounded number of webhooks, even when registrations race', async () => {
      const tenant = newProject();
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          store.webhooks.insertBounded(
            { id: randomUUID(), tenant_id: tenant, url: `https://example.com/${i}`, secret: 'x'.repeat(16) },
            3,
          ),
        ),
      );
      assert.equal(results.filter(Boolean).length, 3);
      assert.equal((await store.webhooks.listByTenant(tenant)).length, 3);
    });

    it('pruning removes old events and remembers how far it went; ids are never reused', async () => {
      const tenant = newProject();
      await store.jobExecutions.insert(executionRow({ tenant_id: tenant }));
      const latest = await store.executionEvents.latestId();
      const removed = await store.executionEvents.prune(new Date(Date.now() + 60_000).toISOString());
      assert.ok(removed >= 1);
      assert.equal(await store.executionEvents.prunedThrough(), latest);
      assert.equal(await store.executionEvents.latestId(), latest);
      assert.deepEqual(await eventsOf(tenant), []);
      await store.jobExecutions.insert(executionRow({ tenant_id: tenant }));
      const [next] = await eventsOf(tenant);
      assert.ok(next!.id > latest);
    });

    if (dialect === 'postgres') {
      it('events commit in id order: a reader following the log from its last id never skips one, under concurrent writers', async () => {
        const others = await Promise.all(
          [1, 2, 3].map(() => openStore({ databaseUrl: database.url, dataDir: database.dataDir })),
        );
        try {
          const tenant = newProject();
          const start = await store.executionEvents.latestId();
          const seen: number[] = [];
          let position = start;
          let writing = true;
          const reader = (async () => {
            while (writing || seen.length === 0) {
              for (const event of await store.executionEvents.listAfter(position, { tenantId: tenant, limit: 1000 })) {
                seen.push(event.id);
                position = event.id;
              }
            }
          })();
          await Promise.all(
            others.map(async (writer) => {
              for (let i = 0; i < 40; i += 1) {
                const row = await writer.jobExecutions.insert(executionRow({ tenant_id: tenant }));
                await writer.jobExecutions.updateIf(row.id, { statusIn: ['PENDING'] }, { status: 'RUNNING' });
              }
            }),
          );
          writing = false;
          await reader;
          const all = (await store.executionEvents.listAfter(start, { tenantId: tenant, limit: 1000 })).map(
            (event) => event.id,
          );
          assert.equal(all.length, 240);
          // What the reader had not read yet when writing stopped it reads now; nothing before its position may be missing.
          for (const event of await store.executionEvents.listAfter(position, { tenantId: tenant, limit: 1000 }))
            seen.push(event.id);
          assert.deepEqual(seen, all);
        } finally {
          await Promise.all(others.map((other) => other.close()));
        }
      });
    }

    it('tells its subscribers when this process appends events', async () => {
      let told = 0;
      const unsubscribe = store.onEventsAppended(() => {
        told += 1;
      });
      try {
        await store.jobExecutions.insert(executionRow({ tenant_id: newProject() }));
        await eventually(() => (told > 0 ? true : undefined), 'the signal');
      } finally {
        unsubscribe();
      }
    });
  });
}
