import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type { EngineStatus } from '../engine.js';
import { launch } from '../processes/launcher.js';
import {
  identityOf,
  leaderAlive,
  liveGroupMembers,
  signalGroup,
  terminateJob,
  type ProcessIdentity,
} from '../processes/processes.js';
import {
  FILES,
  readCancelMarker,
  readExitCode,
  readSlice,
  writeAtomically,
  writeCancelMarker,
} from '../processes/workdir.js';
import { applicationIdIn, failureReasonIn } from './states.js';

/**
 * Client-mode jobs (Python drivers, Shell jobs) are processes on the Oasis host, supervised with
 * the local engine's launcher: each runs in its own process group under a tiny shell that records
 * the exit code in `<dir>/result`, so the job survives an Oasis restart and its end is still known
 * afterwards. The working directory layout is the local engine's (see processes/workdir.ts).
 */
export interface ClientJob {
  dir: string;
  identity: ProcessIdentity | undefined;
}

const CHECK_INTERVAL_MS = 100;
/** How long cancel waits beyond the grace time for SIGKILL to take effect. */
const KILL_SETTLE_MS = 2_000;
/** Enough of the driver's stderr to find its application id near the start. */
const HEAD_BYTES = 256 * 1024;
const TAIL_BYTES = 64 * 1024;

export interface StartedClientJob {
  identity: ProcessIdentity;
  /** Resolves when the launcher exits (only for jobs started by this Oasis process). */
  exited: Promise<void>;
}

export async function startClientJob(
  dir: string,
  command: string[],
  env: Record<string, string>,
): Promise<StartedClientJob> {
  const child = launch({ dir, command, env });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  const identity = child.pid === undefined ? undefined : identityOf(child.pid);
  if (!identity) {
    if (child.pid !== undefined) signalGroupQuietly(child.pid);
    throw new Error('the driver launcher did not start');
  }
  await writeAtomically(
    path.join(dir, FILES.job),
    `${JSON.stringify({ ...identity, command, startedAt: new Date().toISOString() }, null, 2)}\n`,
  );
  return { identity, exited };
}

function signalGroupQuietly(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** The application id the driver logged, when it has registered with the master. */
export async function clientApplicationId(job: ClientJob): Promise<string | undefined> {
  return applicationIdIn(await readSlice(path.join(job.dir, FILES.stderr), 'start', HEAD_BYTES));
}

/**
 * RUNNING while the launcher (or, if it was killed from outside, any process of the group)
 * lives; then the recorded exit code decides, the cancel marker turning any end into KILLED.
 */
export async function clientJobStatus(job: ClientJob, killGraceMs: number): Promise<EngineStatus> {
  const info: Record<string, unknown> = { pid: job.identity?.pid ?? null, workdir: job.dir };
  const marker = await readCancelMarker(job.dir);
  const running = async (): Promise<EngineStatus> => {
    // After an Oasis restart nobody else escalates a cancel whose grace time has passed.
    if (marker && job.identity && Date.now() >= marker.at + killGraceMs) {
      await signalGroup(job.identity, 'SIGKILL');
    }
    return { status: 'RUNNING', info };
  };
  if (job.identity && (await leaderAlive(job.identity))) return running();

  const code = await readExitCode(job.dir);
  if (code === undefined && job.identity && (await liveGroupMembers(job.identity)).length > 0) {
    return running();
  }
  if (marker) return { status: 'KILLED', returnCode: code ?? null, info: { ...info, exit_code: code ?? null } };
  if (code === 0) return { status: 'SUCCEEDED', returnCode: 0, info: { ...info, exit_code: 0 } };
  if (code !== undefined) {
    // spark-submit merges a Python driver's stderr into its own stdout, so look at both.
    const stderr = await readSlice(path.join(job.dir, FILES.stderr), 'end', TAIL_BYTES);
    const stdout = await readSlice(path.join(job.dir, FILES.stdout), 'end', TAIL_BYTES);
    const reason = failureReasonIn(stdout) ?? failureReasonIn(stderr) ?? lastLines(stderr);
    return { status: 'DONEWITHERROR', returnCode: code, info: { ...info, exit_code: code, reason } };
  }
  return {
    status: 'FAILED',
    returnCode: null,
    info: { ...info, reason: 'the driver ended without recording an exit code (host restarted?)' },
  };
}

function lastLines(text: string, count = 5): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}

/**
 * SIGTERM to the driver's processes (spark-submit's shutdown hook then stops the SparkContext, which
 * unregisters the application), SIGKILL after the grace time. Resolves once the group is gone,
 * or false if it is still dying after the grace time (a later status will tell).
 */
export async function cancelClientJob(job: ClientJob, killGraceMs: number): Promise<boolean> {
  if (!job.identity) return true;
  const cancelledAt = Date.now();
  await writeCancelMarker(job.dir, { at: cancelledAt });
  await terminateJob(job.identity);
  const killAt = cancelledAt + killGraceMs;
  while (Date.now() < killAt + KILL_SETTLE_MS) {
    if ((await liveGroupMembers(job.identity)).length === 0) return true;
    if (Date.now() >= killAt) await signalGroup(job.identity, 'SIGKILL');
    await sleep(CHECK_INTERVAL_MS);
  }
  return false;
}

/** Kills whatever is left of the job's group (nothing, normally). */
export async function killClientJob(job: ClientJob): Promise<void> {
  if (!job.identity) return;
  const deadline = Date.now() + KILL_SETTLE_MS;
  while ((await liveGroupMembers(job.identity)).length > 0 && Date.now() < deadline) {
    await signalGroup(job.identity, 'SIGKILL');
    await sleep(CHECK_INTERVAL_MS);
  }
}

/** The identity recorded in `job.json`, for refs that lack it in `extra`. */
export async function readClientIdentity(dir: string): Promise<ProcessIdentity | undefined> {
  try {
    const record = JSON.parse(await readFile(path.join(dir, FILES.job), 'utf8')) as ProcessIdentity;
    return { pid: record.pid, starttime: record.starttime, bootId: record.bootId };
  } catch {
    return undefined;
  }
}
