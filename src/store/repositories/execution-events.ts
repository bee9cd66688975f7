import type { Kysely, Selectable } from 'kysely';
import type { Database, ExecutionEventsTable } from '../database.js';
import type { ExecutionEventRecord, ExecutionEventRepository } from '../types.js';

/** Rows of execution_events; PostgreSQL's bigint ids arrive as strings. */
function decode(row: Selectable<ExecutionEventsTable>): ExecutionEventRecord {
  return {
    id: Number(row.id),
    execution_id: row.execution_id,
    tenant_id: row.tenant_id,
    status: row.status,
    previous_status: row.previous_status ?? null,
    created_at: row.created_at,
  };
}

export function executionEvents(db: Kysely<Database>): ExecutionEventRepository {
  return {
    async listAfter(afterId, { tenantId, limit }) {
      let query = db.selectFrom('execution_events').selectAll().where('id', '>', afterId);
      if (tenantId !== undefined) query = query.where('tenant_id', '=', tenantId);
      const rows = await query.orderBy('id').limit(limit).execute();
      return rows.map(decode);
    },
    // With every event pruned, the log's end is the pruning mark: ids are never reused.
    async latestId() {
      const row = await db
        .selectFrom('execution_events_pruned as p')
        .select((eb) => [
          'p.through_id',
          eb
            .selectFrom('execution_events')
            .select((inner) => inner.fn.max('id').as('id'))
            .as('latest'),
        ])
        .where('p.id', '=', 1)
        .executeTakeFirst();
      return Math.max(Number(row?.latest ?? 0), Number(row?.through_id ?? 0));
    },
    async prunedThrough() {
      const row = await db
        .selectFrom('execution_events_pruned')
        .select('through_id')
        .where('id', '=', 1)
        .executeTakeFirst();
      return Number(row?.through_id ?? 0);
    },
    async prune(before) {
      const row = await db
        .selectFrom('execution_events')
        .select((eb) => eb.fn.max('id').as('id'))
        .where('created_at', '<', before)
        .executeTakeFirst();
      const through = Number(row?.id ?? 0);
      if (through === 0) return 0;
      // The mark first: a reader between the two statements may be told of a loss that has not
      // happened yet, but never misses one.
      await db
        .updateTable('execution_events_pruned')
        .set({ through_id: through })
        .where('id', '=', 1)
        .where('through_id', '<', through)
        .execute();
      const result = await db.deleteFrom('execution_events').where('id', '<=', through).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
