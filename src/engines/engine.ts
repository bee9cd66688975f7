import type { ExecutionStatus } from '../store/statuses.js';

export { JobStartError, TransientEngineError } from './errors.js';
import type { ClusterRecord, ConfigValue, EngineKind, JobExecutionRecord, JobType } from '../store/types.js';

/**
 * What engines know of a registered cluster: its name (for messages), its version and its
 * connection settings. Nothing about tenants, visibility or status.
 */
export interface EngineCluster {
  name: string;
  hadoop_version: string;
  /** Sahara's `cluster_configs`; an engine's connection settings live in one section of it. */
  cluster_configs: ClusterRecord['cluster_configs'];
}

/**
 * The seam between Oasis's lifecycle rules (src/executions) and the systems that really run jobs.
 * Engines know nothing about tenants, the API or the database; they take a fully resolved job,
 * run it, report on it and stop it.
 */
export interface Engine {
  readonly kind: EngineKind;

  /** Job types this engine can run on the given cluster; others are refused at execute (400). */
  supportedJobTypes(cluster: EngineCluster): readonly JobType[];

  /**
   * Engine-specific execute-time checks (main class present, supported binary URLs, ...).
   * Throws InvalidJob (see errors.ts); runs before the execution is stored.
   */
  validate(job: JobSpec, cluster: EngineCluster): void;

  /**
   * Starts the job. Resolves once the engine has accepted it, with the id under which it can be
   * found again, even by a restarted Oasis. Throws JobStartError when the job cannot start
   * (becomes FAILED) and TransientEngineError when the engine cannot be reached (retried later).
   *
   * Idempotent per `job.executionId`: Oasis may die after the engine started a job but before
   * the execution row recorded it, and a restarted Oasis then submits the same execution again.
   * An engine that finds a job it already started for that execution adopts it (returns its id
   * and current status, possibly terminal) instead of starting a second one.
   */
  submit(job: JobSpec, cluster: EngineCluster): Promise<Submission>;

  /** Current state of a submitted job. Throws TransientEngineError when the engine is unreachable. */
  status(ref: EngineJobRef, cluster: EngineCluster): Promise<EngineStatus>;

  /**
   * Asks the engine to stop the job. Resolves with the resulting status when it is already known
   * (e.g. KILLED), or undefined when the kill is under way and a later `status` will tell.
   */
  cancel(ref: EngineJobRef, cluster: EngineCluster): Promise<EngineStatus | undefined>;

  /** Removes what the execution left behind (working directories, staged files). Idempotent. */
  cleanup(ref: EngineJobRef, cluster: EngineCluster): Promise<void>;

  /**
   * Optional push channel: engines that learn of a job's end the moment it happens (the local
   * engine sees its child exit) call the listener, so statuses turn terminal without waiting for
   * the next poll.
   */
  onStatusChange?(listener: (executionId: string, status: EngineStatus) => void): void;

  /**
   * Checks a cluster registration's connection settings (`cluster_configs`, `hadoop_version`)
   * before it is stored; throws ClusterSettingsInvalid naming every bad setting. Engines whose
   * clusters cannot be registered (local) leave it out.
   */
  validateCluster?(cluster: Pick<EngineCluster, 'hadoop_version' | 'cluster_configs'>): void;

  /** Whether the cluster's services answer: `Active`, or `Error` with a reason. */
  checkCluster(cluster: EngineCluster): Promise<{ status: 'Active' | 'Error'; description: string }>;

  /** Stops watching; running jobs keep running so a restarted Oasis can re-adopt them. */
  close(): Promise<void>;

  /**
   * Optional: up to `read.maxBytes` bytes of the job's stdout or stderr from byte `read.offset`,
   * wherever the engine keeps them (see docs/logs.md). An offset past the end answers no bytes.
   * Throws TransientEngineError when the cluster holding them cannot be reached.
   */
  readLogs?(target: LogTarget, cluster: ClusterRecord, read: LogRead): Promise<LogChunk>;
}

export type LogStream = 'stdout' | 'stderr';

/** The execution whose logs are read: its ref when the engine has accepted it, and its last info. */
export interface LogTarget {
  executionId: string;
  engineJobId: string | null;
  extra: Record<string, unknown>;
  info: Record<string, unknown>;
}

export interface LogRead {
  stream: LogStream;
  offset: number;
  maxBytes: number;
}

export interface LogChunk {
  data: Buffer;
  /** The offset of the byte after `data`: where the next read starts. */
  nextOffset: number;
}

/** A job binary's contents, fetched on demand (from the database for internal-db://). */
export interface JobFile {
  name: string;
  url: string;
  read(): Promise<Buffer>;
}

/** Everything an engine needs to run one execution, with data-source references resolved. */
export interface JobSpec {
  executionId: string;
  jobType: JobType;
  templateName: string;
  mains: JobFile[];
  libs: JobFile[];
  configs: Record<string, ConfigValue>;
  params: Record<string, ConfigValue>;
  args: string[];
  /** Runtime URLs of the input and output data sources, when given. */
  inputUrl: string | null;
  outputUrl: string | null;
}

export interface EngineJobRef {
  executionId: string;
  engineJobId: string;
  /** What the engine stored in the execution's `extra` at submit time. */
  extra: Record<string, unknown>;
}

export interface Submission {
  engineJobId: string;
  status: EngineStatus;
  /** Engine bookkeeping kept in the execution's `extra` (never needed by clients). */
  extra: Record<string, unknown>;
}

export interface EngineStatus {
  status: ExecutionStatus;
  /** Extra fields merged into the execution's `info` (engine state, ids, URLs, reason). */
  info?: Record<string, unknown>;
  /** The job's exit code when known (rendered as the string `return_code`). */
  returnCode?: number | null;
}

/** The few pino methods engines use, so any pino-like logger fits. */
export interface EngineLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** The engines by kind, as wired in main.ts. */
export type Engines = ReadonlyMap<EngineKind, Engine>;

export function refOf(execution: JobExecutionRecord): EngineJobRef | undefined {
  if (!execution.engine_job_id) return undefined;
  return { executionId: execution.id, engineJobId: execution.engine_job_id, extra: execution.extra };
}
