import { lstatSync, readlinkSync } from 'node:fs';
import path from 'node:path';

import { JOB_INIT_IN_SANDBOX, jobInitPrefix, type JobInitBuild } from './job-init.js';
import { describeConfinement, rlimitPrefix } from './limits.js';
import {
  isWithin,
  outermost,
  type ConfinementSettings,
  type JobLimits,
  type Sandbox,
  type SandboxedJob,
} from './sandbox.js';

/** Where a job finds its working directory (and HOME) inside the sandbox. */
export const SANDBOX_JOB_DIR = '/job';

/** The system as jobs see it, read-only: programs, libraries and configuration, nothing else. */
const SYSTEM_PATHS = ['/usr', '/etc', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

export interface BubblewrapSettings extends ConfinementSettings {
  executable: string;
  /** oasis-job-init when it could be built here; else util-linux's programs do its part. */
  jobInit: JobInitBuild;
}

/** Symlinks such as /bin → usr/bin are recreated as links; directories are bound read-only. */
function systemMounts(): string[] {
  const args: string[] = [];
  for (const dir of SYSTEM_PATHS) {
    try {
      const stat = lstatSync(dir);
      if (stat.isSymbolicLink()) args.push('--symlink', readlinkSync(dir), dir);
      else if (stat.isDirectory()) args.push('--ro-bind', dir, dir);
    } catch {
      // Not on this system.
    }
  }
  // /etc/resolv.conf often points into /run, which jobs do not otherwise see.
  args.push('--ro-bind-try', '/run/systemd/resolve', '/run/systemd/resolve');
  return args;
}

/**
 * Directories leading to a bound path, traversable by the job's user: bubblewrap would otherwise
 * create them for the mount point as root-only.
 */
function ancestorsOf(dir: string): string[] {
  const args: string[] = [];
  for (let parent = path.dirname(dir); parent !== '/'; parent = path.dirname(parent)) {
    if (SYSTEM_PATHS.some((system) => isWithin(parent, system)) || parent === '/tmp') continue;
    args.unshift('--perms', '0755', '--dir', parent);
  }
  return args;
}

/** An empty directory over a directory, an empty file over a file. */
function maskOf(hidden: string): string[] | undefined {
  try {
    return lstatSync(hidden).isDirectory() ? ['--tmpfs', hidden] : ['--ro-bind', '/dev/null', hidden];
  } catch {
    return undefined;
  }
}

/**
 * bubblewrap (the sandbox Flatpak uses). Each job gets new mount, PID, IPC, UTS and cgroup namespaces: it
 * sees the system read-only, a private /proc in which only its own processes exist, a private
 * /tmp and a fresh working directory (both size-limited tmpfs), and none of Oasis's files. When the
 * job's first process ends, the kernel kills every process left in its PID namespace, daemons and
 * `setsid` children included.
 *
 * Under root, bwrap mounts as root and the job then drops to `jobOwner` with no capabilities and
 * no way to regain any (no_new_privs), inside a user namespace of its own, which makes its process
 * limit count its own processes only. Under another user, bwrap creates the user namespace itself.
 * oasis-job-init (job-init.c) does that last step in one exec; where no C compiler could build it,
 * util-linux's setpriv, unshare and prlimit do it in three, a few milliseconds slower.
 */
export class BubblewrapSandbox implements Sandbox {
  readonly kind = 'bubblewrap' as const;
  readonly limits: JobLimits;
  readonly jobOwner: { uid: number; gid: number } | undefined;
  private readonly system = systemMounts();
  private readonly masks: readonly { hidden: string; mask: string[] }[];

  constructor(private readonly settings: BubblewrapSettings) {
    this.limits = settings.limits;
    this.jobOwner = settings.jobOwner;
    this.masks = outermost(settings.hiddenPaths).flatMap((hidden) => {
      const mask = maskOf(hidden);
      return mask ? [{ hidden, mask }] : [];
    });
  }

  get description(): string {
    const { jobInit } = this.settings;
    const start = 'path' in jobInit ? 'oasis-job-init' : `setpriv, unshare and prlimit (${jobInit.problem})`;
    return `${describeConfinement('bubblewrap', this.settings)}; jobs start through ${start}`;
  }

  jobDir(): string {
    return SANDBOX_JOB_DIR;
  }

  wrap(job: SandboxedJob): string[] {
    const { executable, limits, network, jobOwner, jobInit } = this.settings;
    // The host name stays the host's: a Spark driver advertises it to the executors that call back.
    const args = [executable, '--die-with-parent', '--unshare-ipc', '--unshare-pid', '--unshare-uts'];
    args.push('--unshare-cgroup-try');
    if (!network) args.push('--unshare-net');
    if (!jobOwner) args.push('--unshare-user');
    args.push(...this.system);
    // Before the binds: a path the job is given may lie in the host's /tmp.
    args.push('--proc', '/proc', '--dev', '/dev');
    args.push('--size', String(limits.diskBytes), '--perms', '1777', '--tmpfs', '/tmp');

    const readOnly = [...this.settings.readOnlyPaths, ...(job.readOnlyPaths ?? [])];
    const writable = [...this.settings.writablePaths, ...(job.writablePaths ?? [])];
    for (const dir of readOnly) args.push(...ancestorsOf(dir), '--ro-bind-try', dir, dir);
    for (const dir of writable) args.push(...ancestorsOf(dir), '--bind-try', dir, dir);
    const exposed = [...SYSTEM_PATHS, ...readOnly, ...writable];
    for (const { hidden, mask } of this.masks) {
      if (exposed.some((dir) => isWithin(hidden, dir))) args.push(...mask);
    }

    args.push('--size', String(limits.diskBytes), '--perms', '1777', '--tmpfs', SANDBOX_JOB_DIR);
    for (const file of job.files) {
      args.push('--ro-bind', path.join(job.workDir, file), path.join(SANDBOX_JOB_DIR, file));
    }
    if ('path' in jobInit) args.push('--ro-bind', jobInit.path, JOB_INIT_IN_SANDBOX);
    args.push('--chdir', SANDBOX_JOB_DIR, '--');

    if ('path' in jobInit) return [...args, ...jobInitPrefix(jobOwner, limits), ...job.command];
    if (jobOwner) {
      const { uid, gid } = jobOwner;
      args.push('/usr/bin/setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups');
      args.push('--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--');
      args.push('/usr/bin/unshare', '--user', `--map-user=${uid}`, `--map-group=${gid}`, '--');
    }
    return [...args, ...rlimitPrefix(limits), ...job.command];
  }
}
