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

export interface MasterState {
  status: string;
  aliveworkers: number;
  workers: MasterWorker[];
  activeapps: MasterApplication[];
  completedapps: MasterApplication[];
}

async function request(url: string, init: RequestInit = {}): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (error) {
    throw new TransientEngineError(`Spark master unreachable at ${url}: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  if (response.status >= 500) {
    const text = await response.text().catch(() => '');
    throw new TransientEngineError(`Spark master answered ${response.status} at ${url}: ${text}`);
  }
  return response;
}

async function json<T>(url: string, init?: RequestInit): Promise<T> {
  const response = await request(url, init);
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

/** Submits a driver; returns its submission id (`driver-...`). A refusal is JobStartError. */
export async function createSubmission(
  restUrl: string,
  body: CreateSubmissionRequest,
): Promise<string> {
  const answer = await json<{ success?: boolean; submissionId?: string; message?: string }>(
    `${restUrl}/v1/submissions/create`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json;charset=UTF-8' },
      body: JSON.stringify(body),
    },
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
  const answer = await json<{ success?: boolean }>(
    `${restUrl}/v1/submissions/kill/${encodeURIComponent(driverId)}`,
    { method: 'POST' },
  );
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
