import type { Logger } from 'pino';
import { type Engine, type Engines, JobStartError, type Submission, TransientEngineError } from '../engines/engine.js';
import { coerceError } from '../errors.js';
import type { ClusterRecord, EngineKind, JobExecutionRecord, RowPatch, Store } from '../store/types.js';
import type { DiskSpace } from './disk-space.js';
import { prepareJob } from './job-spec.js';
import { isTerminal } from '../store/statuses.js';
import { endFields, failExecution, nowIso } from './transitions.js';

type Outcome = 'started' | 'skipped' | 'ended';

/** How many remote (spark, yarn) executions one pass submits at most. */
const REMOTE_BATCH = 20;
const MAX_RETRY_DELAY_MS = 60_000;

/** What the launcher needs: the store and engines, this node, and its limits. */
export interface LauncherDeps {
  store: Store;
  engines: Engines;
  nodeId: string;
  /** How many local jobs run at once on this node; the rest wait as PENDING, in order. */
  localConcurrency: number;
  pollIntervalMs: number;
  leaseMs: number;
  disk?: DiskSpace | undefined;
  logger: Logger;
}

/**
 * Starts PENDING executions, oldest first. Local jobs respect the node's concurrency limit;
 * the rest wait as PENDING and start in order as slots free up. Executions are claimed with a
 * lease first, so two nodes never launch the same one.
 */
export class Launcher {
  /** Executions whose engine was unreachable, and when to try them again. */
  private readonly retries = new Map<string, { at: number; attempts: number }>();

  constructor(private readonly options: LauncherDeps) {}

  async tick(): Promise<void> {
    const { store, engines, nodeId, localConcurrency } = this.options;
    // Claimed but not launchable now (cluster not Active, engine unreachable): their leases are
    // kept until the end of the pass so the next claim moves on to younger executions.
    const skipped: JobExecutionRecord[] = [];
    try {
      // A local job's output goes to the data dir: below its watermark, queued jobs wait.
      if (engines.has('local') && !(await this.dataDirShort())) {
        let free = localConcurrency - (await store.jobExecutions.countActive(nodeId, ['local']));
        while (free > 0) {
          const outcome = await this.claimAndLaunch(['local'], skipped);
          if (outcome === undefined) break;
          if (outcome === 'started') free -= 1;
        }
      }
      const remote = [...engines.keys()].filter((kind) => kind !== 'local');
      for (let launched = 0; remote.length > 0 && launched < REMOTE_BATCH; launched += 1) {
        if ((await this.claimAndLaunch(remote, skipped)) === undefined) break;
      }
    } finally {
      for (const execution of skipped) {
        await store.jobExecutions.updateIf(
          execution.id,
          { statusIn: ['PENDING'], owner: nodeId },
          { lease_owner: null, lease_expires_at: null },
        );
      }
    }
  }

  private async dataDirShort(): Promise<boolean> {
    const reason = await this.options.disk?.shortage();
    if (reason && !this.shortageLogged) this.options.logger.warn({ reason }, 'local jobs wait for disk space');
    this.shortageLogged = reason !== undefined;
    return reason !== undefined;
  }

  private shortageLogged = false;

  private async claimAndLaunch(kinds: EngineKind[], skipped: JobExecutionRecord[]): Promise<Outcome | undefined> {
    const { store, nodeId, leaseMs } = this.options;
    const [execution] = await store.jobExecutions.claim({
      nodeId,
      statuses: ['PENDING'],
      engines: kinds,
      limit: 1,
      leaseMs,
    });
    if (!execution) return undefined;
    const outcome = await this.launch(execution).catch(async (error: unknown) => {
      // A store failure mid-launch: leave the execution PENDING for a later pass.
      this.options.logger.error(
        { err: coerceError(error), executionId: execution.id },
        'launching an execution failed',
      );
      return 'skipped' as const;
    });
    if (outcome === 'skipped') skipped.push(execution);
    return outcome;
  }

  private async launch(execution: JobExecutionRecord): Promise<Outcome> {
    const { store, engines } = this.options;
    const retry = this.retries.get(execution.id);
    if (retry && retry.at > Date.now()) return 'skipped';

    const cluster = await store.clusters.get(execution.cluster_id);
    if (!cluster) return this.fail(execution, 'The cluster was deleted before the job could start');
    // As in Sahara, a job on a cluster that is not Active waits as PENDING.
    if (cluster.status !== 'Active') return 'skipped';
    const engine = engines.get(cluster.engine);
    if (!engine) return this.fail(execution, `No ${cluster.engine} engine is configured on this Oasis`);
    const template = await store.jobTemplates.get(execution.job_id);
    if (!template) return this.fail(execution, 'The job template was deleted before the job could start');

    let prepared;
    try {
      prepared = await prepareJob(store, execution, template);
    } catch (error) {
      if (error instanceof JobStartError) return this.fail(execution, error.message);
      throw error;
    }
    const current = await store.jobExecutions.get(execution.id);
    if (!current || current.status !== 'PENDING') return 'ended';

    let submission: Submission;
    try {
      submission = await engine.submit(prepared.spec, cluster);
    } catch (error) {
      if (error instanceof TransientEngineError) return this.retryLater(execution, error);
      const reason =
        error instanceof JobStartError
          ? error.message
          : `The engine could not start the job: ${coerceError(error).message}`;
      this.retries.delete(execution.id);
      return this.fail(execution, reason, { data_source_urls: prepared.dataSourceUrls });
    }
    this.retries.delete(execution.id);

    const now = nowIso();
    const reported = submission.status;
    const patch: RowPatch<JobExecutionRecord> = {
      status: reported.status,
      info: { ...(reported.info ?? {}), status: reported.status },
      engine_job_id: submission.engineJobId,
      extra: submission.extra,
      start_time: now,
      data_source_urls: prepared.dataSourceUrls,
    };
    if (reported.returnCode !== undefined && reported.returnCode !== null)
      patch.return_code = String(reported.returnCode);
    if (isTerminal(reported.status)) Object.assign(patch, endFields(now));
    const stored = await store.jobExecutions.updateIf(
      execution.id,
      { statusIn: ['PENDING'], owner: this.options.nodeId },
      patch,
    );
    if (stored) {
      this.options.logger.info(
        { executionId: execution.id, engineJobId: submission.engineJobId, engine: engine.kind },
        'job started',
      );
      return 'started';
    }
    await this.abandon(execution, submission, engine, cluster, now);
    return 'ended';
  }

  /**
   * The execution was cancelled or deleted while the engine was starting it: stop the job too,
   * and keep its engine id on the (already KILLED) row, or clean up when the row is gone.
   */
  private async abandon(
    execution: JobExecutionRecord,
    submission: Submission,
    engine: Engine,
    cluster: ClusterRecord,
    startedAt: string,
  ): Promise<void> {
    const ref = { executionId: execution.id, engineJobId: submission.engineJobId, extra: submission.extra };
    const log = this.options.logger.child({ executionId: execution.id });
    try {
      await engine.cancel(ref, cluster);
    } catch (error) {
      log.warn({ err: coerceError(error) }, 'stopping a job cancelled during its launch failed');
    }
    const latest = await this.options.store.jobExecutions.get(execution.id);
    if (latest) {
      await this.options.store.jobExecutions.update(execution.id, {
        engine_job_id: submission.engineJobId,
        extra: submission.extra,
        start_time: latest.start_time ?? startedAt,
      });
    }
    if (!latest || latest.delete_requested) await engine.cleanup(ref, cluster);
  }

  private async fail(
    execution: JobExecutionRecord,
    reason: string,
    extra: RowPatch<JobExecutionRecord> = {},
  ): Promise<Outcome> {
    this.options.logger.warn({ executionId: execution.id, reason }, 'job could not start');
    await failExecution(this.options.store, execution, reason, extra);
    return 'ended';
  }

  private retryLater(execution: JobExecutionRecord, error: Error): Outcome {
    const attempts = (this.retries.get(execution.id)?.attempts ?? 0) + 1;
    const delay = Math.min(this.options.pollIntervalMs * 2 ** attempts, MAX_RETRY_DELAY_MS);
    this.retries.set(execution.id, { at: Date.now() + delay, attempts });
    this.options.logger.warn(
      { executionId: execution.id, err: error, retryInMs: delay },
      'engine unreachable; job stays PENDING',
    );
    return 'skipped';
  }
}
