import path from 'node:path';

import type { ConfigValue, JobType } from '../../store/types.js';
import type { JobFile, JobSpec } from '../engine.js';
import { InvalidJob } from '../errors.js';
import { stagingProblem } from '../processes/workdir.js';
import type { CreateSubmissionRequest } from './master-client.js';
import type { SparkClusterSettings } from './settings.js';
import { SUBMISSION_RECORD } from './staging.js';

/**
 * What runs on a Spark cluster and how a resolved job becomes a submission.
 *
 * - Spark with a JVM main (a jar): cluster deploy mode through the master's REST server; the
 *   first main is the application jar, libs go to `spark.jars`, args to the application.
 * - Spark with a Python main (`.py`): client mode, `spark-submit` supervised on the Oasis host;
 *   libs go to `--py-files` (`.jar` libs to `--jars`).
 * - Shell: as Sahara's Spark plugin did (docs/compatibility.md#shell-jobs-on-spark-clusters), `/bin/sh <main> <args>` with params as
 *   the environment, run on the host that submits (here the Oasis host), supervised.
 * - Java: Sahara's Spark plugin never ran plain Java jobs; refused with a 400.
 *
 * Configs: `spark.*` keys become Spark properties; `edp.java.main_class` names the main class;
 * `edp.spark.driver.classpath` becomes `spark.driver.extraClassPath`; other keys are ignored,
 * as Sahara's Spark engine ignored them.
 */
export const SPARK_JOB_TYPES: readonly JobType[] = ['Spark', 'Shell'];

const MAIN_CLASS = 'edp.java.main_class';
const DRIVER_CLASSPATH = 'edp.spark.driver.classpath';
const PROPERTY = /^spark\.[A-Za-z0-9_.-]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Spark's own launcher gives every JVM it starts these options on Java 17 (JavaModuleOptions);
 * a driver started by a worker for a REST submission gets none, and fails at SparkContext start
 * (`cannot access class sun.nio.ch.DirectBuffer`) without them.
 */
const JAVA_MODULE_OPTIONS = [
  '-XX:+IgnoreUnrecognizedVMOptions',
  ...[
    'java.base/java.lang',
    'java.base/java.lang.invoke',
    'java.base/java.lang.reflect',
    'java.base/java.io',
    'java.base/java.net',
    'java.base/java.nio',
    'java.base/java.util',
    'java.base/java.util.concurrent',
    'java.base/java.util.concurrent.atomic',
    'java.base/jdk.internal.ref',
    'java.base/sun.nio.ch',
    'java.base/sun.nio.cs',
    'java.base/sun.security.action',
    'java.base/sun.util.calendar',
    'java.security.jgss/sun.security.krb5',
  ].map((pkg) => `--add-opens=${pkg}=ALL-UNNAMED`),
  '-Djdk.reflect.useDirectMethodHandle=false',
].join(' ');

/**
 * The Spark property that tags every driver and application with its execution id, so a
 * submission whose answer was lost can be found again (see submissions.ts).
 */
export const EXECUTION_PROPERTY = 'spark.oasis.execution';

export type RunMode = 'cluster' | 'client';

export const isPythonMain = (file: JobFile | undefined): boolean =>
  file !== undefined && file.name.toLowerCase().endsWith('.py');

/** Where a validated job runs: JVM Spark apps on the cluster, the rest supervised here. */
export function runModeOf(job: JobSpec): RunMode {
  return job.jobType === 'Spark' && !isPythonMain(job.mains[0]) ? 'cluster' : 'client';
}

/** Execute-time checks; every problem is a client error (InvalidJob). */
export function validateSparkJob(job: JobSpec, settings: SparkClusterSettings): void {
  const invalid = (message: string): InvalidJob => new InvalidJob(message);
  if (job.jobType === 'Java') {
    throw invalid(
      "Java jobs do not run on spark clusters (as with Sahara's Spark plugin): use a Spark job with edp.java.main_class",
    );
  }
  if (!SPARK_JOB_TYPES.includes(job.jobType)) {
    throw invalid(`${job.jobType} jobs do not run on spark clusters`);
  }
  const main = job.mains[0];
  if (!main) throw invalid(`${job.jobType} job requires a main`);
  if (job.jobType === 'Spark') {
    if (isPythonMain(main)) {
      if (!settings.sparkHome) {
        throw invalid("Python Spark jobs need spark_home in the cluster's cluster_configs.spark");
      }
    } else {
      const mainClass = job.configs[MAIN_CLASS];
      if (typeof mainClass !== 'string' || mainClass.trim() === '') {
        throw invalid(`Spark job must specify ${MAIN_CLASS}`);
      }
    }
    for (const key of Object.keys(job.configs)) {
      if (key.startsWith('spark.') && !PROPERTY.test(key)) {
        throw invalid(`config '${key}' is not a valid Spark property name`);
      }
    }
  }
  if (job.jobType === 'Shell') {
    for (const name of Object.keys(job.params)) {
      if (!ENV_NAME.test(name)) throw invalid(`param '${name}' is not a valid environment variable name`);
    }
  }
  const seen = new Set<string>();
  for (const file of [...job.mains, ...job.libs]) {
    if (!file.url.startsWith('internal-db://')) {
      throw invalid(`spark clusters run only internal-db:// binaries, not '${file.url}'`);
    }
    const problem = stagingProblem(file.name);
    if (problem) throw invalid(problem);
    if (file.name === SUBMISSION_RECORD) throw invalid(`binary name '${file.name}' is reserved by the spark engine`);
    // Spark splits jar and py-file lists on commas.
    if (file.name.includes(',')) throw invalid(`binary name '${file.name}' cannot contain ','`);
    if (seen.has(file.name)) throw invalid(`two binaries of the job are named '${file.name}'`);
    seen.add(file.name);
  }
}

/** `spark.*` configs as Spark properties, every value a string. */
function sparkProperties(configs: Record<string, ConfigValue>): Record<string, string> {
  const properties: Record<string, string> = {};
  for (const [key, value] of Object.entries(configs)) {
    if (PROPERTY.test(key)) properties[key] = String(value);
  }
  const classpath = configs[DRIVER_CLASSPATH];
  if (classpath !== undefined && properties['spark.driver.extraClassPath'] === undefined) {
    properties['spark.driver.extraClassPath'] = String(classpath);
  }
  return properties;
}

const fileUrl = (file: string): string => `file:${file}`;

/** The REST submission of a JVM application whose binaries are staged in `stagedDir`. */
export function clusterSubmission(
  job: JobSpec,
  settings: SparkClusterSettings,
  sparkVersion: string,
  stagedDir: string,
): CreateSubmissionRequest {
  const jars = [...job.mains, ...job.libs].map((file) => fileUrl(path.join(stagedDir, file.name)));
  const user = sparkProperties(job.configs);
  const userDriverOptions = user['spark.driver.extraJavaOptions'];
  const properties: Record<string, string> = {
    'spark.app.name': job.templateName,
    ...user,
    'spark.master': settings.master,
    'spark.submit.deployMode': 'cluster',
    [EXECUTION_PROPERTY]: job.executionId,
    'spark.jars': [...jars, ...(user['spark.jars'] ? [user['spark.jars']] : [])].join(','),
    'spark.driver.extraJavaOptions': userDriverOptions
      ? `${JAVA_MODULE_OPTIONS} ${userDriverOptions}`
      : JAVA_MODULE_OPTIONS,
  };
  properties['spark.driver.supervise'] ??= 'false';
  return {
    action: 'CreateSubmissionRequest',
    appResource: jars[0] ?? '',
    mainClass: String(job.configs[MAIN_CLASS]).trim(),
    appArgs: job.args,
    sparkProperties: properties,
    environmentVariables: { SPARK_ENV_LOADED: '1' },
    clientSparkVersion: sparkVersion,
  };
}

/** The argv of a client-mode job, binaries staged in `dir` (never a shell line). */
export function clientCommand(job: JobSpec, settings: SparkClusterSettings, dir: string): string[] {
  const staged = (file: JobFile): string => path.join(dir, file.name);
  const main = job.mains[0];
  if (!main) throw new Error('a job needs a main');
  if (job.jobType === 'Shell') return ['/bin/sh', staged(main), ...job.args];

  if (!settings.sparkHome) throw new Error('no spark_home for Python drivers');
  const properties = {
    'spark.app.name': job.templateName,
    ...sparkProperties(job.configs),
    [EXECUTION_PROPERTY]: job.executionId,
  };
  const pyFiles = job.libs.filter((file) => !file.name.toLowerCase().endsWith('.jar'));
  const jars = job.libs.filter((file) => file.name.toLowerCase().endsWith('.jar'));
  return [
    path.join(settings.sparkHome, 'bin', 'spark-submit'),
    '--master',
    settings.master,
    '--deploy-mode',
    'client',
    ...Object.entries(properties).flatMap(([key, value]) => ['--conf', `${key}=${value}`]),
    ...(pyFiles.length > 0 ? ['--py-files', pyFiles.map(staged).join(',')] : []),
    ...(jars.length > 0 ? ['--jars', jars.map(staged).join(',')] : []),
    staged(main),
    ...job.args,
  ];
}

/**
 * The environment of a client-mode job: a minimal base (no Oasis secrets leak into jobs), what
 * spark-submit needs to find Java and Python, and, for Shell jobs, the params.
 */
export function clientEnvironment(job: JobSpec, settings: SparkClusterSettings, dir: string): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH || '/usr/local/bin:/usr/bin:/bin',
    HOME: dir,
    LANG: process.env.LANG || 'C.UTF-8',
  };
  if (process.env.JAVA_HOME) env.JAVA_HOME = process.env.JAVA_HOME;
  if (job.jobType === 'Shell') {
    for (const [name, value] of Object.entries(job.params)) env[name] = String(value);
    return env;
  }
  if (settings.sparkHome) env.SPARK_HOME = settings.sparkHome;
  env.PYSPARK_PYTHON = settings.python;
  env.PYSPARK_DRIVER_PYTHON = settings.python;
  return env;
}
