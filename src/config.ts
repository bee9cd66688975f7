import { hostname } from 'node:os';
import path from 'node:path';

/** Oasis's whole configuration, parsed once from the environment and frozen. */
export interface Config {
  host: string;
  port: number;
  dataDir: string;
  /** postgres://… selects PostgreSQL; otherwise SQLite at `<dataDir>/oasis.db`. */
  databaseUrl: string | null;
  auth: 'noauth' | 'tokens' | 'keystone';
  tokensFile: string | null;
  /** With `keystone`: where Keystone is, Oasis's service credentials, the validation cache. */
  keystone: KeystoneConfig | null;
  /** Identity of this Oasis node; leases and local jobs are tied to it. */
  nodeId: string;
  /** How many local jobs run at once on this node; more wait as PENDING, in order. */
  localConcurrency: number;
  /** Largest accepted request body, and largest job-binary-internal. */
  bodyLimitBytes: number;
  /** How often the reconciler polls engines for non-terminal executions. */
  pollIntervalMs: number;
  /** How often registered clusters are checked for whether their services answer. */
  clusterCheckIntervalMs: number;
  /** Grace time between SIGTERM and SIGKILL when a job is cancelled. */
  killGraceMs: number;
  /** A node's lease on an execution; renewed while the node lives. */
  leaseMs: number;
  /**
   * How long past its lease a lost node's local executions wait before another node ends them
   * FAILED (docs/node-loss.md).
   */
  nodeLossGraceMs: number;
  /** Below this much free space in the data dir, new executions are refused (docs/disk-full.md). */
  minFreeDiskBytes: number;
  /** Time allowed to in-flight work at shutdown. */
  shutdownGraceMs: number;
  /** Longest wait for PostgreSQL (a connection, a statement) before the request answers 503. */
  databaseTimeoutMs: number;
  /** How long an Idempotency-Key and its response are kept; a retry after that creates anew. */
  idempotencyTtlMs: number;
  /** A Spark installation on this host, for client-mode (Python) drivers; SPARK_HOME by default. */
  sparkHome: string | null;
  /** The Hadoop client classpath on this host, for YARN submissions (else `hadoop classpath`). */
  hadoopClasspath: string | null;
  /** How jobs on this host are confined: see src/engines/sandbox and docs/sandbox.md. */
  sandbox: SandboxConfig;
  logLevel: string;
  /** `pretty` (pino-pretty) or `json` lines; `auto` is pretty on a terminal and JSON otherwise. */
  logFormat: 'auto' | 'pretty' | 'json';
  /** The bearer token /metrics asks for; without it /metrics is open under noauth only. */
  metricsToken: string | null;
  /** The execution event log and its streams: see docs/events.md. */
  events: EventsConfig;
  /** Webhook deliveries: see docs/webhooks.md. */
  webhooks: WebhooksConfig;
}

/** How Oasis reaches Keystone and how long it trusts an answer: see docs/deployment.md. */
export interface KeystoneConfig {
  /** Keystone's identity API, e.g. `http://keystone:5000/v3` (a URL without `/v3` gets it added). */
  url: string;
  /** Oasis's service user, and the project its own token is scoped to. */
  username: string;
  password: string;
  projectName: string;
  userDomainName: string;
  projectDomainName: string;
  /** Longest time a validation is reused; never past the token's own expiry. */
  cacheTimeMs: number;
  /** Most validations remembered at once; the least recently used go first. */
  cacheSize: number;
  /** Longest wait for one answer from Keystone before the request answers 503. */
  timeoutMs: number;
}

export interface EventsConfig {
  /** How long events are kept; older ones are pruned and a stream resuming before them is told. */
  retentionMs: number;
  /** How often an idle event stream sends a comment, so proxies keep it open. */
  heartbeatMs: number;
  /** Event streams open at once per project, on each node. */
  maxStreamsPerProject: number;
}

export interface WebhooksConfig {
  /** Whether webhook URLs may reach loopback and private addresses (never link-local). */
  allowPrivate: boolean;
  /** Delay before the first retry of a failed delivery; each next one doubles it. */
  retryDelayMs: number;
  /** Attempts of one delivery, the first included, before it is given up as failed. */
  maxAttempts: number;
  /** Longest wait for a receiver's answer. */
  timeoutMs: number;
}

export interface SandboxConfig {
  /** `auto`: bubblewrap, else unshare, else jobs cannot start; `off` must be chosen explicitly. */
  mode: 'auto' | 'bubblewrap' | 'unshare' | 'off';
  /** Whether jobs reach the network (HDFS, Spark masters); on by default. */
  network: boolean;
  /** The user jobs run as when Oasis runs as root. */
  jobUser: string;
  /** Host paths every job may read beyond the system directories. */
  readOnlyPaths: string[];
  /** Host paths every job may write: shared by the jobs of every project. */
  writablePaths: string[];
  limits: {
    outputBytes: number;
    diskBytes: number;
    memoryBytes: number;
    processes: number;
    openFiles: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** The defaults, in one place. Durations accept `500ms`, `30s`, `5m`, `12h`, `7d` or plain milliseconds. */
const DEFAULTS = {
  OASIS_HOST: '127.0.0.1',
  OASIS_PORT: '8386',
  OASIS_DATA_DIR: './data',
  OASIS_AUTH: 'noauth',
  OASIS_LOCAL_CONCURRENCY: '8',
  OASIS_MAX_BODY: '5MiB',
  OASIS_POLL_INTERVAL: '2s',
  OASIS_CLUSTER_CHECK_INTERVAL: '15s',
  OASIS_KILL_GRACE: '5s',
  OASIS_LEASE: '30s',
  OASIS_NODE_LOSS_GRACE: '0s',
  OASIS_MIN_FREE_DISK: '256MiB',
  OASIS_SHUTDOWN_GRACE: '10s',
  OASIS_DATABASE_TIMEOUT: '10s',
  OASIS_IDEMPOTENCY_TTL: '24h',
  OASIS_LOG_LEVEL: 'info',
  OASIS_LOG_FORMAT: 'auto',
  OASIS_SANDBOX: 'auto',
  OASIS_JOB_NETWORK: 'on',
  OASIS_JOB_USER: 'nobody',
  OASIS_JOB_MAX_OUTPUT: '100MiB',
  OASIS_JOB_MAX_DISK: '512MiB',
  OASIS_JOB_MAX_MEMORY: '2GiB',
  OASIS_JOB_MAX_PROCESSES: '1024',
  OASIS_JOB_MAX_OPEN_FILES: '1024',
  OASIS_KEYSTONE_USER_DOMAIN: 'Default',
  OASIS_KEYSTONE_PROJECT_DOMAIN: 'Default',
  OASIS_KEYSTONE_CACHE_TIME: '60s',
  OASIS_KEYSTONE_CACHE_SIZE: '10000',
  OASIS_KEYSTONE_TIMEOUT: '5s',
  OASIS_EVENTS_RETENTION: '7d',
  OASIS_EVENTS_HEARTBEAT: '15s',
  OASIS_EVENTS_MAX_STREAMS: '20',
  OASIS_WEBHOOK_ALLOW_PRIVATE: 'off',
  OASIS_WEBHOOK_RETRY_DELAY: '10s',
  OASIS_WEBHOOK_ATTEMPTS: '8',
  OASIS_WEBHOOK_TIMEOUT: '10s',
} as const;

type Setting = keyof typeof DEFAULTS;

/** Reads settings (the environment, else DEFAULTS), collecting every problem rather than stopping at the first. */
function settingsReader(env: Env, problems: string[]) {
  const get = (name: Setting): string => env[name]?.trim() || DEFAULTS[name];
  return {
    get,
    duration: (name: Setting) => parseDuration(get(name), name, problems),
    size: (name: Setting) => parseSize(get(name), name, problems),
    integer: (name: Setting, min: number, max: number) => parseInteger(get(name), name, problems, min, max),
  };
}
type SettingsReader = ReturnType<typeof settingsReader>;

export function loadConfig(env: Env = process.env): Readonly<Config> {
  const problems: string[] = [];
  const settings = settingsReader(env, problems);
  const { get, duration, size, integer } = settings;

  const port = integer('OASIS_PORT', 0, 65535);
  const auth = get('OASIS_AUTH');
  if (auth !== 'noauth' && auth !== 'tokens' && auth !== 'keystone') {
    problems.push(`OASIS_AUTH must be "noauth", "tokens" or "keystone", not "${auth}"`);
  }
  const tokensFile = env.OASIS_TOKENS_FILE?.trim() || null;
  if (auth === 'tokens' && !tokensFile) problems.push('OASIS_AUTH=tokens needs OASIS_TOKENS_FILE');
  const keystone = auth === 'keystone' ? parseKeystone(env, settings, problems) : null;

  const databaseUrl = env.OASIS_DATABASE_URL?.trim() || null;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('OASIS_DATABASE_URL must start with postgres:// (unset it for SQLite)');
  }
  const dataDir = path.resolve(get('OASIS_DATA_DIR'));

  const logFormat = get('OASIS_LOG_FORMAT');
  if (!['auto', 'pretty', 'json'].includes(logFormat))
    problems.push(`OASIS_LOG_FORMAT must be "auto", "pretty" or "json", not "${logFormat}"`);
  const metricsToken = env.OASIS_METRICS_TOKEN?.trim() || null;
  if (metricsToken !== null && !/^[\x21-\x7e]{16,256}$/.test(metricsToken)) {
    problems.push('OASIS_METRICS_TOKEN must be 16 to 256 printable characters without spaces');
  }

  const sandboxMode = get('OASIS_SANDBOX');
  if (!['auto', 'bubblewrap', 'unshare', 'off'].includes(sandboxMode)) {
    problems.push(`OASIS_SANDBOX must be "auto", "bubblewrap", "unshare" or "off", not "${sandboxMode}"`);
  }
  const network = get('OASIS_JOB_NETWORK');
  if (network !== 'on' && network !== 'off') problems.push(`OASIS_JOB_NETWORK must be "on" or "off", not "${network}"`);
  const allowPrivate = get('OASIS_WEBHOOK_ALLOW_PRIVATE');
  if (allowPrivate !== 'on' && allowPrivate !== 'off') {
    problems.push(`OASIS_WEBHOOK_ALLOW_PRIVATE must be "on" or "off", not "${allowPrivate}"`);
  }
  const readOnlyPaths = parsePaths(env.OASIS_SANDBOX_PATHS, 'OASIS_SANDBOX_PATHS', problems);
  const writablePaths = parsePaths(env.OASIS_SANDBOX_WRITABLE_PATHS, 'OASIS_SANDBOX_WRITABLE_PATHS', problems);

  const config: Config = {
    host: get('OASIS_HOST'),
    port,
    dataDir,
    databaseUrl,
    auth: auth as Config['auth'],
    tokensFile: tokensFile ? path.resolve(tokensFile) : null,
    keystone,
    nodeId: env.OASIS_NODE_ID?.trim() || hostname(),
    localConcurrency: integer('OASIS_LOCAL_CONCURRENCY', 1, 100_000),
    bodyLimitBytes: size('OASIS_MAX_BODY'),
    pollIntervalMs: duration('OASIS_POLL_INTERVAL'),
    clusterCheckIntervalMs: duration('OASIS_CLUSTER_CHECK_INTERVAL'),
    killGraceMs: duration('OASIS_KILL_GRACE'),
    leaseMs: duration('OASIS_LEASE'),
    nodeLossGraceMs: duration('OASIS_NODE_LOSS_GRACE'),
    minFreeDiskBytes: size('OASIS_MIN_FREE_DISK'),
    shutdownGraceMs: duration('OASIS_SHUTDOWN_GRACE'),
    databaseTimeoutMs: duration('OASIS_DATABASE_TIMEOUT'),
    idempotencyTtlMs: duration('OASIS_IDEMPOTENCY_TTL'),
    sparkHome: env.OASIS_SPARK_HOME?.trim() || env.SPARK_HOME?.trim() || null,
    hadoopClasspath: env.OASIS_HADOOP_CLASSPATH?.trim() || null,
    logLevel: get('OASIS_LOG_LEVEL'),
    logFormat: logFormat as Config['logFormat'],
    metricsToken,
    sandbox: {
      mode: sandboxMode as SandboxConfig['mode'],
      network: network === 'on',
      jobUser: get('OASIS_JOB_USER'),
      readOnlyPaths,
      writablePaths,
      limits: {
        outputBytes: size('OASIS_JOB_MAX_OUTPUT'),
        diskBytes: size('OASIS_JOB_MAX_DISK'),
        memoryBytes: size('OASIS_JOB_MAX_MEMORY'),
        processes: integer('OASIS_JOB_MAX_PROCESSES', 16, 1_000_000),
        openFiles: integer('OASIS_JOB_MAX_OPEN_FILES', 16, 1_048_576),
      },
    },
    events: {
      retentionMs: duration('OASIS_EVENTS_RETENTION'),
      heartbeatMs: duration('OASIS_EVENTS_HEARTBEAT'),
      maxStreamsPerProject: integer('OASIS_EVENTS_MAX_STREAMS', 1, 10_000),
    },
    webhooks: {
      allowPrivate: allowPrivate === 'on',
      retryDelayMs: duration('OASIS_WEBHOOK_RETRY_DELAY'),
      maxAttempts: integer('OASIS_WEBHOOK_ATTEMPTS', 1, 100),
      timeoutMs: duration('OASIS_WEBHOOK_TIMEOUT'),
    },
  };
  if (config.events.retentionMs < 60_000) problems.push('OASIS_EVENTS_RETENTION must be at least 1m');
  if (config.events.heartbeatMs < 100) problems.push('OASIS_EVENTS_HEARTBEAT must be at least 100ms');
  if (config.webhooks.timeoutMs < 100) problems.push('OASIS_WEBHOOK_TIMEOUT must be at least 100ms');
  for (const [name, bytes] of [
    ['OASIS_JOB_MAX_OUTPUT', config.sandbox.limits.outputBytes],
    ['OASIS_JOB_MAX_DISK', config.sandbox.limits.diskBytes],
    ['OASIS_JOB_MAX_MEMORY', config.sandbox.limits.memoryBytes],
  ] as const) {
    if (bytes > 0 && bytes < 1024 * 1024) problems.push(`${name} must be at least 1MiB`);
  }
  if (config.idempotencyTtlMs < 1000) problems.push('OASIS_IDEMPOTENCY_TTL must be at least 1s');
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

/** The secret read from the environment: removed from it once read, so no child process inherits it. */
export const SECRET_VARIABLES = ['OASIS_KEYSTONE_PASSWORD'] as const;

function parseKeystone(env: Env, { get, duration, integer }: SettingsReader, problems: string[]): KeystoneConfig {
  const required = (name: string): string => {
    const value = env[name]?.trim() ?? '';
    if (value === '') problems.push(`OASIS_AUTH=keystone needs ${name}`);
    return value;
  };
  const url = required('OASIS_KEYSTONE_URL');
  if (url && !/^https?:\/\/[^/]/.test(url))
    problems.push(`OASIS_KEYSTONE_URL must be an http:// or https:// URL, not "${url}"`);
  const cacheTimeMs = duration('OASIS_KEYSTONE_CACHE_TIME');
  // Revoked tokens keep working while their validation is cached: the wait is bounded.
  if (cacheTimeMs > 300_000) problems.push('OASIS_KEYSTONE_CACHE_TIME must be at most 5m');
  const timeoutMs = duration('OASIS_KEYSTONE_TIMEOUT');
  if (timeoutMs < 100) problems.push('OASIS_KEYSTONE_TIMEOUT must be at least 100ms');
  return {
    url,
    username: required('OASIS_KEYSTONE_USER'),
    // Not trimmed: a password may begin or end with spaces.
    password: env.OASIS_KEYSTONE_PASSWORD || required('OASIS_KEYSTONE_PASSWORD'),
    projectName: required('OASIS_KEYSTONE_PROJECT'),
    userDomainName: get('OASIS_KEYSTONE_USER_DOMAIN'),
    projectDomainName: get('OASIS_KEYSTONE_PROJECT_DOMAIN'),
    cacheTimeMs,
    cacheSize: integer('OASIS_KEYSTONE_CACHE_SIZE', 1, 1_000_000),
    timeoutMs,
  };
}

/** A colon-separated list of absolute paths. */
function parsePaths(raw: string | undefined, name: string, problems: string[]): string[] {
  const paths = (raw ?? '')
    .split(':')
    .map((entry) => entry.trim())
    .filter(Boolean);
  for (const entry of paths) {
    if (!path.isAbsolute(entry)) problems.push(`${name} entries must be absolute paths, not "${entry}"`);
  }
  return paths;
}

function parseInteger(raw: string, name: string, problems: string[], min: number, max: number): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    problems.push(`${name} must be an integer from ${min} to ${max}, not "${raw}"`);
    return min;
  }
  return value;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(raw: string, name: string, problems: string[]): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(raw);
  if (!match) {
    problems.push(`${name} must be a duration such as 500ms, 30s or 5m, not "${raw}"`);
    return 0;
  }
  return Math.round(Number(match[1]) * DURATION_UNITS[match[2] ?? 'ms']!);
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1000,
  kib: 1024,
  mb: 1e6,
  mib: 1024 ** 2,
  gb: 1e9,
  gib: 1024 ** 3,
};

function parseSize(raw: string, name: string, problems: string[]): number {
  const match = /^(\d+)\s*([a-z]*)$/i.exec(raw);
  const unit = match ? SIZE_UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) {
    problems.push(`${name} must be a size such as 5MiB or 1048576, not "${raw}"`);
    return 0;
  }
  return Number(match[1]) * unit;
}
