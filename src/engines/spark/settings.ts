import path from 'node:path';

import type { EngineCluster } from '../engine.js';
import { ClusterSettingsInvalid } from '../errors.js';

/**
 * The connection settings of a registered Spark standalone cluster, read from
 * `cluster_configs.spark` (Sahara's cluster body, plugin_name `spark`, hadoop_version = the
 * cluster's Spark version, e.g. `3.5.9`):
 *
 * - `master` (required): the master's URL, `spark://host:port` (port 7077 by default). Drivers
 *   and Python applications are pointed at it.
 * - `rest_url` (required): the master's REST submission server, `http://host:port` (6066 by
 *   default; the master must run with `spark.master.rest.enabled=true`). JVM applications are
 *   submitted, polled and killed through it, in cluster deploy mode.
 * - `web_url` (optional): the master's web UI, `http://host:port`; defaults to port 8080 on the
 *   master's host. Its `/json` tells whether the cluster answers, where drivers run and which
 *   applications are active.
 * - `shared_dir` (optional): an absolute directory that the Oasis host and every worker see at
 *   the same path (an NFS mount, say). Application jars are staged in
 *   `<shared_dir>/<execution id>/` and handed to Spark as `file:` URLs, so the worker that runs
 *   the driver can fetch them. Without it, the Spark engine's own work directory is used, which
 *   only fits when the workers run on the Oasis host. Jobs that read and write `file://` data
 *   sources need such a shared directory too.
 * - `spark_home` (optional): a Spark installation on the Oasis host whose `bin/spark-submit`
 *   runs Python drivers in client mode (Spark standalone cannot run them in cluster mode).
 *   Defaults to the engine's `sparkHome` (Oasis's SPARK_HOME); without either, Python jobs are
 *   refused at execute.
 * - `python` (optional): the Python executable of Python drivers and executors
 *   (PYSPARK_PYTHON); defaults to `python3`.
 */
export interface SparkClusterSettings {
  master: string;
  restUrl: string;
  webUrl: string;
  sharedDir: string | undefined;
  sparkHome: string | undefined;
  python: string;
}

const SECTION = 'spark';
const KNOWN = new Set(['master', 'rest_url', 'web_url', 'shared_dir', 'spark_home', 'python']);
const VERSION = /^\d+(\.\d+){0,3}$/;
const DEFAULT_WEB_PORT = 8080;

type Problems = string[];
type ClusterSettings = Pick<EngineCluster, 'hadoop_version' | 'cluster_configs'>;

function httpUrl(value: unknown, key: string, problems: Problems): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') {
    problems.push(`cluster_configs.spark.${key} must be an http(s) URL`);
    return undefined;
  }
  try {
    const url = new URL(value);
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) throw new Error();
    if (url.search || url.hash) throw new Error();
    return value.replace(/\/+$/, '');
  } catch {
    problems.push(`cluster_configs.spark.${key} '${value}' is not an http(s)://host:port URL`);
    return undefined;
  }
}

function masterUrl(value: unknown, problems: Problems): URL | undefined {
  const message = `cluster_configs.spark.master must be a spark://host:port URL`;
  if (typeof value !== 'string') {
    problems.push(message);
    return undefined;
  }
  try {
    const url = new URL(value);
    const clean = !url.pathname.replace(/\/+$/, '') && !url.search && !url.hash && !url.username;
    if (url.protocol !== 'spark:' || !url.hostname || !clean) throw new Error();
    return url;
  } catch {
    problems.push(`${message}, not '${value}'`);
    return undefined;
  }
}

function absolutePath(value: unknown, key: string, problems: Problems): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !path.isAbsolute(value) || value.includes('\0')) {
    problems.push(`cluster_configs.spark.${key} must be an absolute path`);
    return undefined;
  }
  return path.normalize(value);
}

/** Every problem of a registration's settings at once, or the parsed settings. */
function parse(cluster: ClusterSettings): { settings?: SparkClusterSettings; problems: Problems } {
  const problems: Problems = [];
  if (!VERSION.test(cluster.hadoop_version ?? '')) {
    problems.push(`hadoop_version must be the cluster's Spark version (e.g. 3.5.9)`);
  }
  const section = cluster.cluster_configs?.[SECTION];
  if (!section || typeof section !== 'object' || Array.isArray(section)) {
    problems.push('cluster_configs.spark with master and rest_url is required');
    return { problems };
  }
  for (const key of Object.keys(section)) {
    if (!KNOWN.has(key)) problems.push(`cluster_configs.spark.${key} is not a known setting`);
  }
  const master = masterUrl(section.master, problems);
  const restUrl = httpUrl(section.rest_url, 'rest_url', problems);
  const webUrl =
    section.web_url === undefined
      ? master && `http://${master.hostname}:${DEFAULT_WEB_PORT}`
      : httpUrl(section.web_url, 'web_url', problems);
  const sharedDir = absolutePath(section.shared_dir, 'shared_dir', problems);
  const sparkHome = absolutePath(section.spark_home, 'spark_home', problems);
  const python = section.python ?? 'python3';
  if (typeof python !== 'string' || python.trim() === '' || python.includes('\0')) {
    problems.push('cluster_configs.spark.python must be an executable name or path');
  }
  if (problems.length > 0 || !master || !restUrl || !webUrl) return { problems };
  const port = master.port || '7077';
  return {
    problems,
    settings: Object.freeze({
      master: `spark://${master.hostname}:${port}`,
      restUrl,
      webUrl,
      sharedDir,
      sparkHome,
      python: python as string,
    }),
  };
}

/** Registration check: throws ClusterSettingsInvalid naming every bad setting. */
export function validateSparkCluster(cluster: ClusterSettings): void {
  const { problems } = parse(cluster);
  if (problems.length > 0) throw new ClusterSettingsInvalid(problems.join('; '));
}

/** The settings of a stored cluster (validated at registration, so a failure is a bug). */
export function sparkSettingsOf(cluster: EngineCluster): SparkClusterSettings {
  const { settings, problems } = parse(cluster);
  if (!settings) {
    throw new ClusterSettingsInvalid(`cluster ${cluster.name}: ${problems.join('; ')}`);
  }
  return settings;
}
