/**
 * The confinement of every process Oasis starts on its own host for a job: local Shell and Java
 * jobs, Spark client-mode drivers and Shell jobs on Spark clusters. A sandbox turns a job's argv
 * into the argv that runs it confined; the job's launcher (see processes/launcher.ts) runs that argv and
 * stays outside, so the job can neither forge nor hide its own exit code.
 */
export type SandboxKind = 'bubblewrap' | 'unshare' | 'off' | 'unavailable';

/** Per-job limits; see docs/sandbox.md for what each one bounds and how a job sees it. */
export interface JobLimits {
  /** Largest file the job may write, its stdout and stderr included (RLIMIT_FSIZE). */
  outputBytes: number;
  /** Size of the job's working directory and of its private /tmp, each (memory-backed tmpfs). */
  diskBytes: number;
  /** Writable memory of each of the job's processes (RLIMIT_DATA). */
  memoryBytes: number;
  /** Processes and threads of the job together (RLIMIT_NPROC in the job's own user namespace). */
  processes: number;
  /** Open files of each of the job's processes (RLIMIT_NOFILE). */
  openFiles: number;
}

/** What both confining sandboxes are built from. */
export interface ConfinementSettings {
  limits: JobLimits;
  network: boolean;
  /** Set when Oasis runs as root: jobs run as this user instead. */
  jobOwner: { uid: number; gid: number } | undefined;
  /** Host paths every job may read beyond the system (OASIS_SANDBOX_PATHS, the JDK). */
  readOnlyPaths: readonly string[];
  /** Host paths every job may write (OASIS_SANDBOX_WRITABLE_PATHS). */
  writablePaths: readonly string[];
  /** Paths no job may see even where they lie inside a path it is given: the data dir, secrets. */
  hiddenPaths: readonly string[];
}

/** What a sandbox needs to know of one job. */
export interface SandboxedJob {
  /**
   * The job's working directory on the host, holding its staged binaries. Inside the sandbox the
   * same path is a fresh, size-limited directory in which those binaries appear.
   */
  workDir: string;
  /** The staged binaries: plain file names in `workDir`. */
  files: readonly string[];
  /** Host paths the job must read beyond the system (a Spark installation, a Python prefix). */
  readOnlyPaths?: readonly string[];
  /** Host paths the job may write (a Spark cluster's shared directory). */
  writablePaths?: readonly string[];
  /** The job's command, with paths as the job sees them (see Sandbox.jobDir). */
  command: readonly string[];
}

export interface Sandbox {
  readonly kind: SandboxKind;
  /** One line for the start log: the isolation in force and its limits. */
  readonly description: string;
  /** The limits in force; none without a sandbox. */
  readonly limits: JobLimits | undefined;
  /** The uid and gid jobs run as when Oasis runs as root (ownership of what they are given). */
  readonly jobOwner: { uid: number; gid: number } | undefined;
  /** Where the job sees its working directory, `hostWorkDir` on the host. */
  jobDir(hostWorkDir: string): string;
  /**
   * The argv that runs `job.command` confined. Its own supervising processes (a `bwrap` or an
   * `unshare` outside the job's PID namespace) are never sent a cancel's SIGTERM: see
   * local/processes.ts `terminateJob`.
   */
  wrap(job: SandboxedJob): string[];
}

/** Exit code of a process killed by SIGXFSZ: a file reached the output limit. */
export const EXIT_FILE_TOO_LARGE = 128 + 25;

export const isWithin = (inner: string, outer: string): boolean =>
  inner === outer || inner.startsWith(outer.endsWith('/') ? outer : `${outer}/`);

/** The paths to hide that are not already hidden inside another of them. */
export function outermost(paths: readonly string[]): string[] {
  return paths.filter((hidden) => !paths.some((other) => other !== hidden && isWithin(hidden, other)));
}
