import { readFile, readdir, readlink } from 'node:fs/promises';
import { readFileSync, readlinkSync } from 'node:fs';

/**
 * What Linux says about processes, read from /proc. A pid alone can be recycled, so a job's
 * launcher is identified by (boot id, pid, start time in clock ticks since boot): the same pid with
 * another start time, or any pid after a reboot, is never mistaken for our job.
 */
export interface ProcessIdentity {
  pid: number;
  starttime: string;
  bootId: string;
}

interface ProcStat {
  state: string;
  pgrp: number;
  starttime: string;
}

/** Parses /proc/<pid>/stat; the command name (field 2) may contain spaces and parentheses. */
function parseStat(text: string): ProcStat | undefined {
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field n is rest[n - 3].
  const state = rest[0];
  const pgrp = Number(rest[2]);
  const starttime = rest[19];
  if (!state || !Number.isInteger(pgrp) || !starttime) return undefined;
  return { state, pgrp, starttime };
}

async function readStat(pid: number): Promise<ProcStat | undefined> {
  try {
    return parseStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Read synchronously right after spawn: the child cannot have been reaped yet (Node reaps in a
 * later turn of the event loop), so even a job that exits at once still has its stat.
 */
export function identityOf(pid: number): ProcessIdentity | undefined {
  try {
    const stat = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return stat ? { pid, starttime: stat.starttime, bootId: currentBootId() } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The identity of a launcher known only by the pid it wrote in `dir`: read from /proc while it
 * runs there; once it is gone, a start time that matches no process, so a recycled pid is never
 * taken for it while its process group (if any member lives on) is still found by pid.
 */
export function launcherIdentity(pid: number, dir: string): ProcessIdentity {
  try {
    const live = identityOf(pid);
    if (live && readlinkSync(`/proc/${pid}/cwd`) === dir) return live;
  } catch {
    // Gone, or not ours to inspect.
  }
  return { pid, starttime: 'ended', bootId: currentBootId() };
}

let bootId: string | undefined;
export function currentBootId(): string {
  bootId ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  return bootId;
}

const isLive = (stat: ProcStat): boolean => stat.state !== 'Z' && stat.state !== 'X';

/** The launcher itself still runs (a zombie awaiting its reaper has ended). */
export async function leaderAlive(job: ProcessIdentity): Promise<boolean> {
  if (job.bootId !== currentBootId()) return false;
  const stat = await readStat(job.pid);
  return stat !== undefined && stat.starttime === job.starttime && isLive(stat);
}

/**
 * Whether process group `job.pid` may still be ours. Linux never hands out a pid while a process
 * group of that id exists, so if the pid now belongs to a process with another start time, our
 * group has emptied and any group of that id is somebody else's.
 */
async function groupMayBeOurs(job: ProcessIdentity): Promise<boolean> {
  if (job.bootId !== currentBootId()) return false;
  const leader = await readStat(job.pid);
  return leader === undefined || leader.starttime === job.starttime;
}

/** Live (non-zombie) members of the job's process group, the launcher included. */
export async function liveGroupMembers(job: ProcessIdentity): Promise<number[]> {
  if (!(await groupMayBeOurs(job))) return [];
  const entries = await readdir('/proc');
  const members: number[] = [];
  await Promise.all(
    entries.map(async (entry) => {
      if (!/^\d+$/.test(entry)) return;
      const stat = await readStat(Number(entry));
      if (stat && stat.pgrp === job.pid && isLive(stat)) members.push(Number(entry));
    }),
  );
  return members;
}

/** Sends `signal` to the job's whole process group, unless that group is provably not ours. */
export async function signalGroup(job: ProcessIdentity, signal: NodeJS.Signals): Promise<void> {
  if (!(await groupMayBeOurs(job))) return;
  try {
    process.kill(-job.pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

async function pidNamespaceOf(pid: number | 'self'): Promise<string | undefined> {
  try {
    return await readlink(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

/**
 * Asks a job to stop: SIGTERM to every process of the job's own PID namespace when its sandbox
 * made one, daemons that left the job's group included; to the job's process group otherwise.
 * The sandbox's supervising processes (its `bwrap` or `unshare`) sit outside that namespace and
 * keep the default disposition of SIGTERM, so they must not get it: they would end the whole
 * sandbox at once and take the job's grace time away. The namespace's first process ignores it.
 */
export async function terminateJob(job: ProcessIdentity): Promise<void> {
  if (!(await groupMayBeOurs(job))) return;
  const own = await pidNamespaceOf('self');
  const members = await liveGroupMembers(job);
  const namespaces = new Set<string>();
  for (const pid of members) {
    const namespace = await pidNamespaceOf(pid);
    if (namespace !== undefined && namespace !== own) namespaces.add(namespace);
  }
  if (namespaces.size === 0) return signalGroup(job, 'SIGTERM');
  const entries = (await readdir('/proc')).filter((entry) => /^\d+$/.test(entry));
  await Promise.all(
    entries.map(async (entry) => {
      const namespace = await pidNamespaceOf(Number(entry));
      if (namespace === undefined || !namespaces.has(namespace)) return;
      try {
        process.kill(Number(entry), 'SIGTERM');
      } catch {
        // Ended meanwhile.
      }
    }),
  );
}
