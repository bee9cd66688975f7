import { spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';

import { bundledSource, findOnPath } from '../processes/executables.js';
import type { JobLimits } from './sandbox.js';

/** Where the job sees oasis-job-init inside its sandbox. */
export const JOB_INIT_IN_SANDBOX = '/run/oasis/job-init';

/**
 * No C library (see job-init.c), hence no start-up code, no relocations and nothing a compiler
 * would add on its own (stack protector, calls to built-ins).
 */
const COMPILER_FLAGS = [
  '-O2',
  '-static',
  '-nostdlib',
  '-ffreestanding',
  '-fno-builtin',
  '-fno-stack-protector',
  '-fno-pie',
  '-no-pie',
];

/** The host's oasis-job-init, or why there is none (jobs then start through util-linux). */
export type JobInitBuild = { path: string } | { problem: string };

/**
 * Compiles oasis-job-init (job-init.c: drop to the job's user, a user namespace of its own, the
 * limits, in one exec) with the host's C compiler into `dir`, once per version of its source:
 * the file's name carries the hash of the source and flags, so an upgraded Oasis builds its own.
 */
export function buildJobInit(dir: string): JobInitBuild {
  try {
    return build(dir);
  } catch (error) {
    return { problem: `building oasis-job-init failed: ${(error as Error).message}` };
  }
}

function build(dir: string): JobInitBuild {
  const compiler = findOnPath('cc') ?? findOnPath('gcc');
  if (!compiler) return { problem: 'no C compiler (cc) to build oasis-job-init' };
  const source = bundledSource(import.meta.url, 'src/engines/sandbox', 'job-init.c');
  const hash = createHash('sha256')
    .update(readFileSync(source))
    .update(COMPILER_FLAGS.join(' '))
    .digest('hex')
    .slice(0, 16);
  const binary = path.join(dir, `oasis-job-init-${hash}`);
  if (existsSync(binary)) return { path: binary };

  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Unique per build, renamed into place whole: two Oasis processes may build at the same instant.
  const staging = `${binary}.${process.pid}.${randomUUID()}`;
  const result = spawnSync(compiler, [...COMPILER_FLAGS, '-o', staging, source], {
    encoding: 'utf8',
    timeout: 60_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (result.status === 0) {
    chmodSync(staging, 0o755);
    renameSync(staging, binary);
    return { path: binary };
  }
  const failure = result.error?.message ?? result.stderr.trim().split('\n').slice(-1)[0] ?? `exit ${result.status}`;
  rmSync(staging, { force: true });
  return { problem: `building oasis-job-init failed: ${failure}` };
}

/** The job's argv prefix that runs it through oasis-job-init inside the sandbox. */
export function jobInitPrefix(owner: { uid: number; gid: number } | undefined, limits: JobLimits): string[] {
  return [
    JOB_INIT_IN_SANDBOX,
    owner ? String(owner.uid) : '-',
    owner ? String(owner.gid) : '-',
    String(limits.outputBytes),
    String(limits.memoryBytes),
    String(limits.processes),
    String(limits.openFiles),
  ];
}
