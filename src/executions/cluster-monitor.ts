import type { Logger } from 'pino';
import { Poller } from './poller.js';
import type { EngineKind, Store } from '../store/types.js';
import type { Engines } from '../engines/engine.js';

export interface ClusterMonitorOptions {
  store: Store;
  engines: Engines;
  intervalMs: number;
  logger: Logger;
}

/**
 * Keeps every registered cluster's status true: Active while its services answer, Error (with
 * the reason in status_description) while they do not. A cluster's status is checked, never
 * assumed; executions on an Error cluster are not failed for it, their engine calls retry.
 */
export class ClusterMonitor {
  private readonly poller: Poller;

  constructor(private readonly options: ClusterMonitorOptions) {
    this.poller = new Poller(() => this.checkAll(), {
      name: 'cluster-monitor',
      intervalMs: options.intervalMs,
      logger: options.logger,
    });
  }

  start(): void {
    this.poller.start();
  }

  stop(): Promise<void> {
    return this.poller.stop();
  }

  async checkAll(): Promise<void> {
    const { store, engines } = this.options;
    const kinds = [...engines.keys()].filter((kind): kind is EngineKind => kind !== 'local');
    for (const cluster of await store.clusters.listByEngine(kinds)) {
      const engine = engines.get(cluster.engine);
      if (!engine) continue;
      const health = await engine.checkCluster(cluster).catch((error: unknown) => ({
        status: 'Error' as const,
        description: error instanceof Error ? error.message : String(error),
      }));
      if (health.status === cluster.status && health.description === cluster.status_description) continue;
      this.options.logger.info(
        { cluster: cluster.id, status: health.status, reason: health.description },
        'cluster status changed',
      );
      await store.clusters.update(cluster.id, { status: health.status, status_description: health.description });
    }
  }
}
