import { EXIT_FILE_TOO_LARGE, type ConfinementSettings, type JobLimits } from './sandbox.js';

/** The job's own argv prefix that applies the limits kept per process by the kernel (rlimits). */
export function rlimitPrefix(limits: JobLimits): string[] {
  return [
    '/usr/bin/prlimit',
    `--fsize=${limits.outputBytes}`,
    `--data=${limits.memoryBytes}`,
    `--nproc=${limits.processes}`,
    `--nofile=${limits.openFiles}`,
    // A core dump of a large process would bypass the disk limit of the working directory.
    '--core=0',
    '--',
  ];
}

export function formatBytes(bytes: number): string {
  for (const [unit, size] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} bytes`;
}

/** What the kernel's refusals look like in the job's own error output, and which limit each is. */
const LIMIT_SIGNS: readonly [RegExp, (limits: JobLimits) => string][] = [
  [
    /No space left on device|ENOSPC/,
    (l) => `its working directory or /tmp is full (OASIS_JOB_MAX_DISK, ${formatBytes(l.diskBytes)} each)`,
  ],
  [
    /Cannot allocate memory|MemoryError|OutOfMemoryError|insufficient memory|ENOMEM|std::bad_alloc|out of memory/i,
    (l) => `a process ran out of memory (OASIS_JOB_MAX_MEMORY, ${formatBytes(l.memoryBytes)} per process)`,
  ],
  [
    /Cannot fork|Resource temporarily unavailable|pthread_create failed|unable to create native thread|EAGAIN/,
    (l) => `it reached its process and thread limit (OASIS_JOB_MAX_PROCESSES, ${l.processes})`,
  ],
  [/Too many open files|EMFILE/, (l) => `it reached its open-file limit (OASIS_JOB_MAX_OPEN_FILES, ${l.openFiles})`],
];

/**
 * Why a sandboxed job that ended in error probably did: a file that reached the output limit
 * kills the job with SIGXFSZ, so its exit code tells for sure; the other limits make a system
 * call fail, and the job's error output names the failure.
 */
export function limitReason(exitCode: number, stderrTail: string, limits: JobLimits): string | undefined {
  if (exitCode === EXIT_FILE_TOO_LARGE) {
    return `the job was stopped: a file it wrote (its output or a file in its working directory) reached OASIS_JOB_MAX_OUTPUT, ${formatBytes(limits.outputBytes)}`;
  }
  for (const [sign, reason] of LIMIT_SIGNS) {
    if (sign.test(stderrTail)) return `the job failed, apparently because ${reason(limits)}`;
  }
  return undefined;
}

/** The start log's account of a confining sandbox: whose rights jobs have, the network, the limits. */
export function describeConfinement(name: string, { limits, jobOwner, network }: ConfinementSettings): string {
  const user = jobOwner ? `uid ${jobOwner.uid}` : 'the Oasis user, in a user namespace';
  return (
    `${name}: jobs run as ${user}, network ${network ? 'on' : 'off'}, ` +
    `output ${formatBytes(limits.outputBytes)} per file, disk ${formatBytes(limits.diskBytes)}, ` +
    `memory ${formatBytes(limits.memoryBytes)} per process, ${limits.processes} processes, ` +
    `${limits.openFiles} open files`
  );
}
