import { chmod, mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import closeWithGrace from 'close-with-grace';
import { pino, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import { buildApp } from './api/app.js';
import { type Authenticator, loadTokenAuth, noAuth } from './api/auth.js';
import { KeystoneAuth } from './api/keystone.js';
import { Metrics, observeExecutions } from './api/metrics.js';
import type { Config } from './config.js';
import { ApiError, errorMessage } from './errors.js';
import { ClusterMonitor } from './executions/cluster-monitor.js';
import type { Engine, Engines } from './engines/engine.js';
import { createLocalEngine } from './engines/local/index.js';
import { createSandbox, type Sandbox } from './engines/sandbox/index.js';
import { createSparkEngine } from './engines/spark/index.js';
import { createYarnEngine } from './engines/yarn/index.js';
import { DiskSpace } from './executions/disk-space.js';
import { EventRetention, ExecutionEventHub } from './executions/events.js';
import { Executions } from './executions/executions.js';
import { WebhookDeliveries } from './executions/webhooks.js';
import { stdoutDestination } from './log-destination.js';
import { migrate as migrateStore, openStore } from './store/index.js';
import type { EngineKind, Store } from './store/types.js';

/** JSON lines for log collectors; pino-pretty for a person at a terminal (OASIS_LOG_FORMAT). */
export function createLogger(
  config: Pick<Config, 'logLevel' | 'logFormat'>,
  stdout: { isTTY?: boolean } = process.stdout,
): Logger {
  const options = { level: config.logLevel, base: { service: 'oasis' } };
  const pretty = config.logFormat === 'pretty' || (config.logFormat === 'auto' && stdout.isTTY === true);
  if (!pretty) return pino(options, stdoutDestination());
  return pino(
    options,
    pinoPretty({
      colorize: stdout.isTTY === true,
      sync: true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,service',
    }),
  );
}

/**
 * The data dir holds the database and every job's files: Oasis alone may enter it. Everything
 * Oasis creates is private to its user (umask 077), SQLite's WAL and shared-memory files included.
 */
async function prepareDataDir(config: Config): Promise<void> {
  process.umask(0o077);
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  await chmod(config.dataDir, 0o700);
}

/** The job sandbox, announced in the start log: which isolation is in force, or why none is. */
function openSandbox(config: Config, logger: Logger): Sandbox {
  const sandbox = createSandbox({
    ...config.sandbox,
    hiddenPaths: [config.dataDir, ...(config.tokensFile ? [config.tokensFile] : [])],
    buildDir: path.join(config.dataDir, 'sandbox'),
  });
  if (sandbox.kind === 'bubblewrap' || sandbox.kind === 'unshare')
    logger.info({ sandbox: sandbox.kind }, `job sandbox: ${sandbox.description}`);
  else if (sandbox.kind === 'off') logger.warn({ sandbox: sandbox.kind }, `job sandbox: ${sandbox.description}`);
  else logger.error({ sandbox: sandbox.kind }, `job sandbox: ${sandbox.description}`);
  return sandbox;
}

/** The authenticator OASIS_AUTH names. */
async function createAuthenticator(config: Config, logger: Logger): Promise<Authenticator> {
  if (config.auth === 'keystone' && config.keystone) {
    const { password: _secret, ...shown } = config.keystone;
    logger.info({ keystone: shown }, 'tokens are validated with Keystone');
    return new KeystoneAuth(config.keystone, logger.child({ component: 'keystone' }));
  }
  if (config.auth === 'tokens' && config.tokensFile) return loadTokenAuth(config.tokensFile);
  return noAuth;
}

/** Connects to the database and applies pending migrations, then disconnects: no store, no change feed. */
export async function migrate(config: Config, logger: Logger): Promise<void> {
  await prepareDataDir(config);
  const applied = await migrateStore({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    timeoutMs: config.databaseTimeoutMs,
    logger,
  });
  logger.info({ migrations: applied }, applied.length > 0 ? 'database migrated' : 'database already up to date');
}

/**
 * The process wiring: config → port → store → engines → app → executions. The port is claimed
 * before anything else is opened: a second Oasis started by mistake on a busy port exits at once,
 * without opening the database, let alone re-adopting, leasing or launching what the running one
 * owns. From the bind until start-up ends, requests answer 503 "starting".
 *
 * Shutdown (SIGTERM, SIGINT) drains: new requests are refused (the listener closes; a request on
 * a kept-alive connection answers 503) while those in flight finish, then the pollers stop, the
 * engines and the database close. Running jobs are left running: the next start re-adopts them.
 * Each step runs on its own, time-boxed by close-with-grace; a second signal forces the exit.
 */
export async function serve(config: Config, logger: Logger): Promise<void> {
  await prepareDataDir(config);
  // The port first: a second Oasis on a busy port exits before it opens anything.
  const server = await bind(config, logger);
  const url = addressOf(server);
  const sandbox = openSandbox(config, logger);
  const database: Store = await openStore({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    timeoutMs: config.databaseTimeoutMs,
    logger,
  });
  const metrics = new Metrics(
    { token: config.metricsToken, openWithoutToken: config.auth === 'noauth' },
    { store: database, nodeId: config.nodeId, sandbox },
  );
  const store = observeExecutions(database, metrics);
  const engines = await openEngines(config, sandbox, logger).catch(async (error: unknown) => {
    await store.close();
    throw error;
  });
  const executions = new Executions({
    store,
    engines,
    nodeId: config.nodeId,
    localConcurrency: config.localConcurrency,
    pollIntervalMs: config.pollIntervalMs,
    leaseMs: config.leaseMs,
    nodeLossGraceMs: config.nodeLossGraceMs,
    disk: new DiskSpace({
      dataDir: config.dataDir,
      minFreeBytes: config.minFreeDiskBytes,
      logger: logger.child({ component: 'disk' }),
    }),
    logger: logger.child({ component: 'executions' }),
  });
  const clusterMonitor = new ClusterMonitor({
    store,
    engines,
    intervalMs: config.clusterCheckIntervalMs,
    logger: logger.child({ component: 'cluster-monitor' }),
  });
  const events = new ExecutionEventHub({ store, maxStreamsPerProject: config.events.maxStreamsPerProject, logger });
  const eventRetention = new EventRetention({
    store,
    retentionMs: config.events.retentionMs,
    logger: logger.child({ component: 'events' }),
  });
  const webhooks = new WebhookDeliveries({
    store,
    nodeId: config.nodeId,
    ...config.webhooks,
    logger: logger.child({ component: 'webhooks' }),
  });
  const auth = await createAuthenticator(config, logger);
  const app = await buildApp({ config, store, engines, executions, auth, metrics, events, logger, server });
  app.markStarting();
  await app.ready();
  app.acceptRequests();

  const steps: [string, () => Promise<unknown>][] = [
    [
      'http',
      async () => {
        app.markClosing();
        // Stop accepting at once; the requests in flight finish (the event streams end in app.close()).
        const drained = new Promise<void>((resolve) => server.close(() => resolve()));
        await app.close();
        await drained;
      },
    ],
    ['executions', () => executions.stop(config.shutdownGraceMs)],
    // Deliveries not sent yet stay queued in the database for the next start.
    ['webhooks', () => webhooks.stop()],
    ['event-retention', () => eventRetention.stop()],
    ['cluster-monitor', () => clusterMonitor.stop()],
    ['engines', () => Promise.all([...engines.values()].map((engine) => engine.close()))],
    ['store', () => store.close()],
  ];
  let shuttingDown: Promise<void> | undefined;
  const shutdown = () =>
    (shuttingDown ??= (async () => {
      for (const [name, step] of steps) {
        try {
          await step();
        } catch (error) {
          logger.error({ err: error, step: name }, 'shutdown step failed');
        }
      }
      logger.info('Oasis stopped');
    })());

  closeWithGrace({ delay: config.shutdownGraceMs + 2000 }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'fatal error, shutting down');
    else logger.info({ signal }, 'shutting down: draining requests in flight; running jobs keep running');
    await shutdown();
  });

  logger.info({ url }, 'listening; starting executions');
  await executions.start();
  // A signal during start-up: the shutdown has stopped executions; nothing more starts.
  if (shuttingDown) return;
  clusterMonitor.start();
  eventRetention.start();
  webhooks.start();
  app.markReady();
  logger.info({ url, node: config.nodeId, database: store.dialect }, 'Oasis is ready');
}

/**
 * Binds the port before anything else is opened. Until the app takes the server over, every
 * request answers 503 "starting" with Sahara's body.
 */
async function bind(config: Config, logger: Logger): Promise<Server> {
  const server = createServer({ requireHostHeader: false }, (_request, response) => {
    const error = new ApiError('SERVICE_UNAVAILABLE', 'Oasis is starting; retry shortly');
    response.writeHead(error.status, { 'content-type': 'application/json; charset=utf-8', 'retry-after': '1' });
    response.end(JSON.stringify(error.toBody()));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: config.host, port: config.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    const message = listenFailure(config, error);
    logger.fatal({ err: error, host: config.host, port: config.port }, message);
    throw new ListenError(message);
  }
  return server;
}

function addressOf(server: Server): string {
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/** The port could not be bound: nothing was started, and the process should exit non-zero. */
export class ListenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ListenError';
  }
}

function listenFailure(config: Config, error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const where = `${config.host}:${config.port}`;
  if (code === 'EADDRINUSE')
    return `cannot listen on ${where}: the address is already in use (EADDRINUSE); is another Oasis or another service running on it? Set OASIS_PORT or OASIS_HOST`;
  if (code === 'EACCES') return `cannot listen on ${where}: permission denied (EACCES)`;
  if (code === 'EADDRNOTAVAIL')
    return `cannot listen on ${where}: no such local address (EADDRNOTAVAIL); check OASIS_HOST`;
  return `cannot listen on ${where}: ${errorMessage(error)}`;
}

async function openEngines(config: Config, sandbox: Sandbox, logger: Logger): Promise<Engines> {
  const local = await createLocalEngine({
    workDir: path.join(config.dataDir, 'executions'),
    nodeId: config.nodeId,
    killGraceMs: config.killGraceMs,
    sandbox,
    logger: logger.child({ engine: 'local' }),
  });
  const spark = createSparkEngine({
    workDir: path.join(config.dataDir, 'spark'),
    nodeId: config.nodeId,
    killGraceMs: config.killGraceMs,
    sandbox,
    ...(config.sparkHome ? { sparkHome: config.sparkHome } : {}),
    logger: logger.child({ engine: 'spark' }),
  });
  const yarn = createYarnEngine({
    workDir: path.join(config.dataDir, 'yarn'),
    nodeId: config.nodeId,
    ...(config.hadoopClasspath ? { hadoopClasspath: config.hadoopClasspath } : {}),
    logger: logger.child({ engine: 'yarn' }),
  });
  return new Map<EngineKind, Engine>([
    ['local', local],
    ['spark', spark],
    ['yarn', yarn],
  ]);
}
