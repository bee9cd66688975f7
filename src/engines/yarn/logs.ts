import { appendFile, mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

import { errorMessage } from '../../errors.js';
import { TransientEngineError, type LogChunk, type LogRead, type LogStream, type LogTarget } from '../engine.js';
import { readLogFile } from '../local/logs.js';
import { writeAtomically } from '../processes/workdir.js';
import type { YarnClusterSettings } from './settings.js';

/**
 * A YARN application's output is spread over its containers, each with its own stdout and
 * stderr on its NodeManager, which serves them while the application runs and (without log
 * aggregation) for a while after. Oasis copies what they hold, as it arrives, into one file per
 * stream in the execution's directory, opening each container's output with `==> <id> <==`, the
 * way `tail -f` shows several files. Reads come from that copy: offsets never move while
 * containers keep writing, and the logs stay until the execution is deleted.
 */

const REQUEST_TIMEOUT_MS = 10_000;
/** The most copied from one container in one pass; a longer log continues at the next read. */
const FETCH_BYTES = 1024 * 1024;
/** Task lookups in the JobHistoryServer for one application. */
const MAX_TASKS = 500;
const FINAL_STATES: ReadonlySet<string> = new Set(['FINISHED', 'FAILED', 'KILLED']);

interface Progress {
  /** Bytes copied per container, and the node that serves each. */
  containers: Record<string, { node: string; copied: number }>;
  /** The container whose output the copy ends with, and whether it ends a line. */
  last: string | null;
  endsLine: boolean;
  /** Everything there is has been copied: the application ended and a pass found nothing new. */
  complete: boolean;
}

const passes = new Map<string, Promise<void>>();

export async function readYarnLogs(
  workDir: string,
  settings: YarnClusterSettings,
  target: LogTarget,
  read: LogRead,
): Promise<LogChunk> {
  if (!target.engineJobId) return { data: Buffer.alloc(0), nextOffset: read.offset };
  const dir = path.join(workDir, 'executions', target.executionId, 'logs');
  const copy = path.join(dir, read.stream);
  // The copy is refreshed only once the reader has caught up with it.
  if (read.offset >= (await sizeOf(copy))) {
    await oneAtATime(`${target.executionId}:${read.stream}`, () =>
      copyNewOutput(dir, settings, target.engineJobId!, read.stream),
    );
  }
  return readLogFile(copy, read.offset, read.maxBytes);
}

/** Runs `work` after any pass already under way for `key`, so two readers never append at once. */
async function oneAtATime(key: string, work: () => Promise<void>): Promise<void> {
  const previous = passes.get(key) ?? Promise.resolve();
  const current = previous.then(work, work);
  const settled = current.catch(() => undefined);
  passes.set(key, settled);
  try {
    await current;
  } finally {
    if (passes.get(key) === settled) passes.delete(key);
  }
}

async function copyNewOutput(
  dir: string,
  settings: YarnClusterSettings,
  applicationId: string,
  stream: LogStream,
): Promise<void> {
  const progressFile = path.join(dir, `${stream}.progress.json`);
  const progress = await readProgress(progressFile);
  if (progress.complete) return;
  const app = await getJson<{ app?: { state?: string } }>(
    `${settings.resourceManagerUrl}/ws/v1/cluster/apps/${applicationId}`,
  );
  const ended = FINAL_STATES.has(app?.app?.state ?? '');
  const found = await containersOf(settings, applicationId, ended);
  for (const [id, node] of found.containers) progress.containers[id] ??= { node, copied: 0 };

  await mkdir(dir, { recursive: true, mode: 0o700 });
  let copiedAny = false;
  for (const id of Object.keys(progress.containers).sort()) {
    const container = progress.containers[id]!;
    const fresh = await containerLog(container.node, id, stream, container.copied);
    if (fresh === undefined || fresh.length === 0) continue;
    const header =
      progress.last === id ? '' : `${progress.endsLine || progress.last === null ? '' : '\n'}==> ${id} <==\n`;
    await appendFile(path.join(dir, stream), Buffer.concat([Buffer.from(header), fresh]), { mode: 0o600 });
    container.copied += fresh.length;
    progress.last = id;
    progress.endsLine = fresh[fresh.length - 1] === 0x0a;
    copiedAny = true;
  }
  // Done once the application has ended, every container it had is known, and none had more.
  progress.complete = ended && found.complete && !copiedAny;
  await writeAtomically(progressFile, JSON.stringify(progress));
}

/**
 * The application's containers and their NodeManagers: each attempt's ApplicationMaster and the
 * containers running now, from the ResourceManager; once the application has ended, every task
 * attempt's container from the JobHistoryServer. `complete` says whether the list is whole.
 */
async function containersOf(
  settings: YarnClusterSettings,
  applicationId: string,
  ended: boolean,
): Promise<{ containers: Map<string, string>; complete: boolean }> {
  const containers = new Map<string, string>();
  const base = `${settings.resourceManagerUrl}/ws/v1/cluster/apps/${applicationId}/appattempts`;
  const attempts = listOf(
    (await getJson<{ appAttempts?: { appAttempt?: Attempt | Attempt[] } }>(base))?.appAttempts?.appAttempt,
  );
  for (const attempt of attempts) {
    if (attempt.containerId && attempt.nodeHttpAddress) containers.set(attempt.containerId, attempt.nodeHttpAddress);
    if (ended || !attempt.appAttemptId) continue;
    const running = await getJson<{ container?: RunningContainer | RunningContainer[] }>(
      `${base}/${attempt.appAttemptId}/containers`,
    );
    for (const container of listOf(running?.container)) {
      if (container.containerId && container.nodeHttpAddress)
        containers.set(container.containerId, container.nodeHttpAddress);
    }
  }
  if (!ended) return { containers, complete: false };
  if (!settings.jobHistoryUrl) return { containers, complete: true };
  // The history server has the job a moment after YARN reports its end: until then, not whole.
  const jobs = `${settings.jobHistoryUrl}/ws/v1/history/mapreduce/jobs/${applicationId.replace(/^application_/, 'job_')}`;
  const tasks = await getJson<{ tasks?: { task?: { id: string } | { id: string }[] } | null }>(jobs + '/tasks', {
    optional: true,
  });
  if (tasks === undefined) return { containers, complete: false };
  for (const task of listOf(tasks.tasks?.task).slice(0, MAX_TASKS)) {
    const body = await getJson<{ taskAttempts?: { taskAttempt?: TaskAttempt | TaskAttempt[] } | null }>(
      `${jobs}/tasks/${task.id}/attempts`,
      { optional: true },
    );
    for (const attempt of listOf(body?.taskAttempts?.taskAttempt)) {
      if (attempt.assignedContainerId && attempt.nodeHttpAddress)
        containers.set(attempt.assignedContainerId, attempt.nodeHttpAddress);
    }
  }
  return { containers, complete: true };
}

interface Attempt {
  appAttemptId?: string;
  containerId?: string;
  nodeHttpAddress?: string;
}
interface RunningContainer {
  containerId?: string;
  nodeHttpAddress?: string;
}
interface TaskAttempt {
  assignedContainerId?: string;
  nodeHttpAddress?: string;
}

/**
 * A container's file from `copied` on, up to FETCH_BYTES, from its NodeManager's web services.
 * They answer a header (`LogLength:<n>` … `LogContents:`), then the first `size` bytes of the
 * file, then a footer; undefined when the NodeManager no longer has the container.
 */
async function containerLog(
  node: string,
  containerId: string,
  stream: LogStream,
  copied: number,
): Promise<Buffer | undefined> {
  const size = copied + FETCH_BYTES;
  const url = `${node.startsWith('http') ? node : `http://${node}`}/ws/v1/node/containers/${containerId}/logs/${stream}?size=${size}`;
  let body: Buffer;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    if (!response.ok) return undefined;
    body = Buffer.from(await response.arrayBuffer());
  } catch {
    // A NodeManager that is gone takes its logs along; the others are still worth reading.
    return undefined;
  }
  const marker = body.indexOf('LogContents:\n');
  if (marker < 0) return undefined;
  const length = Number(/LogLength:(\d+)/.exec(body.subarray(0, marker).toString('latin1'))?.[1]);
  if (!Number.isFinite(length)) return undefined;
  const start = marker + 'LogContents:\n'.length;
  const contents = body.subarray(start, start + Math.min(length, size));
  return contents.length > copied ? contents.subarray(copied) : Buffer.alloc(0);
}

/** GETs JSON; an unreachable server is transient. With `optional`, a 404 is undefined. */
async function getJson<T>(url: string, options: { optional?: boolean } = {}): Promise<T | undefined> {
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    if (options.optional) return undefined;
    throw new TransientEngineError(`${new URL(url).origin} does not answer: ${errorMessage(error)}`, { cause: error });
  }
  if (!response.ok) {
    if (options.optional || response.status === 404) return undefined;
    throw new TransientEngineError(`${new URL(url).origin} answered ${response.status} for ${new URL(url).pathname}`);
  }
  try {
    return (await response.json()) as T;
  } catch {
    if (options.optional) return undefined;
    throw new TransientEngineError(`${new URL(url).origin} answered something else than JSON`);
  }
}

/** YARN's JSON writers render a one-element list as a bare object. */
function listOf<T>(value: T | T[] | undefined | null): T[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

async function readProgress(file: string): Promise<Progress> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Progress;
  } catch {
    return { containers: {}, last: null, endsLine: true, complete: false };
  }
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}
