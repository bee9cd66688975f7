import path from 'node:path';

import { errorMessage } from '../../errors.js';
import { TransientEngineError, type LogChunk, type LogRead, type LogTarget } from '../engine.js';
import { readLogFile } from '../local/logs.js';
import { FILES, executionDir } from '../processes/workdir.js';
import { driverStatus, masterState } from './master-client.js';
import type { SparkClusterSettings } from './settings.js';

const REQUEST_TIMEOUT_MS = 10_000;
/** Worker web UIs already found, by driver id: a driver never moves to another worker. */
const workerUis = new Map<string, string>();
const REMEMBERED_WORKERS = 1_000;

/**
 * A Spark job's output. Client-mode jobs (Python drivers, Shell jobs) write their files in their
 * directory on this host, as local jobs do. A cluster-mode driver runs on a worker, which keeps
 * its stdout and stderr in its work directory and serves them from its web UI's `/log/` page.
 */
export function readSparkLogs(
  workDir: string,
  settings: SparkClusterSettings,
  target: LogTarget,
  read: LogRead,
): Promise<LogChunk> {
  if (target.extra.mode === 'client') {
    return readLogFile(
      path.join(executionDir(workDir, target.executionId), FILES[read.stream]),
      read.offset,
      read.maxBytes,
    );
  }
  if (!target.engineJobId) return Promise.resolve(empty(read.offset));
  return readDriverLog(settings, target.engineJobId, target.info, read);
}

const empty = (offset: number): LogChunk => ({ data: Buffer.alloc(0), nextOffset: offset });

async function readDriverLog(
  settings: SparkClusterSettings,
  driverId: string,
  info: Record<string, unknown>,
  read: LogRead,
): Promise<LogChunk> {
  const workerUi = await workerUiOf(
    settings,
    driverId,
    typeof info.worker_id === 'string' ? info.worker_id : undefined,
  );
  // Not launched on a worker yet: nothing written.
  if (!workerUi) return empty(read.offset);
  const query = new URLSearchParams({
    driverId,
    logType: read.stream,
    offset: String(read.offset),
    byteLength: String(read.maxBytes),
  });
  const url = `${workerUi.replace(/\/+$/, '')}/log/?${query}`;
  let text: string;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`answered ${response.status}`);
    text = await response.text();
  } catch (error) {
    throw new TransientEngineError(
      `the Spark worker at ${workerUi} does not serve driver ${driverId}'s log: ${errorMessage(error)}`,
      { cause: error },
    );
  }
  return chunkOf(text, read.offset);
}

/**
 * The worker answers `==== Bytes <start>-<end> of <length> of <file> ====` and the text. It
 * clamps an offset past the end to the end, which the API answers as "nothing yet, same offset".
 */
export function chunkOf(text: string, offset: number): LogChunk {
  const newline = text.indexOf('\n');
  const header = /^==== Bytes (\d+)-(\d+) of (\d+) of .* ====$/.exec(newline < 0 ? text : text.slice(0, newline));
  if (!header) return empty(offset);
  const start = Number(header[1]);
  const end = Number(header[2]);
  if (start !== offset || end <= start) return empty(offset);
  return { data: Buffer.from(text.slice(newline + 1), 'utf8'), nextOffset: end };
}

/** The web UI of the worker that runs (or ran) the driver, from the master; cached per driver. */
async function workerUiOf(
  settings: SparkClusterSettings,
  driverId: string,
  knownWorker: string | undefined,
): Promise<string | undefined> {
  const cached = workerUis.get(driverId);
  if (cached) return cached;
  let workerId = knownWorker;
  if (!workerId) {
    const driver = await driverStatus(settings.restUrl, driverId);
    workerId = driver.workerId;
  }
  if (!workerId) return undefined;
  const worker = (await masterState(settings.webUrl)).workers.find((candidate) => candidate.id === workerId);
  if (!worker?.webuiaddress) return undefined;
  if (workerUis.size >= REMEMBERED_WORKERS) workerUis.delete(workerUis.keys().next().value!);
  workerUis.set(driverId, worker.webuiaddress);
  return worker.webuiaddress;
}
