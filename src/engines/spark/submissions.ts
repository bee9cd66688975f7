import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';

import { errorMessage } from '../../errors.js';
import type { EngineCluster, EngineLogger, EngineStatus, JobSpec, Submission } from '../engine.js';
import { JobStartError, TransientEngineError } from '../errors.js';
import { executionDir, writeAtomically } from '../processes/workdir.js';
import { clusterDriverStatus } from './cluster-driver.js';
import { EXECUTION_PROPERTY, clusterSubmission } from './job-spec.js';
import {
  MasterRefusedConnection,
  createSubmission,
  driverStderr,
  masterState,
  type MasterDriver,
} from './master-client.js';
import type { SparkClusterSettings } from './settings.js';
import { SUBMISSION_RECORD, stage } from './staging.js';

/**
 * What makes a cluster-mode submission idempotent per execution, as YARN's application tags make
 * YARN's. The master's REST server hands out a driver id only in its answer, and that answer can
 * be lost (Oasis dies while the master holds it) or late (past the request timeout): resubmitting
 * blindly then starts a second driver nobody tracks. So:
 *
 * - every driver carries its execution id as the Spark property `spark.oasis.execution`; the
 *   master's /json lists drivers with their main class only, but the worker that runs a driver
 *   starts its log with the launch command, where the property appears as a `-D` option;
 * - before asking the master, the engine records the attempt in `<staged dir>/submission.json`,
 *   and the driver id once the master answers;
 * - a submit that finds an attempt without a driver id looks for the tagged driver among those
 *   the master accepted since, and adopts it. While a candidate cannot be told apart yet (still
 *   waiting for a worker, or its log not written) or the earlier request may still reach the
 *   master, it throws TransientEngineError, and the lifecycle asks again later.
 */
const TAG_IN_LAUNCH_COMMAND = new RegExp(`"-D${EXECUTION_PROPERTY.replaceAll('.', '\\.')}=([^"]+)"`);
const LAUNCH_COMMAND = 'Launch Command:';
/** Enough of a driver's log to hold its launch command. */
const LOG_HEAD_BYTES = 64 * 1024;
/** How far the master's clock may be behind Oasis's when comparing accept times. */
const CLOCK_SKEW_MS = 60_000;

export interface SubmissionRecord {
  /** When Oasis sent the create request (epoch ms). */
  attemptedAt: number;
  /** The master's answer, once received. */
  driverId?: string;
}

export async function readSubmissionRecord(stagedDir: string): Promise<SubmissionRecord | undefined> {
  let text: string;
  try {
    text = await readFile(path.join(stagedDir, SUBMISSION_RECORD), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const record = JSON.parse(text) as Partial<SubmissionRecord>;
    const attemptedAt = Number(record.attemptedAt);
    return {
      // Unreadable: an attempt was made at some point, so search from the beginning.
      attemptedAt: Number.isFinite(attemptedAt) ? attemptedAt : 0,
      ...(typeof record.driverId === 'string' ? { driverId: record.driverId } : {}),
    };
  } catch {
    return { attemptedAt: 0 };
  }
}

export function writeSubmissionRecord(stagedDir: string, record: SubmissionRecord): Promise<void> {
  return writeAtomically(path.join(stagedDir, SUBMISSION_RECORD), `${JSON.stringify(record)}\n`);
}

export type DriverSearch =
  { kind: 'found'; driverId: string } | { kind: 'undecided'; reason: string } | { kind: 'none' };

/**
 * Looks among the drivers the master accepted since `since` (by its clock, give or take the
 * skew) with the given main class for the one tagged with `executionId`. Tags read from logs are
 * remembered in `tags` (driver id → execution id): a driver's launch command never changes.
 */
export async function findTaggedDriver(
  settings: SparkClusterSettings,
  executionId: string,
  mainClass: string,
  since: number,
  tags: Map<string, string>,
): Promise<DriverSearch> {
  const master = await masterState(settings.webUrl);
  const recent = (driver: MasterDriver): boolean =>
    driver.mainclass === mainClass && Number(driver.starttime) >= since - CLOCK_SKEW_MS;
  const candidates = [
    ...master.activedrivers.filter(recent).map((driver) => ({ driver, active: true })),
    ...master.completeddrivers.filter(recent).map((driver) => ({ driver, active: false })),
  ];
  const undecided: string[] = [];
  for (const { driver, active } of candidates) {
    let tag = tags.get(driver.id);
    if (tag === undefined) {
      const worker = master.workers.find((candidate) => candidate.id === driver.worker);
      const head = worker ? await driverStderr(worker.webuiaddress, driver.id, 'start', LOG_HEAD_BYTES) : undefined;
      if (head?.includes(LAUNCH_COMMAND)) {
        tag = TAG_IN_LAUNCH_COMMAND.exec(head)?.[1] ?? '';
        tags.set(driver.id, tag);
      }
    }
    if (tag === executionId) return { kind: 'found', driverId: driver.id };
    // A driver that ended without a readable launch command never ran anything: not a worry.
    if (tag === undefined && active) undecided.push(`${driver.id} (${driver.state})`);
  }
  if (undecided.length > 0) {
    return {
      kind: 'undecided',
      reason: `driver(s) ${undecided.join(', ')} may be this execution's and cannot be identified yet`,
    };
  }
  return { kind: 'none' };
}

export interface DriverSubmitOptions {
  /** Where `<execution id>/` holds the staged jars and the submission record. */
  stagingRoot: string;
  submitTimeoutMs: number;
  /** How long after an unanswered request the master may still create its driver. */
  submitSettleMs: number;
  /** Execution ids read from drivers' launch commands, by driver id ('' when untagged). */
  driverTags: Map<string, string>;
  /** Application ids read from drivers' logs, by driver id. */
  applicationIds: Map<string, string>;
  logger: EngineLogger | undefined;
}

/**
 * Submits a JVM application in cluster mode, idempotently per execution: an earlier attempt's
 * driver is adopted, never doubled, even when the master's answer to that attempt was lost or late.
 */
export async function submitDriver(
  job: JobSpec,
  cluster: EngineCluster,
  settings: SparkClusterSettings,
  options: DriverSubmitOptions,
): Promise<Submission> {
  const stagedDir = executionDir(options.stagingRoot, job.executionId);
  const request = clusterSubmission(job, settings, cluster.hadoop_version, stagedDir);
  const earlier = await readSubmissionRecord(stagedDir);
  if (earlier) {
    const driverId = earlier.driverId ?? (await findEarlierDriver(job, settings, request.mainClass, earlier, options));
    if (driverId) {
      const status = await clusterDriverStatus(settings, driverId, options.applicationIds);
      await writeSubmissionRecord(stagedDir, { attemptedAt: earlier.attemptedAt, driverId });
      options.logger?.info(
        { executionId: job.executionId, driver: driverId },
        'spark driver already submitted: adopted',
      );
      return submissionOf(driverId, status, stagedDir);
    }
  }

  try {
    // Left by an attempt that provably created nothing: start afresh.
    await rm(stagedDir, { recursive: true, force: true });
    await stage(job, stagedDir, undefined);
  } catch (error) {
    await rm(stagedDir, { recursive: true, force: true });
    throw new JobStartError(`cannot stage the job's binaries: ${errorMessage(error)}`, { cause: error });
  }
  const attemptedAt = Date.now();
  await writeSubmissionRecord(stagedDir, { attemptedAt });
  let driverId: string;
  try {
    driverId = await createSubmission(settings.restUrl, request, options.submitTimeoutMs);
  } catch (error) {
    // Whether the master created a driver is unknown unless it refused the job or the
    // connection: keep the staged jars and the record, so the next attempt looks for it.
    if (error instanceof JobStartError || error instanceof MasterRefusedConnection) {
      await rm(stagedDir, { recursive: true, force: true });
    }
    throw error;
  }
  await writeSubmissionRecord(stagedDir, { attemptedAt, driverId });
  options.logger?.info({ executionId: job.executionId, driver: driverId }, 'spark driver submitted');
  const info = { driver_id: driverId, driver_state: 'SUBMITTED', spark_master: settings.master };
  return submissionOf(driverId, { status: 'RUNNING', info }, stagedDir);
}

function submissionOf(driverId: string, status: EngineStatus, stagedDir: string): Submission {
  return { engineJobId: driverId, status, extra: { mode: 'cluster', staged_dir: stagedDir } };
}

/**
 * The driver an earlier attempt created, or undefined when it provably created none and a new
 * submission is safe. Throws TransientEngineError while that cannot be told yet.
 */
async function findEarlierDriver(
  job: JobSpec,
  settings: SparkClusterSettings,
  mainClass: string,
  earlier: SubmissionRecord,
  options: DriverSubmitOptions,
): Promise<string | undefined> {
  const search = await findTaggedDriver(settings, job.executionId, mainClass, earlier.attemptedAt, options.driverTags);
  if (search.kind === 'found') return search.driverId;
  if (search.kind === 'undecided') {
    throw new TransientEngineError(
      `an earlier submission of execution ${job.executionId} may have started a driver: ${search.reason}`,
    );
  }
  // The master acts on a create request within its RPC ask timeout, or never.
  if (Date.now() < earlier.attemptedAt + options.submitSettleMs) {
    throw new TransientEngineError(
      `an earlier submission of execution ${job.executionId} got no answer and may still reach the Spark master`,
    );
  }
  return undefined;
}
