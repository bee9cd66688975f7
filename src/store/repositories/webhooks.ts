import { type Kysely, type Selectable, sql } from 'kysely';
import type { Database, WebhookDeliveriesTable } from '../database.js';
import type { DialectName } from '../migrations.js';
import { nowIso } from '../tables.js';
import type { DueDelivery, WebhookDeliveryRecord, WebhookRecord, WebhookRepository } from '../types.js';

type DeliveryRow = Selectable<WebhookDeliveriesTable>;

/** PostgreSQL's bigint ids arrive as strings. */
function decodeDelivery(row: DeliveryRow): WebhookDeliveryRecord {
  return { ...row, id: Number(row.id), event_id: Number(row.event_id), attempts: Number(row.attempts) };
}

export function webhooks(db: Kysely<Database>, dialect: DialectName): WebhookRepository {
  return {
    insertBounded: (row, max) => insertBounded(db, dialect, row, max),
    async get(id) {
      return db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
    },
    async listByTenant(tenantId) {
      return db
        .selectFrom('webhooks')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
    },
    async delete(id) {
      return db.transaction().execute(async (trx) => {
        await trx
          .deleteFrom('webhook_deliveries')
          .where('webhook_id', '=', id)
          .where('state', '=', 'pending')
          .execute();
        const result = await trx.deleteFrom('webhooks').where('id', '=', id).executeTakeFirst();
        return Number(result.numDeletedRows) > 0;
      });
    },
    claimDeliveries: (options) => claimDeliveries(db, dialect, options),
    async recordAttempt(id, nodeId, outcome) {
      const result = await db
        .updateTable('webhook_deliveries')
        .set({ ...outcome, lease_owner: null, lease_expires_at: null })
        .where('id', '=', id)
        .where('lease_owner', '=', nodeId)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async listDeliveries(webhookId, limit) {
      const rows = await db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('webhook_id', '=', webhookId)
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      return rows.map(decodeDelivery).reverse();
    },
    async pruneDeliveries(before) {
      const result = await db
        .deleteFrom('webhook_deliveries')
        .where('state', '<>', 'pending')
        .where('finished_at', '<', before)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

/**
 * The count and the insert in one transaction; on PostgreSQL a per-tenant advisory lock makes two
 * concurrent registrations take turns, so neither sees a count the other is about to change.
 * SQLite's single writer serialises them already.
 */
async function insertBounded(
  db: Kysely<Database>,
  dialect: DialectName,
  row: Omit<WebhookRecord, 'created_at'>,
  max: number,
): Promise<WebhookRecord | undefined> {
  return db.transaction().execute(async (trx) => {
    if (dialect === 'postgres')
      await sql`select pg_advisory_xact_lock(hashtext(${`oasis-webhooks:${row.tenant_id}`}))`.execute(trx);
    const counted = await trx
      .selectFrom('webhooks')
      .select((eb) => eb.fn.countAll().as('count'))
      .where('tenant_id', '=', row.tenant_id)
      .executeTakeFirstOrThrow();
    if (Number(counted.count) >= max) return undefined;
    const record: WebhookRecord = { ...row, created_at: nowIso() };
    await trx.insertInto('webhooks').values(record).execute();
    return record;
  });
}

/** The executions' claim, for deliveries: one statement, SKIP LOCKED on PostgreSQL. */
async function claimDeliveries(
  db: Kysely<Database>,
  dialect: DialectName,
  options: { nodeId: string; limit: number; leaseMs: number; now: string },
): Promise<DueDelivery[]> {
  const { nodeId, limit, leaseMs, now } = options;
  // A read first: the worker looks after every execution write, and most find nothing due; an
  // UPDATE that matches nothing would still take SQLite's write lock.
  const due = await db
    .selectFrom('webhook_deliveries')
    .select('id')
    .where('state', '=', 'pending')
    .where('next_attempt_at', '<=', now)
    .limit(1)
    .execute();
  if (due.length === 0) return [];
  const until = new Date(Date.parse(now) + leaseMs).toISOString();
  const lock = dialect === 'postgres' ? sql`for update skip locked` : sql``;
  const claimed = await sql<DeliveryRow>`
    with picked as (
      select id from webhook_deliveries
      where state = 'pending' and next_attempt_at <= ${now}
        and (lease_expires_at is null or lease_expires_at < ${now})
      order by next_attempt_at, id
      limit ${limit}
      ${lock}
    )
    update webhook_deliveries
    set lease_owner = ${nodeId}, lease_expires_at = ${until}
    where id in (select id from picked)
    returning *`.execute(db);
  if (claimed.rows.length === 0) return [];
  const hooks = await db
    .selectFrom('webhooks')
    .select(['id', 'url', 'secret'])
    .where('id', 'in', [...new Set(claimed.rows.map((row) => row.webhook_id))])
    .execute();
  const byId = new Map(hooks.map((hook) => [hook.id, hook]));
  const sendable: DueDelivery[] = [];
  const orphans: DeliveryRow['id'][] = [];
  for (const row of claimed.rows) {
    const hook = byId.get(row.webhook_id);
    if (hook) sendable.push({ ...decodeDelivery(row), url: hook.url, secret: hook.secret });
    else orphans.push(row.id);
  }
  // Queued by an event committed while its webhook was being deleted.
  if (orphans.length > 0) await db.deleteFrom('webhook_deliveries').where('id', 'in', orphans).execute();
  return sendable.sort((a, b) => a.id - b.id);
}
