import { realpathSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { errorMessage } from '../../errors.js';
import { isTerminal } from '../../store/statuses.js';
import type { JobType } from '../../store/types.js';
import {
  JobStartError,
  TransientEngineError,
  type Engine,
  type EngineCluster,
  type EngineJobRef,
  type EngineStatus,
  type JobSpec,
  type Submission,
  type EngineLogger,
  type LogChunk,
  type LogRead,
  type LogTarget,
} from '../engine.js';
import { launcherIdentity, type ProcessIdentity } from '../processes/processes.js';
import { executionDir, readLaunchedPid, stagingDir } from '../processes/workdir.js';
import type { Sandbox } from '../sandbox/index.js';
import {
  cancelClientJob,
  clientApplicationId,
  clientJobStatus,
  killClientJob,
  readClientIdentity,
  startClientJob,
  type ClientJob,
} from './client-driver.js';
import { clusterDriverStatus } from './cluster-driver.js';
import { readSparkLogs } from './logs.js';
import { SPARK_JOB_TYPES, clientCommand, clientEnvironment, runModeOf, validateSparkJob } from './job-spec.js';
import { killDriver, masterState, restServerAnswers } from './master-client.js';
import { sparkSettingsOf, validateSparkCluster, type SparkClusterSettings } from './settings.js';
import { stage } from './staging.js';
import { submitDriver } from './submissions.js';
import { findOnPath } from '../processes/executables.js';

export type SparkEngineLogger = EngineLogger;

export interface SparkEngineSettings {
  workDir: string;
  nodeId: string;
  killGraceMs: number;
  sparkHome: string | undefined;
  /** Confines client-mode jobs, which run on this host. */
  sandbox: Sandbox;
  /** How long a create request waits for the master's answer. */
  submitTimeoutMs: number;
  /**
   * How long after an unanswered create request a submission is still assumed possible; past it,
   * an attempt whose driver cannot be found is submitted again.
   */
  submitSettleMs: number;
  logger: SparkEngineLogger | undefined;
}

type StatusListener = (executionId: string, status: EngineStatus) => void;

/** How often cancel asks the master whether a killed driver has ended. */
const KILL_POLL_MS = 250;
const KILL_SETTLE_MS = 5_000;

/**
 * Extra kept with each execution, enough to find the job again after an Oasis restart:
 * cluster mode `{ mode, staged_dir }` (the engine job id is the driver id); client mode
 * `{ mode, workdir, pid, starttime, boot_id, node }` (the engine job id is `<pid>@<node>`).
 */
export class SparkEngine implements Engine {
  readonly kind = 'spark' as const;
  private readonly listeners: StatusListener[] = [];
  /** Application ids already read from driver logs, by driver id. */
  private readonly applicationIds = new Map<string, string>();
  /** Execution ids read from drivers' launch commands, by driver id ('' when untagged). */
  private readonly driverTags = new Map<string, string>();
  private closed = false;

  constructor(private readonly settings: SparkEngineSettings) {}

  supportedJobTypes(): readonly JobType[] {
    return SPARK_JOB_TYPES;
  }

  validate(job: JobSpec, cluster: EngineCluster): void {
    validateSparkJob(job, this.clusterSettings(cluster));
  }

  validateCluster(cluster: Pick<EngineCluster, 'hadoop_version' | 'cluster_configs'>): void {
    validateSparkCluster(cluster);
  }

  async submit(job: JobSpec, cluster: EngineCluster): Promise<Submission> {
    const settings = this.clusterSettings(cluster);
    try {
      validateSparkJob(job, settings);
    } catch (error) {
      throw new JobStartError(errorMessage(error), { cause: error });
    }
    return runModeOf(job) === 'cluster'
      ? this.submitToCluster(job, cluster, settings)
      : this.startClient(job, settings);
  }

  async status(ref: EngineJobRef, cluster: EngineCluster): Promise<EngineStatus> {
    if (ref.extra.mode === 'client') return this.clientStatus(await this.clientJob(ref));
    return clusterDriverStatus(this.clusterSettings(cluster), ref.engineJobId, this.applicationIds);
  }

  async cancel(ref: EngineJobRef, cluster: EngineCluster): Promise<EngineStatus | undefined> {
    if (ref.extra.mode === 'client') {
      const job = await this.clientJob(ref);
      const current = await this.clientStatus(job);
      if (isTerminal(current.status)) return current;
      const gone = await cancelClientJob(job, this.settings.killGraceMs);
      this.settings.logger?.info({ executionId: ref.executionId }, 'spark client driver cancelled');
      return gone ? this.clientStatus(job) : undefined;
    }

    const settings = this.clusterSettings(cluster);
    const current = await this.status(ref, cluster);
    if (isTerminal(current.status)) return current;
    await killDriver(settings.restUrl, ref.engineJobId);
    this.settings.logger?.info({ executionId: ref.executionId, driver: ref.engineJobId }, 'spark driver killed');
    // The worker kills the driver process and reports back; wait a little for the end.
    const deadline = Date.now() + this.settings.killGraceMs + KILL_SETTLE_MS;
    while (Date.now() < deadline) {
      const status = await this.status(ref, cluster);
      if (isTerminal(status.status)) return status;
      await sleep(KILL_POLL_MS);
    }
    return undefined;
  }

  async cleanup(ref: EngineJobRef): Promise<void> {
    if (ref.extra.mode === 'client') {
      const job = await this.clientJob(ref);
      await killClientJob(job);
      await rm(job.dir, { recursive: true, force: true });
      return;
    }
    this.applicationIds.delete(ref.engineJobId);
    const staged = ref.extra.staged_dir;
    if (typeof staged === 'string' && path.basename(staged) === ref.executionId) {
      await rm(staged, { recursive: true, force: true });
    }
  }

  onStatusChange(listener: StatusListener): void {
    this.listeners.push(listener);
  }

  async checkCluster(cluster: EngineCluster): Promise<{ status: 'Active' | 'Error'; description: string }> {
    let settings: SparkClusterSettings;
    try {
      settings = sparkSettingsOf(cluster);
    } catch (error) {
      return { status: 'Error', description: errorMessage(error) };
    }
    try {
      const master = await masterState(settings.webUrl);
      if (master.status !== 'ALIVE') {
        return { status: 'Error', description: `Spark master ${settings.master} is ${master.status}` };
      }
      await restServerAnswers(settings.restUrl);
      return {
        status: 'Active',
        description: `Spark master ${settings.master} is ALIVE with ${master.aliveworkers} alive worker(s)`,
      };
    } catch (error) {
      return { status: 'Error', description: errorMessage(error) };
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.length = 0;
  }

  readLogs(target: LogTarget, cluster: EngineCluster, read: LogRead): Promise<LogChunk> {
    return readSparkLogs(this.settings.workDir, this.clusterSettings(cluster), target, read);
  }

  private clusterSettings(cluster: EngineCluster): SparkClusterSettings {
    const settings = sparkSettingsOf(cluster);
    return settings.sparkHome || !this.settings.sparkHome
      ? settings
      : { ...settings, sparkHome: this.settings.sparkHome };
  }

  private submitToCluster(job: JobSpec, cluster: EngineCluster, settings: SparkClusterSettings): Promise<Submission> {
    return submitDriver(job, cluster, settings, {
      stagingRoot: settings.sharedDir ?? this.settings.workDir,
      submitTimeoutMs: this.settings.submitTimeoutMs,
      submitSettleMs: this.settings.submitSettleMs,
      driverTags: this.driverTags,
      applicationIds: this.applicationIds,
      logger: this.settings.logger,
    });
  }

  private async startClient(job: JobSpec, settings: SparkClusterSettings): Promise<Submission> {
    const dir = executionDir(this.settings.workDir, job.executionId);
    const adopted = await this.adoptClient(job, dir);
    if (adopted) return adopted;
    try {
      // A directory left by an attempt that failed before starting anything is started afresh.
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const staging = stagingDir(dir);
      const files = await stage(job, staging, this.settings.sandbox.jobOwner);
      const { sandbox } = this.settings;
      const jobDir = sandbox.jobDir(staging);
      const command = clientCommand(job, settings, jobDir);
      const confined = sandbox.wrap({
        workDir: staging,
        files,
        readOnlyPaths: job.jobType === 'Shell' ? [] : installationPaths(settings),
        writablePaths: settings.sharedDir ? [settings.sharedDir] : [],
        command,
      });
      const started = await startClientJob(dir, confined, clientEnvironment(job, settings, jobDir));
      const clientJob: ClientJob = { dir, identity: started.identity };
      void started.exited.then(() => this.reportEnd(job.executionId, clientJob));
      this.settings.logger?.info(
        { executionId: job.executionId, pid: started.identity.pid, command },
        'spark client job started',
      );
      return this.clientSubmission(started.identity, dir, {
        status: 'RUNNING',
        info: { pid: started.identity.pid, workdir: dir },
      });
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw new JobStartError(`the job could not start: ${errorMessage(error)}`, { cause: error });
    }
  }

  /**
   * Client mode's idempotence, as the local engine's: a launcher that already ran in the
   * execution's directory (it leaves `launched`, and normally `job.json`) is adopted with its
   * current status, never started again.
   */
  private async adoptClient(job: JobSpec, dir: string): Promise<Submission | undefined> {
    let identity = await readClientIdentity(dir);
    if (!identity) {
      const launched = await readLaunchedPid(dir);
      if (!launched) return undefined;
      if (launched.pid === undefined) {
        throw new JobStartError(
          `execution ${job.executionId} was started on this node, but its launcher cannot be identified`,
        );
      }
      identity = launcherIdentity(launched.pid, dir);
    }
    const status = await this.clientStatus({ dir, identity });
    this.settings.logger?.info(
      { executionId: job.executionId, pid: identity.pid, status: status.status },
      'spark client job already started: adopted',
    );
    return this.clientSubmission(identity, dir, status);
  }

  private clientSubmission(identity: ProcessIdentity, dir: string, status: EngineStatus): Submission {
    return {
      engineJobId: `${identity.pid}@${this.settings.nodeId}`,
      status,
      extra: {
        mode: 'client',
        workdir: dir,
        pid: identity.pid,
        starttime: identity.starttime,
        boot_id: identity.bootId,
        node: this.settings.nodeId,
      },
    };
  }

  private async clientStatus(job: ClientJob): Promise<EngineStatus> {
    const status = await clientJobStatus(job, this.settings.killGraceMs);
    const appId = await clientApplicationId(job);
    if (appId) status.info = { ...status.info, app_id: appId };
    return status;
  }

  /** Finds a client job again from its ref alone; only the node that started it can. */
  private async clientJob(ref: EngineJobRef): Promise<ClientJob> {
    const node = typeof ref.extra.node === 'string' ? ref.extra.node : '';
    if (node !== this.settings.nodeId) {
      throw new TransientEngineError(
        `spark client job ${ref.engineJobId} runs on node '${node}', not '${this.settings.nodeId}'`,
      );
    }
    const dir = executionDir(this.settings.workDir, ref.executionId);
    const { pid, starttime, boot_id: bootId } = ref.extra;
    if (typeof pid === 'number' && typeof starttime === 'string' && typeof bootId === 'string') {
      return { dir, identity: { pid, starttime, bootId } };
    }
    return { dir, identity: await readClientIdentity(dir) };
  }

  private async reportEnd(executionId: string, job: ClientJob): Promise<void> {
    if (this.closed || this.listeners.length === 0) return;
    let status: EngineStatus;
    try {
      status = await this.clientStatus(job);
    } catch (error) {
      this.settings.logger?.warn({ err: error, executionId }, 'cannot read spark client job status');
      return;
    }
    if (!isTerminal(status.status) || this.closed) return;
    for (const listener of this.listeners) {
      try {
        listener(executionId, status);
      } catch (error) {
        this.settings.logger?.error({ err: error, executionId }, 'status listener failed');
      }
    }
  }
}

/**
 * What a sandboxed Python driver must read beyond the system: the Spark installation and the
 * Python installation, found from the executable as given (a virtualenv, a pyenv shim) and as
 * resolved (the interpreter it links to), plus a JDK outside /usr.
 */
function installationPaths(settings: SparkClusterSettings): string[] {
  const paths = new Set<string>();
  const prefixOf = (executable: string): void => {
    const prefix = path.dirname(path.dirname(executable));
    if (prefix !== '/' && !prefix.startsWith('/usr')) paths.add(prefix);
  };
  if (settings.sparkHome) paths.add(settings.sparkHome);
  const python = path.isAbsolute(settings.python) ? settings.python : findOnPath(settings.python);
  for (const executable of [python, process.env.JAVA_HOME && path.join(process.env.JAVA_HOME, 'bin', 'java')]) {
    if (!executable) continue;
    prefixOf(executable);
    try {
      prefixOf(realpathSync(executable));
    } catch {
      // Not there; the driver will say so.
    }
  }
  return [...paths];
}
