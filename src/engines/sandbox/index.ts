import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { findOnPath } from '../processes/executables.js';
import { BubblewrapSandbox } from './bubblewrap.js';
import { buildJobInit } from './job-init.js';
import type { JobLimits, Sandbox } from './sandbox.js';
import { UnavailableSandbox, UnconfinedSandbox } from './unconfined.js';
import { UnshareSandbox } from './unshare.js';

export type { JobLimits, Sandbox, SandboxedJob, SandboxKind } from './sandbox.js';
export { limitReason } from './limits.js';

export type SandboxMode = 'auto' | 'bubblewrap' | 'unshare' | 'off';

export interface SandboxOptions {
  mode: SandboxMode;
  limits: JobLimits;
  network: boolean;
  /** The user jobs run as when Oasis runs as root: a name from /etc/passwd, or `uid[:gid]`. */
  jobUser: string;
  readOnlyPaths: readonly string[];
  /** Host paths every job may write, shared by the jobs of every project. */
  writablePaths: readonly string[];
  /** The data dir, the tokens file: never visible to a job. */
  hiddenPaths: readonly string[];
  /** Where oasis-job-init is built (in the data dir): a directory only Oasis's user may write. */
  buildDir: string;
}

export class SandboxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SandboxError';
  }
}

/**
 * The sandbox for this host. `auto` uses bubblewrap when it works here, else util-linux's unshare,
 * else refuses to run jobs (they end FAILED, saying why); `bubblewrap` and `unshare` insist on
 * theirs and stop Oasis when it does not work; `off` runs jobs unconfined. Whether a sandbox works
 * is not guessed: a trivial job runs through the very argv real jobs get.
 */
export function createSandbox(options: SandboxOptions): Sandbox {
  if (options.mode === 'off') return new UnconfinedSandbox();
  const jobOwner = process.getuid?.() === 0 ? resolveUser(options.jobUser) : undefined;
  const problems: string[] = [];
  if (options.mode !== 'unshare') {
    const executable = findOnPath('bwrap');
    if (!executable) {
      problems.push('bwrap (package bubblewrap) is not installed');
    } else {
      let jobInit = buildJobInit(options.buildDir);
      if ('path' in jobInit) {
        const withInit = new BubblewrapSandbox({ ...options, executable, jobOwner, jobInit });
        const failure = probe(withInit);
        if (failure === undefined) return withInit;
        // A data dir on a noexec mount, say: bubblewrap still works without it.
        jobInit = { problem: `oasis-job-init does not work here: ${failure}` };
      }
      const sandbox = new BubblewrapSandbox({ ...options, executable, jobOwner, jobInit });
      const failure = probe(sandbox);
      if (failure === undefined) return sandbox;
      problems.push(`bubblewrap does not work here: ${failure}`);
    }
    if (options.mode === 'bubblewrap') throw new SandboxError(`OASIS_SANDBOX=bubblewrap, but ${problems.join('; ')}`);
  }
  const fallback = new UnshareSandbox({ ...options, jobOwner });
  const failure = probe(fallback);
  if (failure === undefined) return fallback;
  problems.push(`unshare does not work here: ${failure}`);
  if (options.mode === 'unshare') throw new SandboxError(`OASIS_SANDBOX=unshare, but ${problems.join('; ')}`);
  return new UnavailableSandbox(problems.join('; '));
}

/** Runs `true` confined; undefined when it worked, else what went wrong. */
function probe(sandbox: Sandbox): string | undefined {
  const dir = mkdtempSync(path.join(tmpdir(), 'oasis-sandbox-probe-'));
  try {
    const workDir = path.join(dir, 'work');
    mkdirSync(workDir);
    const [command, ...args] = sandbox.wrap({ workDir, files: [], command: ['/bin/true'] });
    const result = spawnSync(command!, args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
    if (result.error) return result.error.message;
    if (result.status === 0) return undefined;
    return result.stderr.trim().split('\n').slice(-2).join('; ') || `exit status ${result.status ?? result.signal}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `nobody`, `1234` or `1234:1234`; a name is looked up in /etc/passwd. Never root. */
export function resolveUser(spec: string): { uid: number; gid: number } {
  const numeric = /^(\d+)(?::(\d+))?$/.exec(spec);
  let owner: { uid: number; gid: number } | undefined;
  if (numeric) {
    const uid = Number(numeric[1]);
    owner = { uid, gid: numeric[2] === undefined ? uid : Number(numeric[2]) };
  } else {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , uid, gid] = line.split(':');
      if (name === spec && uid && gid) owner = { uid: Number(uid), gid: Number(gid) };
    }
  }
  if (!owner) throw new SandboxError(`OASIS_JOB_USER: no user '${spec}' in /etc/passwd`);
  if (owner.uid === 0 || owner.gid === 0) throw new SandboxError('OASIS_JOB_USER: jobs never run as root');
  return owner;
}
