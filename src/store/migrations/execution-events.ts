import { sql } from 'kysely';
import type { Migration, MigrationDb } from './migration.js';

/** The channel the events trigger notifies, at commit, with the new event's id. */
export const EXECUTION_EVENTS_CHANNEL = 'oasis_execution_events';

/**
 * Taken by the PostgreSQL trigger before it numbers an event and held until the commit, so events
 * commit in the order of their ids: a reader that has seen id N never finds N-1 appear later,
 * which is what lets a stream resume after its last id with no gap. SQLite's single writer gives
 * the same order by itself.
 */
export const EVENT_ORDER_LOCK_KEY = 7_353_917_404;

/**
 * The terminal statuses as they were when this migration shipped: webhooks are told of these.
 * Written out rather than imported, so that the migration never changes after it shipped.
 */
const TERMINAL = ['SUCCEEDED', 'FAILED', 'KILLED', 'DONEWITHERROR', 'SUSPENDFAILED'];

/**
 * Migration 4: the event log of execution status changes, and webhooks with their outbox.
 *
 * Triggers write both, so an event is appended in the very transaction (statement) that changes
 * an execution's status, whoever changes it (any node, any code path, an operator's SQL), and a
 * terminal event queues one delivery per webhook of its project in that same transaction: a
 * status change and its events and deliveries are committed together or not at all.
 */
export const executionEventsMigration: Migration = {
  version: 4,
  name: 'execution events, webhooks and their deliveries',
  async up(db, dialect) {
    if (dialect === 'sqlite') await createSqlite(db);
    else await createPostgres(db);
    await db.schema
      .createIndex('execution_events_tenant')
      .on('execution_events')
      .columns(['tenant_id', 'id'])
      .execute();
    await db.schema.createIndex('execution_events_created').on('execution_events').columns(['created_at']).execute();
    await db.schema.createIndex('webhooks_tenant').on('webhooks').columns(['tenant_id', 'created_at', 'id']).execute();
    await db.schema
      .createIndex('webhook_deliveries_due')
      .on('webhook_deliveries')
      .columns(['state', 'next_attempt_at', 'id'])
      .execute();
    await db.schema
      .createIndex('webhook_deliveries_webhook')
      .on('webhook_deliveries')
      .columns(['webhook_id'])
      .execute();
    await db.insertInto('execution_events_pruned').values({ id: 1, through_id: 0 }).execute();
  },
};

const terminalList = sql.join(TERMINAL.map((status) => sql.lit(status)));

async function createSqlite(db: MigrationDb): Promise<void> {
  await sql`
    create table execution_events (
      id integer primary key autoincrement,
      execution_id text not null,
      tenant_id text not null,
      status text not null,
      previous_status text,
      created_at text not null
    )`.execute(db);
  await createCommonTables(db, sql`integer primary key autoincrement`, sql`integer`);
  const now = sql`strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`;
  const append = (id: string, tenant: string, status: string, previous: string) =>
    sql`insert into execution_events (execution_id, tenant_id, status, previous_status, created_at)
        values (${sql.raw(id)}, ${sql.raw(tenant)}, ${sql.raw(status)}, ${sql.raw(previous)}, ${now});`;
  await sql`
    create trigger job_executions_event_insert after insert on job_executions
    begin ${append('new.id', 'new.tenant_id', 'new.status', 'null')} end`.execute(db);
  await sql`
    create trigger job_executions_event_update after update of status on job_executions
    when new.status is not old.status
    begin ${append('new.id', 'new.tenant_id', 'new.status', 'old.status')} end`.execute(db);
  await sql`
    create trigger job_executions_event_delete after delete on job_executions
    begin ${append('old.id', 'old.tenant_id', `'DELETED'`, 'old.status')} end`.execute(db);
  await sql`
    create trigger execution_events_webhooks after insert on execution_events
    when new.status in (${terminalList})
    begin ${queueDeliveries} end`.execute(db);
}

async function createPostgres(db: MigrationDb): Promise<void> {
  const text = sql`text collate "C"`;
  await sql`
    create table execution_events (
      id bigint generated always as identity primary key,
      execution_id ${text} not null,
      tenant_id ${text} not null,
      status ${text} not null,
      previous_status ${text},
      created_at ${text} not null
    )`.execute(db);
  await createCommonTables(db, sql`bigint generated always as identity primary key`, sql`bigint`);
  const now = sql`to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  await sql`
    create function oasis_append_execution_event() returns trigger language plpgsql as $$
    declare
      appended bigint;
    begin
      if tg_op = 'UPDATE' and new.status is not distinct from old.status then
        return null;
      end if;
      perform pg_advisory_xact_lock(${sql.lit(EVENT_ORDER_LOCK_KEY)});
      if tg_op = 'INSERT' then
        insert into execution_events (execution_id, tenant_id, status, previous_status, created_at)
        values (new.id, new.tenant_id, new.status, null, ${now}) returning id into appended;
      elsif tg_op = 'UPDATE' then
        insert into execution_events (execution_id, tenant_id, status, previous_status, created_at)
        values (new.id, new.tenant_id, new.status, old.status, ${now}) returning id into appended;
      else
        insert into execution_events (execution_id, tenant_id, status, previous_status, created_at)
        values (old.id, old.tenant_id, 'DELETED', old.status, ${now}) returning id into appended;
      end if;
      perform pg_notify(${sql.lit(EXECUTION_EVENTS_CHANNEL)}, appended::text);
      return null;
    end
    $$`.execute(db);
  await sql`
    create trigger job_executions_events after insert or update of status or delete on job_executions
    for each row execute function oasis_append_execution_event()`.execute(db);
  await sql`
    create function oasis_queue_webhook_deliveries() returns trigger language plpgsql as $$
    begin
      ${queueDeliveries}
      return null;
    end
    $$`.execute(db);
  await sql`
    create trigger execution_events_webhooks after insert on execution_events
    for each row when (new.status in (${terminalList}))
    execute function oasis_queue_webhook_deliveries()`.execute(db);
}

/** One delivery per webhook of the event's project, due at once. */
const queueDeliveries = sql`
  insert into webhook_deliveries
    (webhook_id, tenant_id, event_id, execution_id, status, previous_status, event_time, state, attempts, next_attempt_at, created_at)
  select w.id, new.tenant_id, new.id, new.execution_id, new.status, new.previous_status, new.created_at, 'pending', 0, new.created_at, new.created_at
  from webhooks w where w.tenant_id = new.tenant_id;`;

async function createCommonTables(
  db: MigrationDb,
  serial: ReturnType<typeof sql>,
  bigint: ReturnType<typeof sql>,
): Promise<void> {
  // The highest event id pruning has removed: a stream resuming from an older id has lost events.
  await sql`create table execution_events_pruned (id integer primary key, through_id ${bigint} not null)`.execute(db);
  await sql`
    create table webhooks (
      id text primary key,
      tenant_id text not null,
      url text not null,
      secret text not null,
      created_at text not null
    )`.execute(db);
  // A copy of the event, so that pruning the log never takes a delivery's content with it.
  await sql`
    create table webhook_deliveries (
      id ${serial},
      webhook_id text not null,
      tenant_id text not null,
      event_id ${bigint} not null,
      execution_id text not null,
      status text not null,
      previous_status text,
      event_time text not null,
      state text not null,
      attempts integer not null,
      next_attempt_at text not null,
      lease_owner text,
      lease_expires_at text,
      last_error text,
      finished_at text,
      created_at text not null
    )`.execute(db);
}
