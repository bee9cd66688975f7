import type { ExecutionStatus } from '../../store/statuses.js';
import type { EngineStatus } from '../engine.js';
import type { YarnApplication } from './resource-manager.js';

/**
 * YARN application state (+ final status) → Sahara execution status:
 *
 * | YARN state                                           | finalStatus         | Sahara    |
 * |------------------------------------------------------|---------------------|-----------|
 * | NEW, NEW_SAVING, SUBMITTED, ACCEPTED, RUNNING         | (any)               | RUNNING   |
 * | FINISHED                                             | SUCCEEDED           | SUCCEEDED |
 * | FINISHED                                             | KILLED              | KILLED    |
 * | FINISHED                                             | FAILED, UNDEFINED   | FAILED    |
 * | FAILED                                               | (any)               | FAILED    |
 * | KILLED                                               | (any)               | KILLED    |
 *
 * A MapReduce application master that sees its job fail unregisters with state FINISHED and
 * finalStatus FAILED; YARN's own FAILED state means the application master itself died.
 * Both are Sahara's FAILED (as Oozie reports a failed workflow), with YARN's diagnostics in info.
 */
export function executionStatusOf(state: string, finalStatus: string): ExecutionStatus {
  switch (state) {
    case 'NEW':
    case 'NEW_SAVING':
    case 'SUBMITTED':
    case 'ACCEPTED':
    case 'RUNNING':
      return 'RUNNING';
    case 'FINISHED':
      if (finalStatus === 'SUCCEEDED') return 'SUCCEEDED';
      if (finalStatus === 'KILLED') return 'KILLED';
      return 'FAILED';
    case 'KILLED':
      return 'KILLED';
    case 'FAILED':
      return 'FAILED';
    default:
      // A state this engine does not know (a newer YARN): keep watching rather than guess an end.
      return 'RUNNING';
  }
}

/** The execution status of an application report, with YARN's own view of it in `info`. */
export function engineStatusOf(app: YarnApplication, extraDiagnostics?: string): EngineStatus {
  const status = executionStatusOf(app.state, app.finalStatus);
  const diagnostics = [app.diagnostics?.trim(), extraDiagnostics?.trim()].filter(Boolean).join('\n');
  const info: Record<string, unknown> = {
    yarn_application_id: app.id,
    yarn_state: app.state,
    yarn_final_status: app.finalStatus,
    tracking_url: app.trackingUrl ?? null,
    diagnostics,
  };
  if (status === 'FAILED')
    info.reason = diagnostics || `YARN application ${app.id} ended ${app.state}/${app.finalStatus}`;
  return { status, info };
}
