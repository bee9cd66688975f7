import type { Kysely, Selectable } from 'kysely';
import type { Database, IdempotencyKeysTable } from '../database.js';
import type { IdempotencyKeyRecord, IdempotencyKeyRepository } from '../types.js';

const TABLE = 'idempotency_keys';

/**
 * Idempotency keys of creating requests. The key's primary key (tenant, key) is what makes a
 * second request with the same key fail to store its row, even when both run at once.
 */
export function idempotencyKeys(db: Kysely<Database>): IdempotencyKeyRepository {
  return {
    get: async (tenantId, key, now) => {
      const row = await db
        .selectFrom(TABLE)
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('idempotency_key', '=', key)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return row ? decode(row) : undefined;
    },
    insert: async (record) => {
      // An expired key may be used again: its old record goes first. A live one stays, and the
      // insert below then fails on the primary key.
      await db
        .deleteFrom(TABLE)
        .where('tenant_id', '=', record.tenant_id)
        .where('idempotency_key', '=', record.idempotency_key)
        .where('expires_at', '<=', record.created_at)
        .execute();
      await db
        .insertInto(TABLE)
        .values({ ...record })
        .execute();
    },
    prune: async (now) => {
      const result = await db.deleteFrom(TABLE).where('expires_at', '<=', now).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

function decode(row: Selectable<IdempotencyKeysTable>): IdempotencyKeyRecord {
  return {
    tenant_id: row.tenant_id,
    idempotency_key: row.idempotency_key,
    request_hash: row.request_hash,
    status_code: Number(row.status_code),
    response: row.response,
    created_at: row.created_at,
    expires_at: row.expires_at,
  };
}
