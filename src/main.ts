import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
import closeWithGrace from 'close-with-grace';
import { pino, type Logger } from 'pino';
import { buildApp } from './api/app.js';
import { loadTokenAuth, noAuth } from './api/auth.js';
import type { Config } from './config.js';
import { ClusterMonitor } from './engines/cluster-monitor.js';
import type { Engine, Engines } from './engines/engine.js';
import { createLocalEngine } from './engines/local/index.js';
import { createSandbox, type Sandbox } from './engines/sandbox/index.js';
import { createSparkEngine } from './engines/spark/index.js';
import { createYarnEngine } from './engines/yarn/index.js';
import { EventRetention, ExecutionEventHub } from './executions/events.js';
import { Executions } from './executions/executions.js';
import { WebhookDeliveries } from './executions/webhooks.js';
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
 * The process wiring: config → store → engines → executions → HTTP. Shutdown runs in a fixed
 * order (stop accepting requests, stop pollers, close engines, close the database), each step
 * on its own, time-boxed by close-with-grace; a second signal forces the exit.
 */
export async function serve(config: Config, logger: Logger): Promise<void> {
  await prepareDataDir(config);
  const sandbox = openSandbox(config, logger);
  const store: Store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, timeoutMs: config.databaseTimeoutMs, logger });
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
  const engines: Engines = new Map<EngineKind, Engine>([
    ['local', local],
    ['spark', spark],
    ['yarn', yarn],
  ]);
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
  const events = new ExecutionEventHub({ store, maxStreamsPerProject: config.events.maxStreamsPerProject, logger });
  const eventRetention = new EventRetention({ store, retentionMs: config.events.retentionMs, logger: logger.child({ component: 'events' }) });
  const webhooks = new WebhookDeliveries({ store, nodeId: config.nodeId, ...config.webhooks, logger: logger.child({ component: 'webhooks' }) });
  const auth = config.auth === 'tokens' && config.tokensFile ? await loadTokenAuth(config.tokensFile) : noAuth;
  const app = await buildApp({ config, store, engines, executions, auth, events, logger });

  const steps: [string, () => Promise<unknown>][] = [
    ['http', async () => {
      app.markClosing();
      await app.close();
    }],
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
    })());

  closeWithGrace({ delay: config.shutdownGraceMs + 2000 }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'fatal error, shutting down');
    else logger.info({ signal }, 'shutting down');
    await shutdown();
  });

  await executions.start();
  clusterMonitor.start();
  eventRetention.start();
  webhooks.start();
  const address = await app.listen({ host: config.host, port: config.port });
  logger.info({ url: address, node: config.nodeId, database: store.dialect }, 'Oasis is ready');
}
