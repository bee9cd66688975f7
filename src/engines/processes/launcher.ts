import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import path from 'node:path';

import { FILES, reserveResultFile } from './workdir.js';

/**
 * Every job runs under a tiny supervisor: a fixed `/bin/sh -c` script that records its own pid in
 * `launched` (so a job is never started twice for one execution, even when Oasis dies right after
 * the spawn), runs the job's argv and writes its exit code to `result`. A dead Oasis cannot wait on its children, so without it
 * the exit code of a job that ends while Oasis is down would be lost.
 *
 * Nothing from the job is ever part of the script text: the job's argv reaches it only as the
 * positional parameters and runs as `"$@"`, which the shell neither splits nor expands.
 *
 * The launcher leads the job's own process group (spawned detached, so with its own session);
 * the job runs in that group too. The launcher ignores SIGTERM and starts the job from a subshell
 * that restores the default: a cancel's SIGTERM ends the job, and the launcher lives on to record
 * 128+n when the job dies of signal n. SIGKILL ends the launcher too: then `result` holds no code
 * and the `cancelled` marker tells that Oasis did it.
 *
 * `result` is created, blank and full size, before the launcher starts, and the launcher only
 * overwrites its first bytes: that needs no new disk space, so a job that ends while the data
 * dir's disk is full still records its exit code.
 */
const LAUNCHER_SCRIPT = [
  "trap '' TERM",
  `printf '%s\\n' "$$" > ${FILES.launched}`,
  // A subshell, not a program: the job's start costs no extra exec.
  '(trap - TERM; exec "$@")',
  'code=$?',
  // Overwritten in place, never created: its room was taken before the job started.
  `printf '%s\\n' "$code" 1<> ${FILES.result}`,
].join('\n');

export interface LaunchOptions {
  /** The execution's directory, where the launcher keeps its files; the job never sees it. */
  dir: string;
  /** The job's argv, already wrapped by its sandbox. */
  command: string[];
  env: Record<string, string>;
}

/**
 * Starts the job's launcher in `dir`. Standard output and error are the files' own descriptors,
 * handed to the child, so output keeps flowing into the working directory if Oasis dies.
 */
export function launch({ dir, command, env }: LaunchOptions): ChildProcess {
  reserveResultFile(dir);
  const stdout = openSync(path.join(dir, FILES.stdout), 'a', 0o600);
  try {
    const stderr = openSync(path.join(dir, FILES.stderr), 'a', 0o600);
    try {
      const child = spawn('/bin/sh', ['-c', LAUNCHER_SCRIPT, 'oasis-launcher', ...command], {
        cwd: dir,
        env,
        detached: true,
        shell: false,
        stdio: ['ignore', stdout, stderr],
      });
      // The job must never keep Oasis alive, nor die with it.
      child.unref();
      return child;
    } finally {
      closeSync(stderr);
    }
  } finally {
    closeSync(stdout);
  }
}
