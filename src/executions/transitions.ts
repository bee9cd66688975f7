import type { EngineStatus } from '../engines/engine.js';
import type { JobExecutionRecord, RowPatch, Store } from '../store/types.js';
import { EXECUTION_STATUSES, isTerminal } from '../store/statuses.js';

/**
 * The writes that move an execution between statuses. Every one is a compare-and-set on the
 * current status (`updateIf`), so a cancel, a refresh, the poller and the push channel never
 * overwrite a terminal status or each other's transition.
 */

export const NON_TERMINAL: readonly string[] = EXECUTION_STATUSES.filter((status) => !isTerminal(status));
/** Statuses of executions the engine has accepted and that have not ended. */
export const STARTED: readonly string[] = NON_TERMINAL.filter((status) => status !== 'PENDING');

export function nowIso(): string {
  return new Date().toISOString();
}

/** The fields that end an execution: end time set, lease released. */
export function endFields(now = nowIso()): RowPatch<JobExecutionRecord> {
  return { end_time: now, lease_owner: null, lease_expires_at: null };
}

/**
 * Writes what an engine reported. A cancel in progress (TOBEKILLED) is kept until the engine
 * reports an end, so a client never sees the job flip back to RUNNING after asking to stop it.
 * Returns the updated row, or undefined when nothing changed (already terminal, gone, or the
 * report adds nothing).
 */
export async function applyEngineStatus(
  store: Store,
  execution: JobExecutionRecord,
  reported: EngineStatus,
): Promise<JobExecutionRecord | undefined> {
  if (isTerminal(execution.status)) return undefined;
  const terminal = isTerminal(reported.status);
  const status = execution.status === 'TOBEKILLED' && !terminal ? 'TOBEKILLED' : reported.status;
  // Like Sahara, the engine's report replaces `info` wholesale.
  const info = { ...(reported.info ?? {}), status };
  const patch: RowPatch<JobExecutionRecord> = { status, info };
  if (reported.returnCode !== undefined && reported.returnCode !== null)
    patch.return_code = String(reported.returnCode);
  if (terminal) Object.assign(patch, endFields());
  if (!terminal && status === execution.status && JSON.stringify(info) === JSON.stringify(execution.info)) {
    return undefined;
  }
  // An end always wins over any non-terminal status; a progress report only applies to the
  // status it was read against.
  return store.jobExecutions.updateIf(execution.id, { statusIn: terminal ? NON_TERMINAL : [execution.status] }, patch);
}

/** Ends an execution FAILED with the reason in `info`, from any non-terminal status. */
export function failExecution(
  store: Store,
  execution: JobExecutionRecord,
  reason: string,
  extra: RowPatch<JobExecutionRecord> = {},
): Promise<JobExecutionRecord | undefined> {
  const now = nowIso();
  return store.jobExecutions.updateIf(
    execution.id,
    { statusIn: NON_TERMINAL },
    {
      status: 'FAILED',
      info: { ...execution.info, status: 'FAILED', reason },
      start_time: execution.start_time ?? now,
      ...endFields(now),
      ...extra,
    },
  );
}
