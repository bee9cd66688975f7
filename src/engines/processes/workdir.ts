import { writeFileSync } from 'node:fs';
import { open, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { ProcessIdentity } from './processes.js';

/**
 * The layout of an execution's working directory, `<workDir>/<executionId>/`. Everything a
 * restarted Oasis needs to know about a job lives here, so nothing is lost when Oasis dies:
 *
 *   launched    the launcher's pid, written by the launcher itself before it runs the job
 *   job.json    the launcher's identity and the command, written right after spawn
 *   stdout      the job's standard output (the fd is the child's own, so it outlives Oasis)
 *   stderr      the job's standard error
 *   result      the exit code (128+n for signal n): blank until the launcher overwrites it
 *   cancelled   written before Oasis signals a job, so its end reads as KILLED
 *   work/       the staged mains and libs, under their own names; a sandboxed job finds them in
 *               its own working directory, never this directory itself
 */
export const FILES = {
  job: 'job.json',
  launched: 'launched',
  stdout: 'stdout',
  stderr: 'stderr',
  result: 'result',
  cancelled: 'cancelled',
  work: 'work',
} as const;

const RESERVED: ReadonlySet<string> = new Set(Object.values(FILES));

export interface JobRecord extends ProcessIdentity {
  node: string;
  command: string[];
  startedAt: string;
}

export interface CancelMarker {
  /** When Oasis sent SIGTERM (epoch ms); SIGKILL follows once the grace time has passed. */
  at: number;
}

/** A name that stays inside the directory: not empty, no separators, not `.` or `..`. */
export function isPlainFileName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !/[/\\\0]/.test(name);
}

/** Why a binary cannot be staged under `name`, or undefined when it can. */
export function stagingProblem(name: string): string | undefined {
  if (!isPlainFileName(name)) return `binary name '${name}' is not a plain file name`;
  if (RESERVED.has(name)) return `binary name '${name}' is reserved by the local engine`;
  return undefined;
}

export function executionDir(workDir: string, executionId: string): string {
  if (!isPlainFileName(executionId)) throw new Error(`invalid execution id '${executionId}'`);
  return path.join(workDir, executionId);
}

/** Where the job's binaries are staged, inside the execution's directory. */
export function stagingDir(dir: string): string {
  return path.join(dir, FILES.work);
}

/** Where a local execution's output is kept. */
export function logPaths(workDir: string, executionId: string): { stdout: string; stderr: string } {
  const dir = executionDir(workDir, executionId);
  return { stdout: path.join(dir, FILES.stdout), stderr: path.join(dir, FILES.stderr) };
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Writes through a temporary file and a rename, so a reader never sees half a file. */
export async function writeAtomically(file: string, contents: string): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, contents, { mode: 0o600 });
  await rename(temp, file);
}

export async function readJobRecord(dir: string): Promise<JobRecord | undefined> {
  const text = await readOptional(path.join(dir, FILES.job));
  return text === undefined ? undefined : (JSON.parse(text) as JobRecord);
}

/**
 * Whether a launcher ever ran in `dir`, and its pid when readable. The launcher writes the file
 * before it runs the job, so a job that started always leaves it, even if Oasis died before
 * writing job.json.
 */
export async function readLaunchedPid(dir: string): Promise<{ pid: number | undefined } | undefined> {
  const text = await readOptional(path.join(dir, FILES.launched));
  if (text === undefined) return undefined;
  const pid = Number.parseInt(text.trim(), 10);
  return { pid: Number.isInteger(pid) && pid > 0 ? pid : undefined };
}

/**
 * A blank `result`, longer than any exit code the launcher writes over it. Its space is taken
 * now, so recording the code later cannot fail on a full disk.
 */
const BLANK_RESULT = `${' '.repeat(31)}\n`;

export function reserveResultFile(dir: string): void {
  writeFileSync(path.join(dir, FILES.result), BLANK_RESULT, { mode: 0o600, flag: 'wx' });
}

/** The exit code the launcher recorded, or undefined while it has not (or the file is blank). */
export async function readExitCode(dir: string): Promise<number | undefined> {
  const text = await readOptional(path.join(dir, FILES.result));
  const code = text === undefined ? NaN : Number.parseInt(text.trim(), 10);
  return Number.isInteger(code) ? code : undefined;
}

/** Up to `bytes` from the start or the end of a file; empty when it cannot be read. */
export async function readSlice(file: string, from: 'start' | 'end', bytes: number): Promise<string> {
  try {
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      const start = from === 'start' ? 0 : Math.max(0, size - bytes);
      const buffer = Buffer.alloc(Math.min(bytes, size - start));
      await handle.read(buffer, 0, buffer.length, start);
      return buffer.toString('utf8');
    } finally {
      await handle.close();
    }
  } catch {
    return '';
  }
}

export async function readCancelMarker(dir: string): Promise<CancelMarker | undefined> {
  const text = await readOptional(path.join(dir, FILES.cancelled));
  if (text === undefined) return undefined;
  try {
    const at = Number((JSON.parse(text) as Partial<CancelMarker>).at);
    return { at: Number.isFinite(at) ? at : 0 };
  } catch {
    // Unreadable, yet Oasis did decide to cancel: treat the grace time as long past.
    return { at: 0 };
  }
}

export async function writeCancelMarker(dir: string, marker: CancelMarker): Promise<void> {
  await writeAtomically(path.join(dir, FILES.cancelled), JSON.stringify(marker));
}
