import type { ColumnType, Generated, GeneratedAlways } from 'kysely';
import type { IdempotencyKeyRecord, WebhookDeliveryRecord, WebhookRecord } from './types.js';

/**
 * The schema the migrations create (migrations.ts, migrations/), as Kysely sees it: what a query
 * reads back from each column and what it may write to it. Both dialects run the same queries,
 * so a column's type is what either driver returns. Records (types.ts) are what callers see.
 *
 * A new column takes a new migration and its line here; tsc then names the rest: the table's
 * TableSpec in tables.ts and its record in types.ts are checked against these tables.
 */
export interface Database {
  job_binary_internals: JobBinaryInternalsTable;
  job_binary_internal_data: JobBinaryInternalDataTable;
  job_binaries: JobBinariesTable;
  data_sources: DataSourcesTable;
  job_templates: JobTemplatesTable;
  job_template_binaries: JobTemplateBinariesTable;
  clusters: ClustersTable;
  job_executions: JobExecutionsTable;
  idempotency_keys: IdempotencyKeysTable;
  execution_events: ExecutionEventsTable;
  execution_events_pruned: ExecutionEventsPrunedTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  oasis_migrations: MigrationsLedgerTable;
}

/**
 * A boolean column: PostgreSQL's boolean, SQLite's integer 0 or 1. Queries write booleans on both
 * dialects (the SQLite connection turns them into 0/1); decodeRow turns 0/1 back into booleans.
 */
type StoredBoolean<Null extends null = never> = ColumnType<boolean | number | Null, boolean | Null, boolean | Null>;
/** A boolean column with a default (false): an insert may leave it out. */
type DefaultedBoolean = ColumnType<boolean | number, boolean | undefined, boolean>;

/**
 * JSON held as text, the same on both dialects: encodeRow writes JSON.stringify of the record's
 * field and decodeRow parses it. The marker (a type only, never a value) keeps these columns apart
 * from plain text, so that tables.ts can check its lists of JSON columns against the schema.
 */
export interface JsonText<Null extends null = never> extends ColumnType<string | Null, string | Null, string | Null> {
  readonly __json__: true;
}

/** PostgreSQL's bigint arrives as a string (pg leaves int8 unparsed); SQLite's integer as a number. */
type BigInteger = number | string;

/** id, tenant_id, visibility and timestamps: the columns every API resource table starts with. */
export interface OwnedColumns {
  id: string;
  tenant_id: string;
  is_public: StoredBoolean<null>;
  is_protected: StoredBoolean<null>;
  created_at: string;
  updated_at: string | null;
}

export interface JobBinaryInternalsTable extends OwnedColumns {
  name: string;
  datasize: number;
}

/** The bytes of a job binary internal, apart so that reading its row never reads them. */
export interface JobBinaryInternalDataTable {
  id: string;
  data: Buffer;
}

export interface JobBinariesTable extends OwnedColumns {
  name: string;
  description: string;
  url: string;
  extra: JsonText;
}

export interface DataSourcesTable extends OwnedColumns {
  name: string;
  description: string;
  type: string;
  url: string;
  credentials: JsonText;
}

export interface JobTemplatesTable extends OwnedColumns {
  name: string;
  description: string;
  type: string;
  interface: JsonText;
}

/** A template's mains and libs, in order of `position` within each role. */
export interface JobTemplateBinariesTable {
  template_id: string;
  binary_id: string;
  role: 'mains' | 'libs';
  position: number;
}

export interface ClustersTable extends OwnedColumns {
  name: string;
  description: string;
  plugin_name: string;
  hadoop_version: string;
  engine: string;
  status: string;
  status_description: string;
  cluster_configs: JsonText;
}

export interface JobExecutionsTable extends OwnedColumns {
  job_id: string;
  cluster_id: string;
  input_id: string | null;
  output_id: string | null;
  status: string;
  info: JsonText;
  engine_job_id: string | null;
  return_code: string | null;
  job_configs: JsonText;
  extra: JsonText;
  data_source_urls: JsonText<null>;
  start_time: string | null;
  end_time: string | null;
  lease_owner: string | null;
  lease_expires_at: string | null;
  cancel_requested: DefaultedBoolean;
  delete_requested: DefaultedBoolean;
}

export type IdempotencyKeysTable = IdempotencyKeyRecord;

/** Written only by the triggers of migration 4; numbered by the database. */
export interface ExecutionEventsTable {
  id: GeneratedAlways<BigInteger>;
  execution_id: string;
  tenant_id: string;
  status: string;
  previous_status: string | null;
  created_at: string;
}

/** One row (id 1): the highest event id pruning has removed. */
export interface ExecutionEventsPrunedTable {
  id: number;
  through_id: ColumnType<BigInteger, number, number>;
}

export type WebhooksTable = WebhookRecord;

/** Queued by the execution events trigger; claimed and updated by the delivery worker. */
export interface WebhookDeliveriesTable extends Omit<WebhookDeliveryRecord, 'id' | 'event_id'> {
  id: Generated<BigInteger>;
  event_id: ColumnType<BigInteger, number, number>;
}

/** The migrations applied, one row each (see applyPendingMigrations). */
export interface MigrationsLedgerTable {
  version: number;
  name: string;
  applied_at: string;
}
