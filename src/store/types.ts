/**
 * Row types and the Store interface. Every Store implementation (SQLite, PostgreSQL) passes the
 * same conformance suite in test/store/. Records are plain objects: JSON columns are parsed,
 * booleans are booleans, times are ISO-8601 UTC strings with milliseconds (`...Z`).
 */

export const JOB_TYPES = [
  'Hive',
  'Java',
  'MapReduce',
  'MapReduce.Streaming',
  'Pig',
  'Shell',
  'Spark',
  'Storm',
  'Storm.Pyleus',
] as const;
export type JobType = (typeof JOB_TYPES)[number];

export const DATA_SOURCE_TYPES = ['swift', 'hdfs', 'maprfs', 'manila', 's3', 'file'] as const;
export type DataSourceType = (typeof DATA_SOURCE_TYPES)[number];

export type EngineKind = 'local' | 'spark' | 'yarn';

/** A simple_config value: Sahara accepts strings, integers and booleans. */
export type ConfigValue = string | number | boolean;

export interface Owned {
  id: string;
  tenant_id: string;
  /** null only when a client PATCHed it to null (Sahara renders that null back). */
  is_public: boolean | null;
  is_protected: boolean | null;
  created_at: string;
  updated_at: string | null;
}

export interface JobBinaryInternalRecord extends Owned {
  name: string;
  datasize: number;
}

export interface JobBinaryRecord extends Owned {
  name: string;
  description: string;
  url: string;
  /** Credentials for remote binaries; never rendered. */
  extra: Record<string, ConfigValue>;
}

export interface DataSourceRecord extends Owned {
  name: string;
  description: string;
  type: DataSourceType;
  url: string;
  /** Never rendered. */
  credentials: Record<string, unknown>;
}

export interface InterfaceArg {
  id: string;
  name: string;
  description: string | null;
  mapping_type: 'args' | 'configs' | 'params';
  location: string;
  value_type: 'string' | 'number' | 'data_source';
  required: boolean;
  default: string | null;
  /** 0-based position in the template's interface list. */
  order: number;
}

export interface JobTemplateRecord extends Owned {
  name: string;
  description: string;
  type: JobType;
  /** Job-binary ids, in order. */
  mains: string[];
  libs: string[];
  interface: InterfaceArg[];
}

export interface ClusterRecord extends Owned {
  name: string;
  description: string;
  plugin_name: string;
  hadoop_version: string;
  /** Which engine runs this cluster's jobs. Derived from plugin_name at registration. */
  engine: EngineKind;
  /** Sahara's cluster status: Active, Error, ... */
  status: string;
  status_description: string;
  /** Sahara's `cluster_configs`; an engine's connection settings live in one section of it. */
  cluster_configs: Record<string, Record<string, unknown>>;
}

export interface JobConfigs {
  configs?: Record<string, ConfigValue>;
  params?: Record<string, ConfigValue>;
  args?: string[];
  job_execution_info?: Record<string, ConfigValue>;
  [section: string]: unknown;
}

export interface JobExecutionRecord extends Owned {
  job_id: string;
  cluster_id: string;
  input_id: string | null;
  output_id: string | null;
  /** Mirrors info.status; a column of its own so it can be filtered, sorted and claimed. */
  status: string;
  info: Record<string, unknown>;
  engine_job_id: string | null;
  return_code: string | null;
  job_configs: JobConfigs;
  extra: Record<string, unknown>;
  data_source_urls: Record<string, string> | null;
  start_time: string | null;
  end_time: string | null;
  /** The Oasis node that launched and tracks this execution, and until when it holds it. */
  lease_owner: string | null;
  lease_expires_at: string | null;
  /** Set when a client asked to cancel (or delete: `delete_requested`). */
  cancel_requested: boolean;
  delete_requested: boolean;
}

// ---------------------------------------------------------------------------------------------
// Listing

export type Filter =
  | { field: string; op: 'eq'; value: string | number | boolean | null }
  /** Case-insensitive equality (Sahara's `status` filter). */
  | { field: string; op: 'ieq'; value: string }
  /** Substring match (Sahara's regex filters on names, descriptions, urls). */
  | { field: string; op: 'contains'; value: string };

export interface ListQuery {
  /** Visibility: rows of this tenant, plus public rows of any tenant. */
  tenantId: string;
  /** Field names are already validated by the API against the resource's filterable fields. */
  filters: Filter[];
  sort: { field: string; descending: boolean };
  limit?: number;
  marker?: string;
  /**
   * Sahara's two marker semantics (docs/compatibility.md#paging-markers): job executions start the page AT the marker;
   * every other resource starts strictly AFTER it.
   */
  markerMode: 'at' | 'after';
}

export interface Page<T> {
  items: T[];
  prev: string | null;
  next: string | null;
}

/** Fields of a new row that the store fills in itself. */
type Generated = 'created_at' | 'updated_at';
export type NewRow<T extends Owned> = Omit<T, Generated>;
/** An update: any field but the identity and timestamps; the store sets updated_at. */
export type RowPatch<T extends Owned> = Partial<Omit<T, 'id' | 'tenant_id' | Generated>>;

/**
 * The operations every resource shares. `get` does not apply visibility: callers decide what a
 * tenant may see (see src/store/visibility.ts), because Sahara's rules differ per operation.
 */
export interface Repository<T extends Owned> {
  insert(row: NewRow<T>): Promise<T>;
  get(id: string): Promise<T | undefined>;
  list(query: ListQuery): Promise<Page<T>>;
  /** Returns the updated row, or undefined when the row is gone. */
  update(id: string, patch: RowPatch<T>): Promise<T | undefined>;
  /** Returns false when the row was already gone. */
  delete(id: string): Promise<boolean>;
  /** Visible (own or public) rows with exactly this name. */
  findByName(tenantId: string, name: string): Promise<T[]>;
}

export interface JobBinaryInternalRepository extends Repository<JobBinaryInternalRecord> {
  /** Inserts the row and its bytes together; datasize is taken from data. */
  insertWithData(
    row: Omit<NewRow<JobBinaryInternalRecord>, 'datasize'>,
    data: Buffer,
  ): Promise<JobBinaryInternalRecord>;
  getData(id: string): Promise<Buffer | undefined>;
}

export interface JobBinaryRepository extends Repository<JobBinaryRecord> {
  /** Ids of templates (any tenant) that use this binary as a main or a lib. */
  templatesUsing(binaryId: string): Promise<string[]>;
  /** Binaries (any tenant) whose url is `internal-db://<jbiId>`. */
  referencingInternal(jbiId: string): Promise<string[]>;
}

export interface DataSourceRepository extends Repository<DataSourceRecord> {
  /** Ids of executions (any tenant) that use this data source as input, output or in data_source_urls. */
  executionsUsing(dataSourceId: string, statuses?: readonly string[]): Promise<string[]>;
}

export interface JobTemplateRepository extends Repository<JobTemplateRecord> {
  /** Ids of executions (any tenant) of this template. */
  executionsOf(templateId: string): Promise<string[]>;
}

export interface ClusterRepository extends Repository<ClusterRecord> {
  /** Ids of executions (any tenant) on this cluster that have not ended. */
  activeExecutions(clusterId: string): Promise<string[]>;
  /** Every registered cluster of any tenant run by one of these engines (for health checks). */
  listByEngine(engines: readonly EngineKind[]): Promise<ClusterRecord[]>;
}

export interface ClaimOptions {
  nodeId: string;
  /** Only executions in these statuses. */
  statuses: readonly string[];
  /** Only executions on clusters run by these engines. */
  engines: readonly EngineKind[];
  limit: number;
  leaseMs: number;
  /**
   * Only executions another node held and stopped renewing at least this long ago (a lost node's
   * local jobs); without it, also unowned ones and any lease the moment it expires.
   */
  lostForMs?: number;
}

export interface JobExecutionRepository extends Repository<JobExecutionRecord> {
  /**
   * Compare-and-set update: applies the patch only when the row's current status is one of
   * `statusIn` (and, if given, the lease is held by `owner`). Returns undefined when the guard
   * failed or the row is gone. This is how two actors (a cancel and the reconciler, two nodes)
   * never both act on one transition.
   */
  updateIf(
    id: string,
    guard: { statusIn?: readonly string[]; owner?: string },
    patch: RowPatch<JobExecutionRecord>,
  ): Promise<JobExecutionRecord | undefined>;
  /**
   * Atomically takes a lease on up to `limit` executions matching the options that have no
   * owner or whose lease has expired, oldest created first, and returns them. Two nodes calling
   * this at once never get the same row.
   */
  claim(options: ClaimOptions): Promise<JobExecutionRecord[]>;
  /** Extends every lease `nodeId` holds on a non-terminal execution. */
  renewLeases(nodeId: string, leaseMs: number): Promise<number>;
  /** Non-terminal executions (end_time null) whose lease `nodeId` holds. */
  listOwned(nodeId: string): Promise<JobExecutionRecord[]>;
  /** How many non-terminal executions on `engines` are past PENDING (started and not ended). */
  countActive(nodeId: string, engines: readonly EngineKind[]): Promise<number>;
}

export type DatabaseStats =
  { dialect: 'postgres'; connections: number; idle: number; waiting: number } | { dialect: 'sqlite'; bytes: number };

/**
 * What a creating request sent with an `Idempotency-Key` answered, kept until `expires_at` so that
 * a retry with the same key gets the same answer instead of creating a second row.
 */
export interface IdempotencyKeyRecord {
  tenant_id: string;
  idempotency_key: string;
  /** Hash of the request (method, route, body): the same key with another request is refused. */
  request_hash: string;
  status_code: number;
  /** The response body exactly as it was sent. */
  response: string;
  created_at: string;
  expires_at: string;
}

export interface IdempotencyKeyRepository {
  /** The tenant's record of `key`, unless it expired before `now` (ISO time). */
  get(tenantId: string, key: string, now: string): Promise<IdempotencyKeyRecord | undefined>;
  /**
   * Stores a key, replacing a record of it that expired by `created_at`. Throws
   * DuplicateEntryError when the tenant's key is live (stored by a request that won).
   */
  insert(record: IdempotencyKeyRecord): Promise<void>;
  /** Deletes the records expired by `now`; returns how many. */
  prune(now: string): Promise<number>;
}

/** The repositories of a Store bound to one transaction (see Store.transaction). */
export type StoreTransaction = Omit<
  Store,
  'transaction' | 'ping' | 'close' | 'databaseStats' | 'executionEvents' | 'webhooks' | 'onEventsAppended'
>;

export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  readonly jobBinaryInternals: JobBinaryInternalRepository;
  readonly jobBinaries: JobBinaryRepository;
  readonly dataSources: DataSourceRepository;
  readonly jobTemplates: JobTemplateRepository;
  readonly clusters: ClusterRepository;
  readonly jobExecutions: JobExecutionRepository;
  readonly executionEvents: ExecutionEventRepository;
  readonly webhooks: WebhookRepository;
  /**
   * Calls `listener` when execution events may have been appended, by this process or another
   * (PostgreSQL: a notification at commit; SQLite: this process's writes and data_version), and
   * when notifications may have been missed. Readers then read the log after their last id.
   * Returns the function that unsubscribes.
   */
  onEventsAppended(listener: () => void): () => void;
  readonly idempotencyKeys: IdempotencyKeyRepository;
  /**
   * Runs `work` in one transaction over repositories bound to it: everything it writes commits
   * together, or nothing does. `work` must use only the repositories it is given (on SQLite a
   * call through the Store itself would wait for the transaction to end).
   */
  transaction<R>(work: (tx: StoreTransaction) => Promise<R>): Promise<R>;
  /** Cheap round trip, for health checks. Throws StoreUnavailableError when the database is down. */
  ping(): Promise<void>;
  /** The connection pool's state (PostgreSQL) or the database's size on disk (SQLite), for /metrics. */
  databaseStats(): DatabaseStats;
  /** Idempotent. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Execution events and webhooks (migration 4): rows written by triggers, read here.

/** One status change of an execution, numbered in commit order. */
export interface ExecutionEventRecord {
  id: number;
  execution_id: string;
  tenant_id: string;
  /** The new status, or `DELETED` when the execution's row was removed. */
  status: string;
  /** null for the event of the execution's creation. */
  previous_status: string | null;
  created_at: string;
}

export interface ExecutionEventRepository {
  /** Events with an id above `afterId`, oldest first: of one tenant, or of all without `tenantId`. */
  listAfter(afterId: number, options: { tenantId?: string; limit: number }): Promise<ExecutionEventRecord[]>;
  /** The highest event id given so far, pruned ones included (0 when there is none). */
  latestId(): Promise<number>;
  /** The highest event id pruning has removed: a reader behind it has lost events. */
  prunedThrough(): Promise<number>;
  /** Removes the events created before `before` (ISO time); returns how many. */
  prune(before: string): Promise<number>;
}

export interface WebhookRecord {
  id: string;
  tenant_id: string;
  url: string;
  /** The HMAC key of its deliveries; never rendered nor logged. */
  secret: string;
  created_at: string;
}

export type DeliveryState = 'pending' | 'delivered' | 'failed';

/** One event to send to one webhook: a copy of the event, and where its delivery stands. */
export interface WebhookDeliveryRecord {
  id: number;
  webhook_id: string;
  tenant_id: string;
  event_id: number;
  execution_id: string;
  status: string;
  previous_status: string | null;
  event_time: string;
  state: DeliveryState;
  attempts: number;
  next_attempt_at: string;
  lease_owner: string | null;
  lease_expires_at: string | null;
  last_error: string | null;
  finished_at: string | null;
  created_at: string;
}

/** A claimed delivery with what sending it needs. */
export interface DueDelivery extends WebhookDeliveryRecord {
  url: string;
  secret: string;
}

export interface WebhookRepository {
  /** Inserts unless the tenant already has `max` webhooks (then undefined); atomic per tenant. */
  insertBounded(row: Omit<WebhookRecord, 'created_at'>, max: number): Promise<WebhookRecord | undefined>;
  get(id: string): Promise<WebhookRecord | undefined>;
  listByTenant(tenantId: string): Promise<WebhookRecord[]>;
  /** Removes the webhook and its deliveries not yet sent; false when it was already gone. */
  delete(id: string): Promise<boolean>;
  /**
   * Leases up to `limit` pending deliveries that are due and not leased by a live node, oldest
   * first. Two nodes calling this at once never get the same delivery.
   */
  claimDeliveries(options: { nodeId: string; limit: number; leaseMs: number; now: string }): Promise<DueDelivery[]>;
  /** Records an attempt's outcome, if `nodeId` still holds the lease. */
  recordAttempt(
    id: number,
    nodeId: string,
    outcome: Pick<WebhookDeliveryRecord, 'state' | 'attempts' | 'next_attempt_at' | 'last_error' | 'finished_at'>,
  ): Promise<boolean>;
  /** Deliveries of one webhook, oldest first (newest `limit`). */
  listDeliveries(webhookId: string, limit: number): Promise<WebhookDeliveryRecord[]>;
  /** Removes the delivered and failed deliveries finished before `before`. */
  pruneDeliveries(before: string): Promise<number>;
}
