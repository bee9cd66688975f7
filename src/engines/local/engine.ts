import type { ChildProcess } from 'node:child_process';
import { chown, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { errorMessage } from '../../errors.js';
import { isTerminal } from '../../store/statuses.js';
import {
  JobStartError,
  TransientEngineError,
  type Engine,
  type EngineJobRef,
  type EngineStatus,
  type JobSpec,
  type Submission,
  type EngineLogger,
  type LogChunk,
  type LogRead,
  type LogTarget,
} from '../engine.js';
import type { JobType } from '../../store/types.js';
import { limitReason, type Sandbox } from '../sandbox/index.js';
import { LOCAL_JOB_TYPES, commandOf, environmentOf, validateLocalJob } from './job-spec.js';
import { launch } from '../processes/launcher.js';
import { readLocalLogs } from './logs.js';
import {
  identityOf,
  launcherIdentity,
  leaderAlive,
  liveGroupMembers,
  signalGroup,
  terminateJob,
  type ProcessIdentity,
} from '../processes/processes.js';
import {
  FILES,
  executionDir,
  readCancelMarker,
  readExitCode,
  readJobRecord,
  readLaunchedPid,
  readSlice,
  stagingDir,
  writeAtomically,
  writeCancelMarker,
  type JobRecord,
} from '../processes/workdir.js';

export type LocalEngineLogger = EngineLogger;

export interface LocalEngineSettings {
  workDir: string;
  nodeId: string;
  killGraceMs: number;
  javaExecutable: string | undefined;
  /** Host paths Java jobs need beyond the system (a JDK outside /usr). */
  javaPaths: readonly string[];
  sandbox: Sandbox;
  logger: LocalEngineLogger | undefined;
}

/** A job as found again from its ref: where it lives and, when known, its launcher's identity. */
interface LocalJob {
  executionId: string;
  dir: string;
  identity: ProcessIdentity | undefined;
}

type StatusListener = (executionId: string, status: EngineStatus) => void;

const WATCH_INTERVAL_MS = 250;
/** Enough of a failed job's error output to tell which limit it hit. */
const STDERR_TAIL_BYTES = 16 * 1024;
const CHECK_INTERVAL_MS = 50;
/** How long cancel waits beyond the grace time for SIGKILL to take effect before returning. */
const KILL_SETTLE_MS = 2_000;

export class LocalEngine implements Engine {
  readonly kind = 'local' as const;
  private readonly listeners: StatusListener[] = [];
  /** Jobs whose end has not been reported yet, by execution id. */
  private readonly watched = new Map<string, LocalJob>();
  /**
   * Watched jobs whose launcher is this process's own child and still alive: its 'exit' event
   * reports the end at once, so the watcher's poll skips them. Polling 500 running jobs every
   * 250 ms cost a quarter of a core; only adopted jobs (an earlier Oasis's) need the poll.
   */
  private readonly children = new Set<string>();
  private watchTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly settings: LocalEngineSettings) {}

  supportedJobTypes(): readonly JobType[] {
    return LOCAL_JOB_TYPES;
  }

  validate(job: JobSpec): void {
    validateLocalJob(job);
  }

  async submit(job: JobSpec): Promise<Submission> {
    try {
      validateLocalJob(job);
    } catch (error) {
      throw new JobStartError(errorMessage(error), { cause: error });
    }
    const dir = executionDir(this.settings.workDir, job.executionId);
    const adopted = await this.adopt(job, dir);
    if (adopted) return adopted;
    await this.prepareDirectory(dir);
    let child: ChildProcess | undefined;
    try {
      const staging = stagingDir(dir);
      await mkdir(staging, { mode: 0o700 });
      const files = [...job.mains, ...job.libs];
      for (const file of files) {
        // 'wx' never follows or overwrites an existing entry, so a name cannot redirect the write.
        const staged = path.join(staging, file.name);
        await writeFile(staged, await file.read(), { mode: 0o600, flag: 'wx' });
        const owner = this.settings.sandbox.jobOwner;
        if (owner) await chown(staged, owner.uid, owner.gid);
      }
      const { sandbox } = this.settings;
      const jobDir = sandbox.jobDir(staging);
      const command = commandOf(job, jobDir, this.settings.javaExecutable);
      const confined = sandbox.wrap({
        workDir: staging,
        files: files.map((file) => file.name),
        readOnlyPaths: job.jobType === 'Java' ? this.settings.javaPaths : [],
        command,
      });
      child = launch({ dir, command: confined, env: environmentOf(job.params, jobDir) });
      child.once('error', (error) => {
        this.settings.logger?.error({ err: error, executionId: job.executionId }, 'launcher error');
      });
      const identity = child.pid === undefined ? undefined : identityOf(child.pid);
      if (!identity) throw new Error('the job launcher did not start');
      const record: JobRecord = {
        ...identity,
        node: this.settings.nodeId,
        command,
        startedAt: new Date().toISOString(),
      };
      await writeAtomically(path.join(dir, FILES.job), `${JSON.stringify(record, null, 2)}\n`);

      const local: LocalJob = { executionId: job.executionId, dir, identity };
      this.watch(local);
      const ended = () => {
        this.children.delete(job.executionId);
        void this.check(local.executionId);
      };
      // A trivial job may already have ended while job.json was written: its 'exit' has fired.
      if (child.exitCode !== null || child.signalCode !== null) ended();
      else {
        this.children.add(job.executionId);
        child.once('exit', ended);
      }
      this.settings.logger?.info({ executionId: job.executionId, pid: identity.pid, command }, 'local job started');
      return this.submissionOf(identity, dir, { status: 'RUNNING', info: { pid: identity.pid, workdir: dir } });
    } catch (error) {
      if (child?.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      await rm(dir, { recursive: true, force: true });
      if (error instanceof JobStartError) throw error;
      throw new JobStartError(`the job could not start: ${errorMessage(error)}`, { cause: error });
    }
  }

  /**
   * Submit's idempotence: a job this node already started for the execution (its launcher left
   * `launched`, and normally `job.json`) is adopted with its current status, never started again.
   * Oasis may have died after the spawn but before the execution row recorded it.
   */
  private async adopt(job: JobSpec, dir: string): Promise<Submission | undefined> {
    let record = await readJobRecord(dir);
    if (!record) {
      const launched = await readLaunchedPid(dir);
      if (!launched) return undefined;
      if (launched.pid === undefined) {
        throw new JobStartError(
          `execution ${job.executionId} was started on this node, but its launcher cannot be identified`,
        );
      }
      record = {
        ...launcherIdentity(launched.pid, dir),
        node: this.settings.nodeId,
        command: this.commandOrNothing(job, dir),
        startedAt: new Date().toISOString(),
      };
      await writeAtomically(path.join(dir, FILES.job), `${JSON.stringify(record, null, 2)}\n`);
    }
    const identity: ProcessIdentity = { pid: record.pid, starttime: record.starttime, bootId: record.bootId };
    const local: LocalJob = { executionId: job.executionId, dir, identity };
    const status = await this.statusOf(local);
    if (!isTerminal(status.status)) this.watch(local);
    this.settings.logger?.info(
      { executionId: job.executionId, pid: identity.pid, status: status.status },
      'local job already started: adopted',
    );
    return this.submissionOf(identity, dir, status);
  }

  private submissionOf(identity: ProcessIdentity, dir: string, status: EngineStatus): Submission {
    return {
      engineJobId: `${identity.pid}@${this.settings.nodeId}`,
      status,
      extra: {
        workdir: dir,
        pid: identity.pid,
        starttime: identity.starttime,
        boot_id: identity.bootId,
        node: this.settings.nodeId,
      },
    };
  }

  /** The command job.json records; it only informs, so a job that cannot build one records none. */
  private commandOrNothing(job: JobSpec, dir: string): string[] {
    try {
      return commandOf(job, dir, this.settings.javaExecutable);
    } catch {
      return [];
    }
  }

  async status(ref: EngineJobRef): Promise<EngineStatus> {
    const job = await this.resolve(ref);
    const status = await this.statusOf(job);
    // A job of an earlier Oasis process: watch it from now on, so its end is reported at once.
    if (!isTerminal(status.status) && !this.watched.has(job.executionId)) this.watch(job);
    return status;
  }

  async cancel(ref: EngineJobRef): Promise<EngineStatus | undefined> {
    const job = await this.resolve(ref);
    const current = await this.statusOf(job);
    if (isTerminal(current.status) || !job.identity) return current;

    // A repeated cancel keeps the first one's clock, so the grace time is never extended.
    let marker = await readCancelMarker(job.dir);
    if (!marker) {
      marker = { at: Date.now() };
      await writeCancelMarker(job.dir, marker);
    }
    await terminateJob(job.identity);
    this.watch(job);
    this.settings.logger?.info({ executionId: job.executionId }, 'local job cancelled');

    const killAt = marker.at + this.settings.killGraceMs;
    const deadline = killAt + KILL_SETTLE_MS;
    while (Date.now() < deadline) {
      const members = await liveGroupMembers(job.identity);
      if (members.length === 0) return this.statusOf(job);
      if (Date.now() >= killAt) await signalGroup(job.identity, 'SIGKILL');
      await sleep(CHECK_INTERVAL_MS);
    }
    // Still dying: the watcher reports KILLED when it is gone.
    return undefined;
  }

  async cleanup(ref: EngineJobRef): Promise<void> {
    const job = await this.resolve(ref);
    this.watched.delete(job.executionId);
    if (job.identity) {
      const deadline = Date.now() + KILL_SETTLE_MS + this.settings.killGraceMs;
      while ((await liveGroupMembers(job.identity)).length > 0) {
        if (Date.now() > deadline) {
          throw new TransientEngineError(`the processes of ${job.executionId} do not die`);
        }
        await signalGroup(job.identity, 'SIGKILL');
        await sleep(CHECK_INTERVAL_MS);
      }
    }
    await rm(job.dir, { recursive: true, force: true });
  }

  onStatusChange(listener: StatusListener): void {
    this.listeners.push(listener);
  }

  async checkCluster(): Promise<{ status: 'Active' | 'Error'; description: string }> {
    return { status: 'Active', description: `local processes on node ${this.settings.nodeId}` };
  }

  readLogs(target: LogTarget, _cluster: unknown, read: LogRead): Promise<LogChunk> {
    return readLocalLogs(this.settings.workDir, target, read);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.watchTimer);
    this.watchTimer = undefined;
    this.watched.clear();
    this.children.clear();
  }

  /**
   * RUNNING while the launcher lives (or, if it was killed from outside, while the job's group
   * does); afterwards the recorded exit code tells, and the cancelled marker turns any end into
   * KILLED. No exit code and no process means the job vanished, e.g. with a host reboot.
   */
  private async statusOf(job: LocalJob): Promise<EngineStatus> {
    const base = { pid: job.identity?.pid ?? null, workdir: job.dir };
    const marker = await readCancelMarker(job.dir);
    const running = async (): Promise<EngineStatus> => {
      // After a restart nobody else will escalate a cancel whose grace time has passed.
      if (marker && job.identity && Date.now() >= marker.at + this.settings.killGraceMs) {
        await signalGroup(job.identity, 'SIGKILL');
      }
      return { status: 'RUNNING', info: base };
    };
    if (job.identity && (await leaderAlive(job.identity))) return running();

    // The launcher writes `result` before it exits, so reading it after seeing it gone is safe.
    const code = await readExitCode(job.dir);
    if (code !== undefined) {
      const info = { ...base, exit_code: code };
      if (marker) return { status: 'KILLED', returnCode: code, info };
      if (code === 0) return { status: 'SUCCEEDED', returnCode: 0, info };
      const reason = await this.limitReasonOf(job, code);
      return { status: 'DONEWITHERROR', returnCode: code, info: reason ? { ...info, reason } : info };
    }
    if (job.identity && (await liveGroupMembers(job.identity)).length > 0) return running();
    if (marker) return { status: 'KILLED', returnCode: null, info: base };
    return {
      status: 'FAILED',
      returnCode: null,
      info: { ...base, reason: 'the job ended without recording an exit code (host restarted?)' },
    };
  }

  private async limitReasonOf(job: LocalJob, code: number): Promise<string | undefined> {
    const { limits } = this.settings.sandbox;
    if (!limits) return undefined;
    return limitReason(code, await readSlice(path.join(job.dir, FILES.stderr), 'end', STDERR_TAIL_BYTES), limits);
  }

  /** Finds a job again from its ref alone, as a restarted Oasis must. */
  private async resolve(ref: EngineJobRef): Promise<LocalJob> {
    const at = ref.engineJobId.indexOf('@');
    const node = typeof ref.extra.node === 'string' ? ref.extra.node : ref.engineJobId.slice(at + 1);
    if (at < 0 || node !== this.settings.nodeId) {
      throw new TransientEngineError(
        `local job ${ref.engineJobId} belongs to node '${node}', not '${this.settings.nodeId}'`,
      );
    }
    const dir = executionDir(this.settings.workDir, ref.executionId);
    const { pid, starttime, boot_id: bootId } = ref.extra;
    if (typeof pid === 'number' && typeof starttime === 'string' && typeof bootId === 'string') {
      return { executionId: ref.executionId, dir, identity: { pid, starttime, bootId } };
    }
    const record = await readJobRecord(dir);
    const identity = record && { pid: record.pid, starttime: record.starttime, bootId: record.bootId };
    return { executionId: ref.executionId, dir, identity };
  }

  private async prepareDirectory(dir: string): Promise<void> {
    await mkdir(this.settings.workDir, { recursive: true, mode: 0o700 });
    try {
      await mkdir(dir, { mode: 0o700 });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new JobStartError(`cannot create ${dir}: ${errorMessage(error)}`, { cause: error });
      }
    }
    // Left over by an attempt that failed before starting anything: start afresh. A job that did
    // start is never overwritten.
    const entries = await readdir(dir);
    if (entries.includes(FILES.job) || entries.includes(FILES.launched)) {
      throw new JobStartError(`execution ${path.basename(dir)} was already started on this node`);
    }
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { mode: 0o700 });
  }

  private watch(job: LocalJob): void {
    if (this.closed) return;
    this.watched.set(job.executionId, job);
    this.scheduleWatch();
  }

  private scheduleWatch(): void {
    if (this.watchTimer || this.closed || this.watched.size === 0) return;
    this.watchTimer = setTimeout(() => void this.watchTick(), WATCH_INTERVAL_MS);
    this.watchTimer.unref();
  }

  private async watchTick(): Promise<void> {
    const adopted = [...this.watched.keys()].filter((executionId) => !this.children.has(executionId));
    await Promise.all(adopted.map((executionId) => this.check(executionId)));
    this.watchTimer = undefined;
    this.scheduleWatch();
  }

  /** Reports a watched job's end once; a failed check is logged and retried on the next tick. */
  private async check(executionId: string): Promise<void> {
    const job = this.watched.get(executionId);
    if (!job || this.closed) return;
    let status: EngineStatus;
    try {
      status = await this.statusOf(job);
    } catch (error) {
      this.settings.logger?.warn({ err: error, executionId }, 'cannot read local job status');
      return;
    }
    // Another check may have reported it meanwhile.
    if (!isTerminal(status.status) || this.watched.get(executionId) !== job || this.closed) return;
    this.watched.delete(executionId);
    this.settings.logger?.info({ executionId, status: status.status }, 'local job ended');
    for (const listener of this.listeners) {
      try {
        listener(executionId, status);
      } catch (error) {
        this.settings.logger?.error({ err: error, executionId }, 'status listener failed');
      }
    }
  }
}
