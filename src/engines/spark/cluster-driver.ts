import type { EngineStatus } from '../engine.js';
import { driverStatus, driverStderr, masterState, type DriverStatus, type MasterState } from './master-client.js';
import type { SparkClusterSettings } from './settings.js';
import { applicationIdIn, failureReasonIn, statusOfDriverState } from './states.js';

/**
 * The status of a cluster-mode driver, found from its id alone (so a restarted Oasis finds it
 * too). `info` carries the driver state, the worker, the application id and its UI page; the
 * application id is read once from the driver's log (Spark's /json does not link drivers to
 * applications) and remembered in `known`.
 */
export async function clusterDriverStatus(
  settings: SparkClusterSettings,
  driverId: string,
  known: Map<string, string>,
): Promise<EngineStatus> {
  const driver = await driverStatus(settings.restUrl, driverId);
  const status = statusOfDriverState(driver.success ? driver.driverState : undefined);
  const info: Record<string, unknown> = {
    driver_id: driverId,
    driver_state: driver.driverState ?? 'NOT_FOUND',
    worker_id: driver.workerId ?? null,
    spark_master: settings.master,
  };

  let master: MasterState | undefined;
  try {
    master = await masterState(settings.webUrl);
  } catch {
    // The web UI is only needed for details; the REST server answered for the state.
  }
  const workerUi = master?.workers.find((worker) => worker.id === driver.workerId)?.webuiaddress;
  if (workerUi) info.driver_log_url = `${workerUi}/logPage/?driverId=${driverId}&logType=stderr`;

  let appId = known.get(driverId);
  if (!appId && workerUi && driver.driverState !== 'SUBMITTED') {
    const head = await driverStderr(workerUi, driverId, 'start');
    appId = head ? applicationIdIn(head) : undefined;
    if (appId) known.set(driverId, appId);
  }
  if (appId) {
    info.app_id = appId;
    info.app_ui_url = `${settings.webUrl}/app/?appId=${appId}`;
    const app = [...(master?.activeapps ?? []), ...(master?.completedapps ?? [])].find(
      (candidate) => candidate.id === appId,
    );
    if (app) info.app_state = app.state;
  }

  if (status === 'DONEWITHERROR' || status === 'FAILED') {
    info.reason = await reasonOf(driver, driverId, workerUi);
  }
  if (status === 'SUCCEEDED') return { status, info, returnCode: 0 };
  return { status, info };
}

async function reasonOf(driver: DriverStatus, driverId: string, workerUi: string | undefined): Promise<string> {
  if (!driver.success) {
    return `the Spark master does not know driver ${driverId} (restarted without recovery?)`;
  }
  if (driver.message) return failureReasonIn(driver.message) ?? driver.message;
  const tail = workerUi ? await driverStderr(workerUi, driverId, 'end') : undefined;
  const reason = tail ? failureReasonIn(tail) : undefined;
  if (reason) return reason;
  if (driver.driverState === 'ERROR') {
    return `driver ${driverId} ended in state ERROR: its worker ${driver.workerId ?? ''} was lost or could not launch it`;
  }
  return `driver ${driverId} ended in state ${driver.driverState ?? 'NOT_FOUND'}`;
}
