import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { Engine } from '../../src/engines/engine.js';
import type { EngineKind, Store } from '../../src/store/types.js';
import { type TestApp, createTestApp } from '../support/app.js';
import { type TestDatabase, type TestDialect, openTestStore } from '../support/databases.js';

/** Builds a node's cluster engines; called once per Oasis start, as the real `main` does. */
export type EngineFactory = (dataDir: string) => Promise<ReadonlyMap<EngineKind, Engine>>;

/**
 * One Oasis installation that can be stopped and started again: a database and a data
 * directory that outlive each Oasis process, and engines built afresh at every start (a
 * restarted Oasis remembers nothing in memory).
 */
export class RestartableOasis {
  private running: TestApp | undefined;

  private constructor(
    private readonly dialect: TestDialect,
    private readonly database: TestDatabase,
    readonly dataDir: string,
    private readonly engines: EngineFactory,
  ) {}

  static async open(dialect: TestDialect, engines: EngineFactory): Promise<RestartableOasis> {
    const database = await openTestStore(dialect);
    const dataDir = await mkdtemp(path.join(tmpdir(), 'oasis-restart-'));
    return new RestartableOasis(dialect, database, dataDir, engines);
  }

  get store(): Store {
    return this.database.store;
  }

  /** Starts an Oasis on the installation's database and data directory. */
  async start(): Promise<TestApp> {
    if (this.running) throw new Error('this Oasis is already running');
    this.running = await createTestApp({
      dialect: this.dialect,
      store: this.database.store,
      dataDir: this.dataDir,
      engines: await this.engines(this.dataDir),
    });
    return this.running;
  }

  /**
   * Stops the running Oasis as a shutdown does: the lifecycle stops and the engines close, but
   * nothing is cancelled, so the cluster keeps running the jobs.
   */
  async stop(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    await running?.close();
  }

  /** Stops Oasis if it runs, then removes the database and the data directory. */
  async dispose(): Promise<void> {
    await this.stop();
    await this.database.drop();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}
