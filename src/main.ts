import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
import closeWithGrace from 'close-with-grace';
import { pino, type Logger } from 'pino';
import { buildApp } from './api/app.js';
import { loadTokenAuth, noAuth } from './api/auth.js';
import type { Config } from './config.js';
import { errorMessage } from './errors.js';
import { ClusterMonitor } from './engines/cluster-monitor.js';
import type { Engine, Engines } from './engines/engine.js';
import { createLocalEngine } from './engines/local/index.js';
import { createSandbox, type Sandbox } from './engines/sandbox/index.js';
import { createSparkEngine } from './engines/spark/index.js';
import { createYarnEngine } from './engines/yarn/index.js';
import { Executions } from './executions/executions.js';
import { openStore } from './store/index.js';
import type { EngineKind, Store } from './store/types.js';

export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino({ level: config.logLevel, base: { service: 'oasis' } });
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
  });
  if (sandbox.kind === 'bubblewrap' || sandbox.kind === 'unshare') logger.info({ sandbox: sandbox.kind }, `job sandbox: ${sandbox.description}`);
  else if (sandbox.kind === 'off') logger.warn({ sandbox: sandbox.kind }, `job sandbox: ${sandbox.description}`);
  else logger.error({ sandbox: sandbox.kind }, `job sandbox: ${sandbox.description}`);
  return sandbox;
}

/** Connects to the database and applies pending migrations, then disconnects. */
export async function migrate(config: Config, logger: Logger): Promise<void> {
  await prepareDataDir(config);
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, timeoutMs: config.databaseTimeoutMs, logger });
  await store.close();
}

/**
 * The process wiring: config → store → engines → app → listen → executions. The port is claimed
 * before anything acts on executions: a second Oasis started by mistake on a busy port exits at
 * once, without re-adopting, leasing or launching what the running one owns. From listen until
 * start-up ends, requests answer 503 "starting".
 *
 * Shutdown (SIGTERM, SIGINT) drains: new requests are refused (the listener closes; a request on
 * a kept-alive connection answers 503) while those in flight finish, then the pollers stop, the
 * engines and the database close. Running jobs are left running: the next start re-adopts them.
 * Each step runs on its own, time-boxed by close-with-grace; a second signal forces the exit.
 */
export async function serve(config: Config, logger: Logger): Promise<void> {
  await prepareDataDir(config);
  const sandbox = openSandbox(config, logger);
  const store: Store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, timeoutMs: config.databaseTimeoutMs, logger });
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
    logger: logger.child({ component: 'executions' }),
  });
  const clusterMonitor = new ClusterMonitor({
    store,
    engines,
    intervalMs: config.clusterCheckIntervalMs,
    logger: logger.child({ component: 'cluster-monitor' }),
  });
  const auth = config.auth === 'tokens' && config.tokensFile ? await loadTokenAuth(config.tokensFile) : noAuth;
  const app = await buildApp({ config, store, engines, executions, auth, logger });
  const closeResources = async () => {
    await Promise.allSettled([...engines.values()].map((engine) => engine.close()));
    await store.close();
  };

  app.markStarting();
  let url: string;
  try {
    url = await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    const message = listenFailure(config, error);
    logger.fatal({ err: error, host: config.host, port: config.port }, message);
    await Promise.allSettled([app.close(), closeResources()]);
    throw new ListenError(message);
  }

  const steps: [string, () => Promise<unknown>][] = [
    ['http', async () => {
      app.markClosing();
      await app.close();
    }],
    ['executions', () => executions.stop(config.shutdownGraceMs)],
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
  app.markReady();
  logger.info({ url, node: config.nodeId, database: store.dialect }, 'Oasis is ready');
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
  if (code === 'EADDRINUSE') return `cannot listen on ${where}: the address is already in use (EADDRINUSE); is another Oasis or another service running on it? Set OASIS_PORT or OASIS_HOST`;
  if (code === 'EACCES') return `cannot listen on ${where}: permission denied (EACCES)`;
  if (code === 'EADDRNOTAVAIL') return `cannot listen on ${where}: no such local address (EADDRNOTAVAIL); check OASIS_HOST`;
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
