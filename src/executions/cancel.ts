import type { Logger } from 'pino';
import { type Engines, refOf } from '../engines/engine.js';
import { coerceError } from '../errors.js';
import type { JobExecutionRecord, Store } from '../store/types.js';
import type { Reconciler } from './reconciler.js';
import { isTerminal } from '../store/statuses.js';
import { endFields } from './transitions.js';

/** How long a delete waits for a cancelled job to end before removing the row anyway (as Sahara). */
const DELETE_WAIT_MS = 60_000;
const DELETE_POLL_MS = 100;

/** What cancel and delete need: the store and engines, and this node. */
export interface CancellerDeps {
  store: Store;
  engines: Engines;
  nodeId: string;
  logger: Logger;
}

/** Cancel and delete: the transitions a client asks for. */
export class Canceller {
  private waiting = true;

  constructor(
    private readonly options: CancellerDeps,
    private readonly reconciler: Reconciler,
  ) {}

  /** Marks the cancel and waits for the engine's answer to the stop request. */
  async cancel(execution: JobExecutionRecord): Promise<JobExecutionRecord | undefined> {
    const marked = await this.mark(execution);
    if (!marked || isTerminal(marked.status)) return marked;
    await this.askEngine(marked);
    return this.options.store.jobExecutions.get(execution.id);
  }

  /**
   * The cancel's transition: terminal → unchanged; PENDING → KILLED at once (a launch in
   * progress notices and stops the job it started); started → TOBEKILLED, after which
   * `askEngine` stops the job. Returns the row afterwards, or undefined when it is gone.
   */
  async mark(execution: JobExecutionRecord): Promise<JobExecutionRecord | undefined> {
    const jobs = this.options.store.jobExecutions;
    let row: JobExecutionRecord | undefined = execution;
    // Each attempt is a compare-and-set; a lost race re-reads and decides again.
    for (let attempt = 0; attempt < 5 && row; attempt += 1) {
      if (isTerminal(row.status) || row.status === 'TOBEKILLED') return row;
      const marked =
        row.status === 'PENDING'
          ? await jobs.updateIf(
              row.id,
              { statusIn: ['PENDING'] },
              { status: 'KILLED', info: { status: 'KILLED' }, cancel_requested: true, ...endFields() },
            )
          : await jobs.updateIf(
              row.id,
              { statusIn: [row.status] },
              { status: 'TOBEKILLED', info: { ...row.info, status: 'TOBEKILLED' }, cancel_requested: true },
            );
      if (marked) return marked;
      row = await jobs.get(row.id);
    }
    return row;
  }

  /** Cancels, waits for the job to end, cleans up and removes the row. */
  async removeWhenEnded(id: string): Promise<void> {
    const jobs = this.options.store.jobExecutions;
    const initial = await jobs.get(id);
    if (!initial) return;
    let row = await this.cancel(initial);
    const deadline = Date.now() + DELETE_WAIT_MS;
    while (row && !isTerminal(row.status) && this.waiting && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, DELETE_POLL_MS));
      row = await jobs.get(id);
    }
    if (!row) return;
    // Shutting down: delete_requested is stored, so the reconciler finishes the delete once the
    // job ends, after a restart if need be.
    if (!isTerminal(row.status) && !this.waiting) return;
    await this.reconciler.removeExecution(row);
  }

  /** Lets pending deletes return at shutdown instead of waiting for their jobs. */
  stopWaiting(): void {
    this.waiting = false;
  }

  /** Asks the engine to stop a job marked TOBEKILLED, storing its answer when it has one. */
  async askEngine(execution: JobExecutionRecord): Promise<void> {
    const ref = refOf(execution);
    // No engine id yet: the launcher sees the cancel once the engine has accepted the job.
    if (!ref) return;
    const cluster = await this.options.store.clusters.get(execution.cluster_id);
    const engine = cluster && this.options.engines.get(cluster.engine);
    if (!cluster || !engine) return;
    // Only the node running a local job can stop it; its reconciler sees TOBEKILLED.
    if (cluster.engine === 'local' && execution.lease_owner !== this.options.nodeId) return;
    try {
      const answer = await engine.cancel(ref, cluster);
      if (answer) await this.reconciler.store(execution, answer);
    } catch (error) {
      // The reconciler asks again on its next pass.
      this.options.logger.warn(
        { err: coerceError(error), executionId: execution.id },
        'asking the engine to cancel failed',
      );
    }
  }
}
