import type { Logger } from 'pino';
import { type EngineStatus, type Engines, refOf, TransientEngineError } from '../engines/engine.js';
import { coerceError } from '../errors.js';
import type { ClusterRecord, JobExecutionRecord, Store } from '../store/types.js';
import type { DiskSpace } from './disk-space.js';
import { isTerminal } from '../store/statuses.js';
import { applyEngineStatus, endFields, failExecution, STARTED } from './transitions.js';

/** Local jobs are polled on every fifth pass only: their engine pushes their end. */
const LOCAL_BACKSTOP_EVERY = 5;

/** How many expired leases of other nodes' remote executions one pass takes over. */
const TAKEOVER_BATCH = 50;

/** What the reconciler needs: the store and engines, this node, its lease and the grace of lost nodes. */
export interface ReconcilerDeps {
  store: Store;
  engines: Engines;
  nodeId: string;
  leaseMs: number;
  /** How long past its lease a lost node's local executions wait before they end FAILED. */
  nodeLossGraceMs?: number | undefined;
  disk?: DiskSpace | undefined;
  logger: Logger;
}

/**
 * Tracks started executions to their end: polls the engines for the executions this node holds,
 * stores what they report, renews this node's leases and takes over remote (spark, yarn)
 * executions whose node stopped renewing. Local jobs cannot move: only their node can see them,
 * so those of a node lost past its lease and the grace time end FAILED (docs/node-loss.md).
 */
export class Reconciler {
  constructor(
    private readonly options: ReconcilerDeps,
    /** Called when a local job ends, so a queued one can take its slot at once. */
    private readonly onLocalSlotFreed: () => void,
  ) {}

  /**
   * Re-adopts this node's executions after a restart: interrupted launches go back to the queue,
   * started ones get their real status from the engine.
   */
  async recover(): Promise<void> {
    const { store, nodeId } = this.options;
    for (const execution of await store.jobExecutions.listOwned(nodeId)) {
      if (execution.status === 'PENDING') {
        // The launch was interrupted before the engine accepted the job: launch it again.
        await store.jobExecutions.updateIf(
          execution.id,
          { statusIn: ['PENDING'], owner: nodeId },
          { lease_owner: null, lease_expires_at: null },
        );
      } else {
        await this.poll(execution);
      }
    }
  }

  private passes = 0;

  async tick(): Promise<void> {
    const { store, engines, nodeId, leaseMs } = this.options;
    await store.jobExecutions.renewLeases(nodeId, leaseMs);
    await this.options.disk?.refill();
    await this.endLostLocalJobs();
    const remote = [...engines.keys()].filter((kind) => kind !== 'local');
    if (remote.length > 0) {
      const taken = await store.jobExecutions.claim({
        nodeId,
        statuses: STARTED,
        engines: remote,
        limit: TAKEOVER_BATCH,
        leaseMs,
      });
      for (const execution of taken)
        this.options.logger.info({ executionId: execution.id }, 'took over an execution whose node went away');
    }
    // One lookup per cluster per pass, not per execution: hundreds of jobs share a few clusters.
    const clusters = new Map<string, Promise<ClusterRecord | undefined>>();
    const clusterOf = (id: string) => {
      let found = clusters.get(id);
      if (!found) clusters.set(id, (found = store.clusters.get(id)));
      return found;
    };
    this.passes += 1;
    const backstop = this.passes % LOCAL_BACKSTOP_EVERY === 1;
    for (const execution of await store.jobExecutions.listOwned(nodeId)) {
      if (execution.status === 'PENDING') continue;
      // The local engine pushes every job's end the moment it happens, so polling its jobs is
      // only a backstop (hundreds of sleeping jobs cost CPU for nothing otherwise). A cancel
      // under way is always followed up.
      const local = (await clusterOf(execution.cluster_id))?.engine === 'local';
      if (local && !backstop && execution.status !== 'TOBEKILLED') continue;
      await this.poll(execution, { clusterOf });
    }
  }

  /** Asks the engine for the execution's status now and stores it; returns the current row. */
  async refresh(execution: JobExecutionRecord): Promise<JobExecutionRecord> {
    await this.poll(execution, { rethrow: true });
    return (await this.options.store.jobExecutions.get(execution.id)) ?? execution;
  }

  /** A status the engine pushed (the local engine saw its child exit). */
  async applyPushed(executionId: string, reported: EngineStatus): Promise<void> {
    const execution = await this.options.store.jobExecutions.get(executionId);
    if (!execution) return;
    await this.store(execution, reported);
  }

  /**
   * Cleans up after an execution and removes its row (the end of a delete). The files go first:
   * on a full disk that frees the space the row's delete needs, and the reserve covers the rest.
   */
  async removeExecution(execution: JobExecutionRecord): Promise<void> {
    const ref = refOf(execution);
    if (ref) {
      const cluster = await this.options.store.clusters.get(execution.cluster_id);
      const engine = cluster && this.options.engines.get(cluster.engine);
      if (cluster && engine) await engine.cleanup(ref, cluster);
    }
    await this.withRoom(() => this.options.store.jobExecutions.delete(execution.id));
    this.options.logger.info({ executionId: execution.id }, 'execution deleted');
  }

  /** Stores a report; when it ends the execution, frees its slot and finishes a pending delete. */
  async store(execution: JobExecutionRecord, reported: EngineStatus): Promise<JobExecutionRecord | undefined> {
    // A job's end is stored even on a full disk: it borrows the reserve.
    const updated = await this.withRoom(() => applyEngineStatus(this.options.store, execution, reported));
    if (updated && isTerminal(updated.status)) {
      this.options.logger.info({ executionId: updated.id, status: updated.status }, 'job ended');
      const cluster = await this.options.store.clusters.get(updated.cluster_id);
      if (!cluster || cluster.engine === 'local') this.onLocalSlotFreed();
      if (updated.delete_requested) await this.removeExecution(updated);
    }
    return updated;
  }

  /**
   * Ends FAILED the local executions of a node that stopped renewing its leases more than the
   * grace time ago: only that node could see their jobs, and it did not come back to re-adopt
   * them. Their PENDING executions need nothing here: the launcher claims expired leases.
   */
  private async endLostLocalJobs(): Promise<void> {
    const { store, nodeId, leaseMs, nodeLossGraceMs = 0 } = this.options;
    const lost = await store.jobExecutions.claim({
      nodeId,
      statuses: STARTED,
      engines: ['local'],
      limit: TAKEOVER_BATCH,
      leaseMs,
      lostForMs: nodeLossGraceMs,
    });
    for (const execution of lost) {
      const node = nodeOf(execution);
      const reason = `The Oasis node '${node}' running this local job was lost: its lease expired and it did not come back; the job's outcome is unknown`;
      const ended = await store.jobExecutions.updateIf(
        execution.id,
        { statusIn: STARTED, owner: nodeId },
        { status: 'FAILED', info: { ...execution.info, status: 'FAILED', reason, lost_node: node }, ...endFields() },
      );
      if (!ended) continue;
      this.options.logger.warn({ executionId: execution.id, lostNode: node }, 'local job of a lost node ended FAILED');
      // Its files are on the lost node: only the row can go.
      if (ended.delete_requested) await store.jobExecutions.delete(execution.id);
    }
  }

  private withRoom<T>(write: () => Promise<T>): Promise<T> {
    return this.options.disk ? this.options.disk.withRoom(write) : write();
  }

  private async poll(
    execution: JobExecutionRecord,
    { rethrow = false, clusterOf = (id: string) => this.options.store.clusters.get(id) } = {},
  ): Promise<void> {
    if (isTerminal(execution.status)) return;
    const ref = refOf(execution);
    if (!ref) {
      if (execution.status !== 'PENDING') {
        await failExecution(
          this.options.store,
          execution,
          'The job was marked started but the engine never confirmed it',
        );
      }
      return;
    }
    const cluster = await clusterOf(execution.cluster_id);
    const engine = cluster && this.options.engines.get(cluster.engine);
    if (!cluster || !engine) return;
    try {
      const reported = await engine.status(ref, cluster);
      // A cancel still under way: ask again until the engine reports the end.
      if (
        execution.status === 'TOBEKILLED' &&
        !isTerminal(reported.status) &&
        execution.lease_owner === this.options.nodeId
      ) {
        const answer = await engine.cancel(ref, cluster);
        await this.store(execution, answer ?? reported);
        return;
      }
      await this.store(execution, reported);
    } catch (error) {
      if (error instanceof TransientEngineError) {
        this.options.logger.warn({ err: error, executionId: execution.id }, 'engine unreachable; status unchanged');
        return;
      }
      if (rethrow) throw error;
      this.options.logger.error({ err: coerceError(error), executionId: execution.id }, 'polling the engine failed');
    }
  }
}

/** The node a local job ran on: the local engine records it in the execution's engine id. */
function nodeOf(execution: JobExecutionRecord): string {
  const recorded = execution.extra.node;
  if (typeof recorded === 'string' && recorded !== '') return recorded;
  const at = execution.engine_job_id?.indexOf('@') ?? -1;
  return at >= 0 ? execution.engine_job_id!.slice(at + 1) : 'unknown';
}
