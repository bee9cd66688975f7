import { type Kysely, sql } from 'kysely';
import type { Database } from './database.js';
import { executionEventsMigration } from './migrations/execution-events.js';
import type { DialectName, Migration } from './migrations/migration.js';
import { EXECUTION_CHANGES_CHANNEL } from './postgres-changes.js';

export type { DialectName, Migration } from './migrations/migration.js';

/** The built-in cluster every installation has: jobs run as supervised processes on the host. */
export const LOCAL_CLUSTER_ID = '00000000-0000-4000-8000-000000000001';

/**
 * Append-only: a migration that has shipped is never edited, only followed by a new one.
 * Each runs inside the caller's transaction and migration lock (see runMigrations).
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'create EDP tables and the local cluster',
    async up(db, dialect) {
      const bool = dialect === 'sqlite' ? 'integer' : 'boolean';
      // Byte-order text on PostgreSQL too, so names sort the same on both dialects whatever the
      // server's locale (SQLite compares text with BINARY).
      const text = dialect === 'sqlite' ? 'text' : sql`text collate "C"`;
      const bytes = dialect === 'sqlite' ? 'blob' : 'bytea';
      const owned = (table: string) =>
        db.schema
          .createTable(table)
          .addColumn('id', text, (c) => c.primaryKey())
          .addColumn('tenant_id', text, (c) => c.notNull())
          .addColumn('is_public', bool)
          .addColumn('is_protected', bool)
          .addColumn('created_at', text, (c) => c.notNull())
          .addColumn('updated_at', text);

      await owned('job_binary_internals')
        .addColumn('name', text, (c) => c.notNull())
        .addColumn('datasize', 'integer', (c) => c.notNull())
        .addUniqueConstraint('job_binary_internals_tenant_name', ['tenant_id', 'name'])
        .execute();
      // The bytes live apart so that listing and getting JBIs never reads them.
      await db.schema
        .createTable('job_binary_internal_data')
        .addColumn('id', text, (c) => c.primaryKey())
        .addColumn('data', bytes, (c) => c.notNull())
        .execute();

      await owned('job_binaries')
        .addColumn('name', text, (c) => c.notNull())
        .addColumn('description', text, (c) => c.notNull())
        .addColumn('url', text, (c) => c.notNull())
        .addColumn('extra', text, (c) => c.notNull())
        .addUniqueConstraint('job_binaries_tenant_name', ['tenant_id', 'name'])
        .execute();
      await db.schema.createIndex('job_binaries_url').on('job_binaries').column('url').execute();

      await owned('data_sources')
        .addColumn('name', text, (c) => c.notNull())
        .addColumn('description', text, (c) => c.notNull())
        .addColumn('type', text, (c) => c.notNull())
        .addColumn('url', text, (c) => c.notNull())
        .addColumn('credentials', text, (c) => c.notNull())
        .execute();

      await owned('job_templates')
        .addColumn('name', text, (c) => c.notNull())
        .addColumn('description', text, (c) => c.notNull())
        .addColumn('type', text, (c) => c.notNull())
        .addColumn('interface', text, (c) => c.notNull())
        .addUniqueConstraint('job_templates_tenant_name', ['tenant_id', 'name'])
        .execute();
      // mains and libs as rows, so "which templates use this binary" is an index lookup.
      await db.schema
        .createTable('job_template_binaries')
        .addColumn('template_id', text, (c) => c.notNull())
        .addColumn('binary_id', text, (c) => c.notNull())
        .addColumn('role', text, (c) => c.notNull())
        .addColumn('position', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('job_template_binaries_pk', ['template_id', 'role', 'position'])
        .execute();
      await db.schema
        .createIndex('job_template_binaries_binary')
        .on('job_template_binaries')
        .column('binary_id')
        .execute();

      await owned('clusters')
        .addColumn('name', text, (c) => c.notNull())
        .addColumn('description', text, (c) => c.notNull())
        .addColumn('plugin_name', text, (c) => c.notNull())
        .addColumn('hadoop_version', text, (c) => c.notNull())
        .addColumn('engine', text, (c) => c.notNull())
        .addColumn('status', text, (c) => c.notNull())
        .addColumn('status_description', text, (c) => c.notNull())
        .addColumn('cluster_configs', text, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('clusters_engine').on('clusters').columns(['engine', 'id']).execute();

      await owned('job_executions')
        .addColumn('job_id', text, (c) => c.notNull())
        .addColumn('cluster_id', text, (c) => c.notNull())
        .addColumn('input_id', text)
        .addColumn('output_id', text)
        .addColumn('status', text, (c) => c.notNull())
        .addColumn('info', text, (c) => c.notNull())
        .addColumn('engine_job_id', text)
        .addColumn('return_code', text)
        .addColumn('job_configs', text, (c) => c.notNull())
        .addColumn('extra', text, (c) => c.notNull())
        .addColumn('data_source_urls', text)
        .addColumn('start_time', text)
        .addColumn('end_time', text)
        .addColumn('lease_owner', text)
        .addColumn('lease_expires_at', text)
        .addColumn('cancel_requested', bool, (c) => c.notNull().defaultTo(sql.lit(false)))
        .addColumn('delete_requested', bool, (c) => c.notNull().defaultTo(sql.lit(false)))
        .execute();
      const executionIndexes: Record<string, string[]> = {
        job_executions_created: ['created_at', 'id'],
        job_executions_tenant_created: ['tenant_id', 'created_at', 'id'],
        job_executions_job: ['job_id'],
        job_executions_cluster: ['cluster_id'],
        job_executions_input: ['input_id'],
        job_executions_output: ['output_id'],
        // What claim and the reconciler look for: runnable statuses, then the lease.
        job_executions_status_created: ['status', 'created_at', 'id'],
        job_executions_lease: ['lease_owner', 'end_time'],
      };
      for (const [name, columns] of Object.entries(executionIndexes)) {
        await db.schema.createIndex(name).on('job_executions').columns(columns).execute();
      }

      await db
        .insertInto('clusters')
        .values({
          id: LOCAL_CLUSTER_ID,
          tenant_id: 'oasis',
          is_public: sql.lit(true),
          is_protected: sql.lit(true),
          created_at: new Date().toISOString(),
          updated_at: null,
          name: 'local',
          description: 'Runs jobs as supervised processes on the Oasis host',
          plugin_name: 'local',
          hadoop_version: '1.0',
          engine: 'local',
          status: 'Active',
          status_description: '',
          cluster_configs: '{}',
        })
        .execute();
    },
  },
  {
    version: 2,
    name: 'notify every node of execution changes (PostgreSQL)',
    async up(db, dialect) {
      // SQLite needs nothing: its data_version tells a process of other processes' commits.
      if (dialect !== 'postgres') return;
      // Notifications are sent at commit, so a node never hears of a change it cannot read yet.
      await sql`
        create function oasis_notify_job_execution() returns trigger language plpgsql as $$
        begin
          perform pg_notify(${sql.lit(EXECUTION_CHANGES_CHANNEL)}, coalesce(new.id, old.id));
          return null;
        end
        $$`.execute(db);
      await sql`
        create trigger job_executions_notify after insert or update or delete on job_executions
        for each row execute function oasis_notify_job_execution()`.execute(db);
    },
  },
  {
    version: 3,
    name: 'idempotency keys of creating requests',
    async up(db, dialect) {
      const text = dialect === 'sqlite' ? 'text' : sql`text collate "C"`;
      // The primary key is what decides between two concurrent requests with one key.
      await db.schema
        .createTable('idempotency_keys')
        .addColumn('tenant_id', text, (c) => c.notNull())
        .addColumn('idempotency_key', text, (c) => c.notNull())
        .addColumn('request_hash', text, (c) => c.notNull())
        .addColumn('status_code', 'integer', (c) => c.notNull())
        .addColumn('response', text, (c) => c.notNull())
        .addColumn('created_at', text, (c) => c.notNull())
        .addColumn('expires_at', text, (c) => c.notNull())
        .addPrimaryKeyConstraint('idempotency_keys_pk', ['tenant_id', 'idempotency_key'])
        .execute();
      await db.schema.createIndex('idempotency_keys_expires').on('idempotency_keys').column('expires_at').execute();
    },
  },
  executionEventsMigration,
];

export const LEDGER_TABLE = 'oasis_migrations';

/**
 * Applies the migrations the ledger does not list yet. The caller holds the dialect's migration
 * lock on `db` (one connection), so two nodes starting together apply each migration once.
 * `inTransaction` wraps one migration and its ledger row so a crash leaves neither half-done.
 */
export async function applyPendingMigrations(
  db: Kysely<Database>,
  dialect: DialectName,
  inTransaction: (work: () => Promise<void>) => Promise<void>,
): Promise<number[]> {
  await db.schema
    .createTable(LEDGER_TABLE)
    .ifNotExists()
    .addColumn('version', 'integer', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('applied_at', 'text', (c) => c.notNull())
    .execute();
  const rows = await db.selectFrom(LEDGER_TABLE).select('version').execute();
  const applied = new Set(rows.map((row) => Number(row.version)));
  const done: number[] = [];
  for (const migration of MIGRATIONS) {
    if (applied.has(migration.version)) continue;
    await inTransaction(async () => {
      await migration.up(db, dialect);
      await db
        .insertInto(LEDGER_TABLE)
        .values({ version: migration.version, name: migration.name, applied_at: new Date().toISOString() })
        .execute();
    });
    done.push(migration.version);
  }
  return done;
}
