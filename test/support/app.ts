import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildApp } from '../../src/api/app.js';
import { type Authenticator, noAuth } from '../../src/api/auth.js';
import type { Config } from '../../src/config.js';
import type { Engine, Engines } from '../../src/engines/engine.js';
import { createLocalEngine } from '../../src/engines/local/index.js';
import { Executions } from '../../src/executions/executions.js';
import type { EngineKind, Store } from '../../src/store/types.js';
import { openTestStore, type TestDatabase, type TestDialect } from './databases.js';
import { jobSandbox } from './sandbox.js';

export interface TestAppOptions {
  dialect: TestDialect;
  auth?: Authenticator;
  /** Engines added to (or replacing) the real local engine. */
  engines?: ReadonlyMap<EngineKind, Engine>;
  /** Reuse a store (e.g. to restart Oasis on the same database); the caller closes it. */
  store?: Store;
  /** Reuse a data directory (the local engine's jobs live under it); the caller removes it. */
  dataDir?: string;
  nodeId?: string;
  localConcurrency?: number;
  pollIntervalMs?: number;
  leaseMs?: number;
  killGraceMs?: number;
  bodyLimitBytes?: number;
  /** Event stream and webhook settings (defaults otherwise). */
  config?: Partial<Pick<Config, 'events' | 'webhooks'>>;
  idempotencyTtlMs?: number;
}

export interface TestApp {
  app: FastifyInstance;
  store: Store;
  engines: Engines;
  executions: Executions;
  dataDir: string;
  /** Stops executions and engines, closes the app, and releases what this helper created. */
  close(): Promise<void>;
}

/**
 * A whole Oasis for tests: the real app over a real store (SQLite or PostgreSQL), the real local
 * engine running real processes, and a real Executions lifecycle. Requests go through
 * `app.inject()`.
 */
export async function createTestApp(options: TestAppOptions): Promise<TestApp> {
  const logger = pino({ level: process.env.OASIS_TEST_LOG_LEVEL ?? 'silent' });
  const nodeId = options.nodeId ?? 'test-node';
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'oasis-test-')));
  const database: TestDatabase | undefined = options.store ? undefined : await openTestStore(options.dialect);
  const store = options.store ?? database!.store;

  const local = await createLocalEngine({
    workDir: path.join(dataDir, 'executions'),
    nodeId,
    killGraceMs: options.killGraceMs ?? 2_000,
    sandbox: jobSandbox(),
    logger,
  });
  const engines = new Map<EngineKind, Engine>([['local', local]]);
  for (const [kind, engine] of options.engines ?? []) engines.set(kind, engine);

  const executions = new Executions({
    store,
    engines,
    nodeId,
    localConcurrency: options.localConcurrency ?? 8,
    pollIntervalMs: options.pollIntervalMs ?? 200,
    leaseMs: options.leaseMs ?? 10_000,
    logger,
  });
  const app = await buildApp({
    config: {
      bodyLimitBytes: options.bodyLimitBytes ?? 5 * 1024 * 1024,
      ...options.config,
      ...(options.idempotencyTtlMs === undefined ? {} : { idempotencyTtlMs: options.idempotencyTtlMs }),
    },
    store,
    engines,
    executions,
    auth: options.auth ?? noAuth,
  });
  await app.ready();
  await executions.start();

  let closed: Promise<void> | undefined;
  const close = async () => {
    await executions.stop(5_000);
    for (const engine of engines.values()) await engine.close();
    await app.close();
    await database?.drop();
    // A job still running may be writing its exit code while the directory goes: retry.
    if (ownsDataDir) await rm(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  };
  return {
    app,
    store,
    engines,
    executions,
    dataDir,
    close: () => (closed ??= close()),
  };
}
