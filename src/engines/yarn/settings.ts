import path from 'node:path';

import type { EngineCluster } from '../engine.js';
import { ClusterSettingsInvalid } from '../errors.js';

/**
 * The connection settings of a registered Hadoop (YARN + HDFS) cluster, read from
 * `cluster_configs.yarn` (Sahara's cluster body, plugin_name `vanilla`, hadoop_version = the
 * cluster's Hadoop version, e.g. `3.5.0`):
 *
 * - `resourcemanager` (required): the ResourceManager's web address, `http://host:8088`. Status,
 *   cancel (kill) and re-adoption by tag go through its REST API (`/ws/v1/cluster/...`).
 * - `namenode` (required): the HDFS NameNode, `hdfs://host:port` (port 8020 by default). It is
 *   the submissions' `fs.defaultFS`, so data sources and binaries without a host
 *   (`/user/x/input`) live on it.
 * - `resourcemanager_address` (optional): the ResourceManager's RPC address jobs are submitted
 *   to, `host:port`; defaults to port 8032 on the `resourcemanager` host.
 * - `jobhistory` (optional): the MapReduce JobHistoryServer's web address, `http://host:19888`.
 *   When given, a failed job's `info.diagnostics` also carries the error of its failed task
 *   (the exception a mapper, reducer or Java main class threw), not only YARN's summary.
 * - `hadoop_conf_dir` (optional): an absolute directory on the Oasis host holding the cluster's
 *   client configuration (a HADOOP_CONF_DIR: its core-, hdfs-, mapred- and yarn-site.xml are
 *   loaded by every submission). Needed when the cluster's
 *   containers need settings the client must pass on, e.g. `yarn.application.classpath`.
 * - `properties` (optional): Hadoop properties (`{"name": value}`) applied to every submission,
 *   after `hadoop_conf_dir` and before the job's own configs.
 * - `hadoop_classpath` (optional): the Hadoop client classpath on the Oasis host (what
 *   `hadoop classpath` prints); defaults to the one Oasis is configured with, else to the
 *   output of `hadoop classpath`. A JDK (java, javac, jar) must be on the Oasis host too: the
 *   submission client is compiled against this classpath on first use.
 * - `user` (optional): the Hadoop user jobs are submitted as (HADOOP_USER_NAME, simple
 *   authentication); defaults to the user Oasis runs as.
 */
export interface YarnClusterSettings {
  resourceManagerUrl: string;
  nameNode: string;
  nameNodeHost: string;
  nameNodePort: number;
  resourceManagerAddress: string;
  jobHistoryUrl: string | undefined;
  hadoopConfDir: string | undefined;
  properties: Readonly<Record<string, string>>;
  hadoopClasspath: string | undefined;
  user: string | undefined;
}

const SECTION = 'yarn';
const KNOWN = new Set([
  'resourcemanager',
  'namenode',
  'resourcemanager_address',
  'jobhistory',
  'hadoop_conf_dir',
  'properties',
  'hadoop_classpath',
  'user',
]);
const VERSION = /^\d+(\.\d+){0,3}$/;
const DEFAULT_NAMENODE_PORT = 8020;
const DEFAULT_RM_RPC_PORT = 8032;
const HOST_PORT = /^[A-Za-z0-9.\-_]+:\d{1,5}$|^\[[0-9A-Fa-f:.]+\]:\d{1,5}$/;

type Problems = string[];
type ClusterSettings = Pick<EngineCluster, 'hadoop_version' | 'cluster_configs'>;

function httpUrl(value: unknown, key: string, problems: Problems): string | undefined {
  try {
    if (typeof value !== 'string') throw new Error();
    const url = new URL(value);
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) throw new Error();
    if (url.search || url.hash || url.pathname.replace(/\/+$/, '')) throw new Error();
    return `${url.protocol}//${url.host}`;
  } catch {
    problems.push(`cluster_configs.yarn.${key} must be an http(s)://host:port URL, not ${JSON.stringify(value)}`);
    return undefined;
  }
}

function nameNodeUrl(value: unknown, problems: Problems): URL | undefined {
  try {
    if (typeof value !== 'string') throw new Error();
    const url = new URL(value);
    const clean = !url.pathname.replace(/\/+$/, '') && !url.search && !url.hash && !url.username;
    if (url.protocol !== 'hdfs:' || !url.hostname || !clean) throw new Error();
    return url;
  } catch {
    problems.push(`cluster_configs.yarn.namenode must be an hdfs://host:port URL, not ${JSON.stringify(value)}`);
    return undefined;
  }
}

function optionalString(value: unknown, key: string, problems: Problems): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '' || value.includes('\0')) {
    problems.push(`cluster_configs.yarn.${key} must be a non-empty string`);
    return undefined;
  }
  return value;
}

function propertiesOf(value: unknown, problems: Problems): Record<string, string> {
  if (value === undefined) return {};
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    problems.push('cluster_configs.yarn.properties must be an object of Hadoop properties');
    return {};
  }
  const properties: Record<string, string> = {};
  for (const [name, raw] of Object.entries(value)) {
    if (typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean') {
      properties[name] = String(raw);
    } else {
      problems.push(`cluster_configs.yarn.properties.${name} must be a string, number or boolean`);
    }
  }
  return properties;
}

/** Every problem of a registration's settings at once, or the parsed settings. */
function parse(cluster: ClusterSettings): { settings?: YarnClusterSettings; problems: Problems } {
  const problems: Problems = [];
  if (!VERSION.test(cluster.hadoop_version ?? '')) {
    problems.push(`hadoop_version must be the cluster's Hadoop version (e.g. 3.5.0)`);
  }
  const section = cluster.cluster_configs?.[SECTION];
  if (!section || typeof section !== 'object' || Array.isArray(section)) {
    problems.push('cluster_configs.yarn with resourcemanager and namenode is required');
    return { problems };
  }
  for (const key of Object.keys(section)) {
    if (!KNOWN.has(key)) problems.push(`cluster_configs.yarn.${key} is not a known setting`);
  }
  const resourceManagerUrl = httpUrl(section.resourcemanager, 'resourcemanager', problems);
  const nameNode = nameNodeUrl(section.namenode, problems);
  const rmAddress = optionalString(section.resourcemanager_address, 'resourcemanager_address', problems);
  if (rmAddress !== undefined && !HOST_PORT.test(rmAddress)) {
    problems.push(`cluster_configs.yarn.resourcemanager_address must be host:port, not ${JSON.stringify(rmAddress)}`);
  }
  const jobHistoryUrl =
    section.jobhistory === undefined ? undefined : httpUrl(section.jobhistory, 'jobhistory', problems);
  const hadoopConfDir = optionalString(section.hadoop_conf_dir, 'hadoop_conf_dir', problems);
  if (hadoopConfDir !== undefined && !path.isAbsolute(hadoopConfDir)) {
    problems.push('cluster_configs.yarn.hadoop_conf_dir must be an absolute path');
  }
  const properties = propertiesOf(section.properties, problems);
  const hadoopClasspath = optionalString(section.hadoop_classpath, 'hadoop_classpath', problems);
  const user = optionalString(section.user, 'user', problems);
  if (problems.length > 0 || !resourceManagerUrl || !nameNode) return { problems };

  const nameNodePort = nameNode.port ? Number(nameNode.port) : DEFAULT_NAMENODE_PORT;
  const rmHost = new URL(resourceManagerUrl).host.replace(/:\d+$/, '');
  return {
    problems,
    settings: Object.freeze({
      resourceManagerUrl,
      nameNode: `hdfs://${nameNode.hostname}:${nameNodePort}`,
      nameNodeHost: nameNode.hostname.replace(/^\[|\]$/g, ''),
      nameNodePort,
      resourceManagerAddress: rmAddress ?? `${rmHost}:${DEFAULT_RM_RPC_PORT}`,
      jobHistoryUrl,
      hadoopConfDir: hadoopConfDir && path.normalize(hadoopConfDir),
      properties: Object.freeze(properties),
      hadoopClasspath,
      user,
    }),
  };
}

/** Registration-time check: throws ClusterSettingsInvalid naming every bad setting. */
export function validateYarnCluster(cluster: ClusterSettings): void {
  const { problems } = parse(cluster);
  if (problems.length > 0) throw new ClusterSettingsInvalid(problems.join('; '));
}

/** The settings of a stored (already validated) cluster. */
export function yarnSettingsOf(cluster: ClusterSettings): YarnClusterSettings {
  const { settings, problems } = parse(cluster);
  if (!settings) throw new ClusterSettingsInvalid(problems.join('; '));
  return settings;
}
