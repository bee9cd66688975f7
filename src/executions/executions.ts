import { type EngineStatus, refOf } from '../engines/engine.js';
import { coerceError, isDiskFull } from '../errors.js';
import type { JobExecutionRecord } from '../store/types.js';
import { Canceller, type CancellerDeps } from './cancel.js';
import { Launcher, type LauncherDeps } from './launcher.js';
import { Poller } from './poller.js';
import { Reconciler, type ReconcilerDeps } from './reconciler.js';
import { isTerminal } from '../store/statuses.js';

/** What the lifecycle needs, the sum of what its parts need. */
export interface ExecutionsOptions extends LauncherDeps, ReconcilerDeps, CancellerDeps {}

/**
 * The job-execution lifecycle of one Oasis node: the launcher starts PENDING executions, the
 * reconciler tracks started ones to their end, and cancel/refresh/delete act on request.
 *
 * Restart: `start()` first re-adopts the executions this node still holds a lease on. Started
 * executions are asked for their real status (the local engine finds its jobs again on disk);
 * PENDING ones whose launch was interrupted are released and launched again. The cases that end
 * FAILED with `info.reason` are: the engine reports the job lost (e.g. a local job whose working
 * directory vanished), an execution that was marked started but never got an engine id, and an
 * execution whose cluster, engine or template disappeared before launch.
 */
export class Executions {
  private readonly launcher: Launcher;
  private readonly reconciler: Reconciler;
  private readonly canceller: Canceller;
  private readonly launchLoop: Poller;
  private readonly reconcileLoop: Poller;
  private readonly background = new Set<Promise<unknown>>();
  private started = false;
  private stopped: Promise<void> | undefined;

  constructor(private readonly options: ExecutionsOptions) {
    const logger = options.logger;
    this.reconciler = new Reconciler(options, () => this.launchLoop.wake());
    this.launcher = new Launcher(options);
    this.canceller = new Canceller(options, this.reconciler);
    this.launchLoop = new Poller(() => this.launcher.tick(), {
      name: 'launcher',
      intervalMs: options.pollIntervalMs,
      logger,
    });
    this.reconcileLoop = new Poller(() => this.reconciler.tick(), {
      name: 'reconciler',
      intervalMs: options.pollIntervalMs,
      logger,
    });
    for (const engine of options.engines.values()) {
      engine.onStatusChange?.((executionId, status) => this.onEnginePush(executionId, status));
    }
  }

  /** Re-adopts this node's executions, then starts the launcher and the reconciler. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    try {
      await this.reconciler.recover();
    } catch (error) {
      // The reconciler's first tick retries whatever recovery could not reach.
      this.options.logger.error({ err: error }, 'recovering executions failed; the reconciler will retry');
    }
    this.launchLoop.start();
    this.reconcileLoop.start();
  }

  /** Starts queued executions now rather than at the next poll (called after execute). */
  wake(): void {
    this.launchLoop.wake();
  }

  /**
   * Cancels an execution: terminal → nothing; PENDING → KILLED at once; started → TOBEKILLED,
   * and the engine is asked in the background to stop it (KILLED follows from the engine).
   * Safe to repeat. Resolves with the row after the transition.
   */
  async cancel(execution: JobExecutionRecord): Promise<JobExecutionRecord | undefined> {
    const marked = await this.canceller.mark(execution);
    if (marked && marked.status === 'TOBEKILLED') this.track(this.canceller.askEngine(marked));
    return marked;
  }

  /** Asks the engine for the execution's status now and stores it; returns the current row. */
  refresh(execution: JobExecutionRecord): Promise<JobExecutionRecord> {
    return this.reconciler.refresh(execution);
  }

  /**
   * Deletes an execution in the background: a running job is cancelled first, its leftovers
   * removed by the engine, then the row. Resolves once the deletion is under way.
   *
   * Below the data dir's watermark, or when even marking the delete cannot be stored, it is
   * done at once instead: the job is killed and its files removed first, which frees space, then
   * the row goes (a graceful cancel would have to write its marker on the full disk).
   */
  async remove(execution: JobExecutionRecord): Promise<void> {
    // Only this node can reach its jobs' files; another node's execution takes the usual way.
    const holder = typeof execution.extra.node === 'string' ? execution.extra.node : execution.lease_owner;
    const ours = holder === null || holder === this.options.nodeId;
    if (ours && (await this.options.disk?.shortage())) return this.removeAtOnce(execution);
    try {
      await this.options.store.jobExecutions.update(execution.id, { delete_requested: true });
    } catch (error) {
      if (!isDiskFull(error)) throw error;
      return this.removeAtOnce(execution);
    }
    this.track(this.canceller.removeWhenEnded(execution.id));
  }

  private async removeAtOnce(execution: JobExecutionRecord): Promise<void> {
    const log = this.options.logger.child({ executionId: execution.id });
    log.warn('disk short: deleting the execution and its files at once');
    // A local job's cleanup kills it; a Spark or YARN job must be stopped on its cluster first.
    const ref = refOf(execution);
    const cluster =
      ref && !isTerminal(execution.status) ? await this.options.store.clusters.get(execution.cluster_id) : undefined;
    const engine = cluster && this.options.engines.get(cluster.engine);
    if (ref && cluster && engine && engine.kind !== 'local') {
      await engine
        .cancel(ref, cluster)
        .catch((error: unknown) => log.warn({ err: coerceError(error) }, 'stopping the job failed'));
    }
    await this.reconciler.removeExecution(execution);
  }

  /** Refuses a new execution (507) while the data dir is below its free-space watermark. */
  async checkRoomForExecution(): Promise<void> {
    await this.options.disk?.checkRoomForExecution();
  }

  /** Idempotent and time-boxed: stops the loops, waits for in-flight work up to `graceMs`. */
  stop(graceMs: number): Promise<void> {
    this.stopped ??= this.shutdown(graceMs);
    return this.stopped;
  }

  private async shutdown(graceMs: number): Promise<void> {
    this.canceller.stopWaiting();
    const work = Promise.allSettled([this.launchLoop.stop(), this.reconcileLoop.stop(), ...this.background]);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), graceMs);
    });
    const outcome = await Promise.race([work.then(() => 'done' as const), timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.options.logger.warn({ graceMs }, 'executions did not stop within the grace time');
    }
  }

  private onEnginePush(executionId: string, status: EngineStatus): void {
    this.track(
      this.reconciler.applyPushed(executionId, status).catch((error: unknown) => {
        // The next poll of the reconciler writes the same status.
        this.options.logger.warn({ err: coerceError(error), executionId }, 'storing a pushed status failed');
      }),
    );
  }

  private track(work: Promise<unknown>): void {
    const tracked = work.catch((error: unknown) => {
      this.options.logger.error({ err: coerceError(error) }, 'background execution work failed');
    });
    this.background.add(tracked);
    void tracked.finally(() => this.background.delete(tracked));
  }
}
