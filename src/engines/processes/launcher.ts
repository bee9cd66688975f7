import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import path from 'node:path';

import { FILES } from './workdir.js';

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
 * the job runs in that group too, so cancel signals the group and every descendant gets the signal
 * directly. The launcher ignores SIGTERM, and so does what it starts until the sandbox's argv
 * restores the default for the job itself (see sandbox/limits.ts): the launcher and the sandbox's
 * own supervising processes outlive the job, and the launcher records 128+n when the job dies of
 * signal n. SIGKILL ends the launcher too: then `result` is missing and the `cancelled` marker
 * tells that Oasis did it.
 */
const LAUNCHER_SCRIPT = [
  "trap '' TERM",
  `printf '%s\\n' "$$" > ${FILES.launched}`,
  '"$@"',
  'code=$?',
  `printf '%s\\n' "$code" > ${FILES.resultTemp} && /bin/mv -f ${FILES.resultTemp} ${FILES.result}`,
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
