import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DuplicateEntryError } from '../../src/errors.js';
import type { IdempotencyKeyRecord, Store } from '../../src/store/types.js';
import { openTestStore, testDialects, type TestDatabase } from '../support/databases.js';
import { newProject } from '../support/resources.js';
import { newBinary, newDataSource, newTemplate } from './fixtures.js';

const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();

function keyRecord(tenantId: string, key: string, over: Partial<IdempotencyKeyRecord> = {}): IdempotencyKeyRecord {
  return {
    tenant_id: tenantId,
    idempotency_key: key,
    request_hash: 'h',
    status_code: 202,
    response: '{"ok":true}',
    created_at: at(0),
    expires_at: at(60_000),
    ...over,
  };
}

for (const dialect of testDialects()) {
  describe(`idempotency keys and transactions (${dialect})`, () => {
    let database: TestDatabase;
    let store: Store;
    before(async () => {
      database = await openTestStore(dialect);
      store = database.store;
    });
    after(() => database.drop());

    it('keeps a key per project; a live key cannot be stored twice; an expired one is replaced', async () => {
      const [a, b] = [newProject(), newProject()];
      await store.idempotencyKeys.insert(keyRecord(a, 'k'));
      await store.idempotencyKeys.insert(keyRecord(b, 'k', { response: 'b' }));
      assert.equal((await store.idempotencyKeys.get(a, 'k', at(0)))?.response, '{"ok":true}');
      assert.equal((await store.idempotencyKeys.get(b, 'k', at(0)))?.response, 'b');
      await assert.rejects(store.idempotencyKeys.insert(keyRecord(a, 'k', { response: 'again' })), DuplicateEntryError);

      await store.idempotencyKeys.insert(keyRecord(a, 'old', { created_at: at(-120_000), expires_at: at(-60_000) }));
      assert.equal(await store.idempotencyKeys.get(a, 'old', at(0)), undefined);
      await store.idempotencyKeys.insert(keyRecord(a, 'old', { response: 'new' }));
      assert.equal((await store.idempotencyKeys.get(a, 'old', at(0)))?.response, 'new');
    });

    it('prunes expired keys only', async () => {
      const project = newProject();
      await store.idempotencyKeys.insert(
        keyRecord(project, 'gone', { created_at: at(-120_000), expires_at: at(-60_000) }),
      );
      await store.idempotencyKeys.insert(keyRecord(project, 'kept'));
      assert.ok((await store.idempotencyKeys.prune(at(0))) >= 1);
      assert.equal(await store.idempotencyKeys.get(project, 'gone', at(-90_000)), undefined);
      assert.ok(await store.idempotencyKeys.get(project, 'kept', at(0)));
    });

    it('a transaction commits its rows and its key together, or neither', async () => {
      const project = newProject();
      const source = newDataSource(project);
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.dataSources.insert(source);
          await tx.idempotencyKeys.insert(keyRecord(project, 'rolled-back'));
          throw new Error('after both writes');
        }),
        /after both writes/,
      );
      assert.equal(await store.dataSources.get(source.id), undefined);
      assert.equal(await store.idempotencyKeys.get(project, 'rolled-back', at(0)), undefined);

      // Repositories that write in a transaction of their own join the caller's.
      const binary = newBinary(project);
      const template = newTemplate(project, { mains: [binary.id] });
      await store.transaction(async (tx) => {
        await tx.jobBinaries.insert(binary);
        await tx.jobTemplates.insert(template);
        await tx.idempotencyKeys.insert(keyRecord(project, 'committed'));
      });
      assert.deepEqual((await store.jobTemplates.get(template.id))?.mains, [binary.id]);
      assert.ok(await store.idempotencyKeys.get(project, 'committed', at(0)));
    });

    it('a duplicate key fails the transaction with DuplicateEntryError and keeps nothing of it', async () => {
      const project = newProject();
      await store.idempotencyKeys.insert(keyRecord(project, 'taken'));
      const source = newDataSource(project);
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.dataSources.insert(source);
          await tx.idempotencyKeys.insert(keyRecord(project, 'taken'));
        }),
        DuplicateEntryError,
      );
      assert.equal(await store.dataSources.get(source.id), undefined);
    });
  });
}
