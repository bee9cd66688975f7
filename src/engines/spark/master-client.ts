import { errorMessage } from '../../errors.js';
import { JobStartError, TransientEngineError } from '../engine.js';

/**
 * The HTTP APIs of a Spark standalone master: the REST submission server (`/v1/submissions/*`,
 * the API spark-submit itself uses for cluster deploy mode) and the web UI's `/json` summary.
 * A master that does not answer, or answers 5xx, raises TransientEngineError: it says nothing
 * about the job.
 */

const REQUEST_TIMEOUT_MS = 10_000;

/** A driver as the REST server reports it; `driverState` is absent for unknown submissions. */
export interface DriverStatus {
  success: boolean;
  driverState?: string;
  workerId?: string;
  workerHostPort?: string;
  /** Set by the master when the driver could not run (state ERROR): the exception. */
  message?: string;
}

export interface MasterWorker {
  id: string;
  webuiaddress: string;
  state: string;
}

export interface MasterApplication {
  id: string;
  name: string;
  state: string;
}

/** A driver as the web UI's /json lists it: no submission details beyond the main class. */
export interface MasterDriver {
  id: string;
  /** When the master accepted it, epoch ms by the master's clock (a string in the JSON). */
  starttime: string;
  state: string;
  /** The worker running it, or 'None' while it waits for one. */
  worker: string;
  mainclass: string;
}

export interface MasterState {
  status: string;
  aliveworkers: number;
  workers: MasterWorker[];
  activeapps: MasterApplication[];
  completedapps: MasterApplication[];
  activedrivers: MasterDriver[];
  completeddrivers: MasterDriver[];
}

/**
 * The master could not be reached at all (the connection was refused): the request cannot have
 * had any effect, unlike one that timed out or lost its answer.
 */
export class MasterRefusedConnection extends TransientEngineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MasterRefusedConnection';
  }
}

function connectionRefused(error: unknown): boolean {
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  return cause?.code === 'ECONNREFUSED';
}

async function request(url: string, init: RequestInit = {}, timeoutMs = REQUEST_TIMEOUT_MS): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const message = `Spark master unreachable at ${url}: ${errorMessage(error)}`;
    if (connectionRefused(error)) throw new MasterRefusedConnection(message, { cause: error });
    throw new TransientEngineError(message, { cause: error });
  }
  if (response.status >= 500) {
    const text = await response.text().catch(() => '');
    throw new TransientEngineError(`Spark master answered ${response.status} at ${url}: ${text}`);
  }
  return response;
}

async function json<T>(url: string, init?: RequestInit, timeoutMs?: number): Promise<T> {
  const response = await request(url, init, timeoutMs);
  const text = await response.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new TransientEngineError(`Spark master sent no JSON at ${url} (${response.status})`);
  }
}

/** The body of `POST /v1/submissions/create`, as spark-submit sends it. */
export interface CreateSubmissionRequest {
  action: 'CreateSubmissionRequest';
  appResource: string;
  mainClass: string;
  appArgs: string[];
  sparkProperties: Record<string, string>;
  environmentVariables: Record<string, string>;
  clientSparkVersion: string;
}

/**
 * Submits a driver; returns its submission id (`driver-...`). A refusal is JobStartError. A
 * TransientEngineError other than MasterRefusedConnection leaves it unknown whether the master
 * created the driver: it may have, and only its answer was lost or late.
 */
export async function createSubmission(
  restUrl: string,
  body: CreateSubmissionRequest,
  timeoutMs = REQUEST_TIMEOUT_MS,
): Promise<string> {
  const answer = await json<{ success?: boolean; submissionId?: string; message?: string }>(
    `${restUrl}/v1/submissions/create`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json;charset=UTF-8' },
      body: JSON.stringify(body),
    },
    timeoutMs,
  );
  if (!answer.success || !answer.submissionId) {
    throw new JobStartError(`the Spark master refused the job: ${answer.message ?? 'no reason given'}`);
  }
  return answer.submissionId;
}

export function driverStatus(restUrl: string, driverId: string): Promise<DriverStatus> {
  return json<DriverStatus>(`${restUrl}/v1/submissions/status/${encodeURIComponent(driverId)}`);
}

/** Asks the master to kill a driver; false when it had already ended or is unknown. */
export async function killDriver(restUrl: string, driverId: string): Promise<boolean> {
  const answer = await json<{ success?: boolean }>(`${restUrl}/v1/submissions/kill/${encodeURIComponent(driverId)}`, {
    method: 'POST',
  });
  return answer.success === true;
}

export async function masterState(webUrl: string): Promise<MasterState> {
  const state = await json<Partial<MasterState>>(`${webUrl}/json/`);
  return {
    status: String(state.status ?? 'UNKNOWN'),
    aliveworkers: Number(state.aliveworkers ?? 0),
    workers: state.workers ?? [],
    activeapps: state.activeapps ?? [],
    completedapps: state.completedapps ?? [],
    activedrivers: state.activedrivers ?? [],
    completeddrivers: state.completeddrivers ?? [],
  };
}

/** Whether the REST submission server answers (a status query for a driver that cannot exist). */
export async function restServerAnswers(restUrl: string): Promise<void> {
  await json<DriverStatus>(`${restUrl}/v1/submissions/status/oasis-health-check`);
}

/**
 * A piece of a driver's stderr, served by the web UI of the worker that runs it: the first
 * `bytes` bytes, or the last ones when `from` is 'end'. Best effort: undefined when the worker is
 * gone or does not answer.
 */
export async function driverStderr(
  workerWebUrl: string,
  driverId: string,
  from: 'start' | 'end',
  bytes = 64 * 1024,
): Promise<string | undefined> {
  const query = new URLSearchParams({ driverId, logType: 'stderr', byteLength: String(bytes) });
  if (from === 'start') query.set('offset', '0');
  try {
    const response = await fetch(`${workerWebUrl.replace(/\/+$/, '')}/log/?${query}`, {
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    return response.ok ? await response.text() : undefined;
  } catch {
    return undefined;
  }
}
