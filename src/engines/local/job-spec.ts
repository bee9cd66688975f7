import path from 'node:path';

import type { JobSpec } from '../engine.js';
import { InvalidJob } from '../errors.js';
import type { ConfigValue, JobType } from '../../store/types.js';
import { stagingProblem } from '../processes/workdir.js';

/** What the local engine runs, and how a resolved job turns into an argv (never a shell line). */
export const LOCAL_JOB_TYPES: readonly JobType[] = ['Shell', 'Java'];

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAIN_CLASS = 'edp.java.main_class';
const JAVA_OPTS = 'edp.java.java_opts';

/** Execute-time checks; every problem is a client error (INVALID_DATA). */
export function validateLocalJob(job: JobSpec): void {
  const invalid = (message: string): InvalidJob => new InvalidJob(message);
  if (!LOCAL_JOB_TYPES.includes(job.jobType)) {
    throw invalid(`the local engine does not run ${job.jobType} jobs`);
  }
  if (job.jobType === 'Java') {
    const mainClass = job.configs[MAIN_CLASS];
    if (typeof mainClass !== 'string' || mainClass.trim() === '') {
      throw invalid(`${job.jobType} job must specify ${MAIN_CLASS}`);
    }
  }
  const seen = new Set<string>();
  for (const file of [...job.mains, ...job.libs]) {
    if (!file.url.startsWith('internal-db://')) {
      throw invalid(`the local engine runs only internal-db:// binaries, not '${file.url}'`);
    }
    const problem = stagingProblem(file.name);
    if (problem) throw invalid(problem);
    // A ':' would split the entry in two on the Java class path.
    if (job.jobType === 'Java' && file.name.includes(':')) {
      throw invalid(`binary name '${file.name}' cannot be put on a Java class path`);
    }
    if (seen.has(file.name)) throw invalid(`two binaries of the job are named '${file.name}'`);
    seen.add(file.name);
  }
  for (const name of Object.keys(job.params)) {
    if (!ENV_NAME.test(name)) {
      throw invalid(`param '${name}' is not a valid environment variable name`);
    }
  }
  checkExecLimits(job, invalid);
}

/**
 * Linux refuses to exec a string longer than MAX_ARG_STRLEN (32 pages) and an argv plus
 * environment beyond ARG_MAX; C strings cannot hold a NUL. Checked at execute, so such a job is a
 * 400 instead of a launch that fails later.
 */
/** Including the terminating NUL. */
const MAX_ARG_BYTES = 128 * 1024;
const MAX_TOTAL_BYTES = 1024 * 1024;

function checkExecLimits(job: JobSpec, invalid: (message: string) => InvalidJob): void {
  const strings: [string, string][] = [
    ...job.args.map((arg, index): [string, string] => [`args[${index}]`, arg]),
    ...Object.entries(job.params).map(([name, value]): [string, string] => [
      `param '${name}'`,
      `${name}=${String(value)}`,
    ]),
  ];
  if (job.jobType === 'Java') {
    strings.push(
      ['edp.java.java_opts', String(job.configs[JAVA_OPTS] ?? '')],
      [MAIN_CLASS, String(job.configs[MAIN_CLASS] ?? '')],
    );
  }
  let total = 0;
  for (const [what, value] of strings) {
    if (value.includes('\0'))
      throw invalid(`${what} contains a NUL character, which a process argument or environment cannot hold`);
    const bytes = Buffer.byteLength(value) + 1;
    if (bytes > MAX_ARG_BYTES) {
      throw invalid(
        `${what} is ${bytes - 1} bytes long; a local job's arguments and params are limited to ${MAX_ARG_BYTES - 1} bytes each`,
      );
    }
    total += bytes;
  }
  if (total > MAX_TOTAL_BYTES)
    throw invalid(`the job's arguments and params add up to ${total} bytes; the limit is ${MAX_TOTAL_BYTES}`);
}

/** The job's own command, as an argv; `dir` is the staged working directory. */
export function commandOf(job: JobSpec, dir: string, javaExecutable: string | undefined): string[] {
  const staged = (name: string): string => path.join(dir, name);
  switch (job.jobType) {
    case 'Shell': {
      const main = job.mains[0];
      if (!main) throw new Error('a Shell job needs a main script');
      // sh reads only the script file; the args reach it as positional parameters, uninterpreted.
      return ['/bin/sh', staged(main.name), ...job.args];
    }
    case 'Java': {
      if (!javaExecutable) throw new Error('no java executable found (set JAVA_HOME or PATH)');
      const classPath = [...job.mains, ...job.libs].map((file) => staged(file.name)).join(':');
      const opts = String(job.configs[JAVA_OPTS] ?? '')
        .split(/\s+/)
        .filter(Boolean);
      const mainClass = String(job.configs[MAIN_CLASS]).trim();
      return [javaExecutable, ...opts, '-cp', classPath, mainClass, ...job.args];
    }
    default:
      throw new Error(`the local engine does not run ${job.jobType} jobs`);
  }
}

/**
 * The child's environment: a minimal sane base (no Oasis secrets such as database URLs leak into
 * jobs) plus the job's params, which Sahara passes to Shell jobs as environment variables.
 */
export function environmentOf(params: Record<string, ConfigValue>, dir: string): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH || '/usr/local/bin:/usr/bin:/bin',
    HOME: dir,
    LANG: process.env.LANG || 'C.UTF-8',
  };
  for (const [name, value] of Object.entries(params)) env[name] = String(value);
  return env;
}
