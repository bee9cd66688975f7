import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type { Engine, EngineJobRef, EngineStatus, JobFile, JobSpec } from '../../../src/engines/engine.js';
import { createYarnEngine } from '../../../src/engines/yarn/index.js';
import { run } from '../../../src/engines/yarn/submit-client.js';
import { isTerminal } from '../../../src/store/statuses.js';
import type { ClusterRecord, JobType } from '../../../src/store/types.js';

/** The test cluster started by scripts/hadoop.sh (`hadoop_start`). */
export interface HadoopTestCluster {
  rmUrl: string;
  nameNode: string;
  jobHistoryUrl: string;
  confDir: string;
  classpath: string;
}

/**
 * The running test cluster, or undefined (the tests skip) when scripts/hadoop.sh was not
 * sourced. Under CI a missing cluster fails loudly: the YARN engine must be tested for real.
 */
export async function hadoopCluster(): Promise<HadoopTestCluster | undefined> {
  const { HADOOP_RM_URL, HADOOP_NAMENODE, HADOOP_JOBHISTORY_URL, HADOOP_CONF_DIR, HADOOP_CLASSPATH_FILE } = process.env;
  if (!HADOOP_RM_URL || !HADOOP_NAMENODE || !HADOOP_CONF_DIR || !HADOOP_CLASSPATH_FILE || !HADOOP_JOBHISTORY_URL) {
    if (process.env.CI)
      throw new Error('CI is set but no Hadoop test cluster is: source scripts/hadoop.sh and run hadoop_start');
    return undefined;
  }
  return {
    rmUrl: HADOOP_RM_URL,
    nameNode: HADOOP_NAMENODE,
    jobHistoryUrl: HADOOP_JOBHISTORY_URL,
    confDir: HADOOP_CONF_DIR,
    classpath: (await readFile(HADOOP_CLASSPATH_FILE, 'utf8')).trim(),
  };
}

export function clusterRecord(hadoop: HadoopTestCluster, yarn: Record<string, unknown> = {}): ClusterRecord {
  const now = new Date().toISOString();
  return {
    id: randomUUID(),
    tenant_id: 'tenant',
    name: 'hadoop-test',
    description: '',
    plugin_name: 'vanilla',
    hadoop_version: '3.5.0',
    engine: 'yarn',
    status: 'Active',
    status_description: '',
    cluster_configs: {
      yarn: {
        resourcemanager: hadoop.rmUrl,
        namenode: hadoop.nameNode,
        jobhistory: hadoop.jobHistoryUrl,
        hadoop_conf_dir: hadoop.confDir,
        ...yarn,
      },
    },
    is_public: false,
    is_protected: false,
    created_at: now,
    updated_at: now,
  };
}

let sharedWorkDir: Promise<string> | undefined;

/**
 * A YARN engine on the test cluster. Engines share one work directory unless told otherwise,
 * so the submission launcher is compiled once per test file.
 */
export async function newEngine(hadoop: HadoopTestCluster, workDir?: string): Promise<Engine> {
  sharedWorkDir ??= mkdtemp(path.join(os.tmpdir(), 'oasis-yarn-'));
  return createYarnEngine({
    workDir: workDir ?? (await sharedWorkDir),
    nodeId: 'test-node',
    hadoopClasspath: hadoop.classpath,
  });
}

export function fileOf(name: string, data: Buffer): JobFile {
  return { name, url: `internal-db://${randomUUID()}`, read: async () => data };
}

export function jobSpec(type: JobType, fields: Partial<JobSpec> = {}): JobSpec {
  return {
    executionId: randomUUID(),
    jobType: type,
    templateName: `oasis-test-${type}`,
    mains: [],
    libs: [],
    configs: {},
    params: {},
    args: [],
    inputUrl: null,
    outputUrl: null,
    ...fields,
  };
}

/** A fresh HDFS directory name for one test. */
export function hdfsPath(hadoop: HadoopTestCluster, name: string): string {
  return `${hadoop.nameNode}/oasis-tests/${randomUUID()}/${name}`;
}

/** The NameNode's WebHDFS endpoint, from the client configuration the cluster wrote. */
async function webHdfs(hadoop: HadoopTestCluster): Promise<string> {
  const xml = await readFile(path.join(hadoop.confDir, 'core-site.xml'), 'utf8');
  const address = /<name>dfs\.namenode\.http-address<\/name><value>([^<]+)<\/value>/.exec(xml)?.[1];
  if (!address) throw new Error('dfs.namenode.http-address is not in the test cluster configuration');
  return `http://${loopback(address)}/webhdfs/v1`;
}

/** The mini cluster names itself `localhost`, which Node may resolve to ::1 where it does not listen. */
function loopback(address: string): string {
  return address.replace(/\blocalhost\b/, '127.0.0.1');
}

function hdfsPathOf(url: string): string {
  return new URL(url).pathname;
}

export async function hdfsPut(hadoop: HadoopTestCluster, target: string, content: string): Promise<void> {
  const url = `${await webHdfs(hadoop)}${hdfsPathOf(target)}?op=CREATE&overwrite=true&user.name=oasis`;
  // The NameNode redirects the write to a DataNode (parent directories are created on the way).
  const redirect = await fetch(url, { method: 'PUT', redirect: 'manual' });
  const location = redirect.headers.get('location');
  if (redirect.status !== 307 || !location) throw new Error(`WebHDFS CREATE ${target} answered ${redirect.status}`);
  // node:http, not fetch: the DataNode answers with an unsolicited `100 Continue` fetch rejects.
  const status = await new Promise<number>((resolve, reject) => {
    const request = httpRequest(loopback(location), { method: 'PUT' }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('error', reject);
    request.end(content);
  });
  if (status !== 201) throw new Error(`WebHDFS write of ${target} answered ${status}`);
}

/** The content of an HDFS file, or of the files of a directory whose names start with `prefix`. */
export async function hdfsCat(hadoop: HadoopTestCluster, source: string, prefix?: string): Promise<string> {
  const base = await webHdfs(hadoop);
  const read = async (file: string) => {
    const response = await fetch(`${base}${file}?op=OPEN&user.name=oasis`);
    if (!response.ok) throw new Error(`WebHDFS OPEN ${file} answered ${response.status}`);
    return response.text();
  };
  const dir = hdfsPathOf(source);
  if (prefix === undefined) return read(dir);
  const listing = (await (await fetch(`${base}${dir}?op=LISTSTATUS&user.name=oasis`)).json()) as {
    FileStatuses: { FileStatus: { pathSuffix: string }[] };
  };
  const names = listing.FileStatuses.FileStatus.map((status) => status.pathSuffix)
    .filter((name) => name.startsWith(prefix))
    .sort();
  return (await Promise.all(names.map((name) => read(`${dir}/${name}`)))).join('');
}

let fixtureJar: Promise<Buffer> | undefined;

/** test/fixtures/yarn/*.java compiled against the Hadoop client, as a jar (built once). */
export function fixturesJar(hadoop: HadoopTestCluster): Promise<Buffer> {
  fixtureJar ??= (async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'oasis-yarn-fixtures-'));
    const sources = path.resolve(import.meta.dirname, '../../fixtures/yarn');
    const files = ['WordCount.java', 'HdfsWriter.java'].map((name) => path.join(sources, name));
    const javac = await run('javac', ['-nowarn', '-d', path.join(dir, 'classes'), '-cp', hadoop.classpath, ...files], {
      timeoutMs: 120_000,
    });
    if (javac.code !== 0) throw new Error(`compiling the YARN fixtures failed: ${javac.stderr}`);
    const jar = path.join(dir, 'oasis-fixtures.jar');
    const packed = await run('jar', ['cf', jar, '-C', path.join(dir, 'classes'), '.'], { timeoutMs: 60_000 });
    if (packed.code !== 0) throw new Error(`packing the YARN fixtures failed: ${packed.stderr}`);
    return readFile(jar);
  })();
  return fixtureJar;
}

/**
 * A Java job running the HdfsWriter fixture: writes `action`'s text to `target` on HDFS, or, for
 * `sleep:<ms>` and `fail`, sleeps or throws.
 */
export async function hdfsWriterJob(hadoop: HadoopTestCluster, target: string, action: string): Promise<JobSpec> {
  return jobSpec('Java', {
    libs: [fileOf('writer.jar', await fixturesJar(hadoop))],
    configs: { 'edp.java.main_class': 'oasis.fixtures.HdfsWriter' },
    args: [target, action],
  });
}

export function refOf(executionId: string, engineJobId: string): EngineJobRef {
  return { executionId, engineJobId, extra: {} };
}

/** Polls the engine until the job ends (or the generous deadline passes). */
export async function waitForEnd(
  engine: Engine,
  ref: EngineJobRef,
  cluster: ClusterRecord,
  timeoutMs = 240_000,
): Promise<EngineStatus> {
  return waitForStatus(engine, ref, cluster, (status) => isTerminal(status.status), timeoutMs);
}

export async function waitForStatus(
  engine: Engine,
  ref: EngineJobRef,
  cluster: ClusterRecord,
  done: (status: EngineStatus) => boolean,
  timeoutMs = 240_000,
): Promise<EngineStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: EngineStatus | undefined;
  while (Date.now() < deadline) {
    last = await engine.status(ref, cluster);
    if (done(last)) return last;
    await sleep(500);
  }
  throw new Error(`job ${ref.engineJobId} did not reach the expected status in time; last: ${JSON.stringify(last)}`);
}

/** The RM's own report of an application, read directly (not through the engine). */
export async function yarnApplication(
  hadoop: HadoopTestCluster,
  applicationId: string,
): Promise<{ state: string; finalStatus: string; applicationTags: string }> {
  const response = await fetch(`${hadoop.rmUrl}/ws/v1/cluster/apps/${applicationId}`);
  const body = (await response.json()) as { app: { state: string; finalStatus: string; applicationTags: string } };
  return body.app;
}
