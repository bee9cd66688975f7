import { createConnection } from 'node:net';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { errorMessage } from '../../errors.js';
import { isTerminal } from '../../store/statuses.js';
import type { JobType } from '../../store/types.js';
import {
  JobStartError,
  TransientEngineError,
  type Engine,
  type EngineCluster,
  type EngineJobRef,
  type EngineStatus,
  type JobSpec,
  type Submission,
  type EngineLogger,
  type LogChunk,
  type LogRead,
  type LogTarget,
} from '../engine.js';
import { ClusterSettingsInvalid } from '../errors.js';
import { failedTaskDiagnostics } from './job-history.js';
import { readYarnLogs } from './logs.js';
import { YARN_JOB_TYPES, configurationXml, hadoopPropertiesOf, tagOf, validateYarnJob } from './job-spec.js';
import { ResourceManagerClient, UnknownApplicationError, type YarnApplication } from './resource-manager.js';
import { validateYarnCluster, yarnSettingsOf, type YarnClusterSettings } from './settings.js';
import { engineStatusOf } from './states.js';
import { HADOOP_JAVA_OPENS, LauncherBuilder, failureOf, run } from './submit-client.js';

export type YarnEngineLogger = EngineLogger;

export interface YarnEngineSettings {
  workDir: string;
  nodeId: string;
  /** Resolves the Hadoop client classpath of a cluster that names none (lazily, once). */
  defaultClasspath: () => Promise<string>;
  javaBin: (tool: string) => string;
  logger: YarnEngineLogger | undefined;
}

const SUBMIT_TIMEOUT_MS = 5 * 60_000;
const KILL_SETTLE_MS = 15_000;
const NAMENODE_TIMEOUT_MS = 5_000;
const APPLICATION_ID = /^OASIS_APPLICATION_ID=(application_\d+_\d+)$/m;

/**
 * Runs MapReduce, MapReduce.Streaming and Java jobs on a registered YARN cluster. Submission
 * goes through a small Java launcher (java/OasisYarnSubmit.java) on the Hadoop client
 * classpath, which returns as soon as the ResourceManager has accepted the application; from
 * then on the job is followed through the RM's REST API only, by application id, so any
 * engine instance (after an Oasis restart, on another node) can track and cancel it.
 */
export class YarnEngine implements Engine {
  readonly kind = 'yarn' as const;
  private readonly launchers: LauncherBuilder;

  constructor(private readonly settings: YarnEngineSettings) {
    this.launchers = new LauncherBuilder(path.join(settings.workDir, 'launcher'), settings.javaBin);
  }

  supportedJobTypes(): readonly JobType[] {
    return YARN_JOB_TYPES;
  }

  validate(job: JobSpec): void {
    validateYarnJob(job);
  }

  validateCluster(cluster: Pick<EngineCluster, 'hadoop_version' | 'cluster_configs'>): void {
    validateYarnCluster(cluster);
  }

  async submit(job: JobSpec, cluster: EngineCluster): Promise<Submission> {
    const settings = this.clusterSettings(cluster);
    try {
      validateYarnJob(job);
    } catch (error) {
      throw new JobStartError(errorMessage(error), { cause: error });
    }
    const resourceManager = new ResourceManagerClient(settings.resourceManagerUrl);
    // An earlier attempt (by an Oasis that stopped before recording it) may have submitted it.
    const [earlier] = await resourceManager.applicationsTagged(tagOf(job.executionId));
    if (earlier) {
      this.settings.logger?.info(
        { executionId: job.executionId, applicationId: earlier.id },
        'yarn application re-adopted by tag',
      );
      return this.submissionOf(earlier);
    }

    const dir = path.join(this.settings.workDir, 'executions', job.executionId);
    await removeDir(dir);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const jars = await this.stageBinaries(job, dir);
    const properties = hadoopPropertiesOf(job, settings);
    properties['oasis.submit.jars'] = jars.join(',');
    properties['oasis.submit.local-dir'] = dir;
    const jobXml = path.join(dir, 'job.xml');
    await writeFile(jobXml, configurationXml(properties));

    const applicationId = await this.launch(jobXml, dir, settings, job.executionId);
    this.settings.logger?.info({ executionId: job.executionId, applicationId }, 'yarn application submitted');
    const app = await resourceManager.application(applicationId).catch((error: unknown) => {
      if (error instanceof TransientEngineError || error instanceof UnknownApplicationError) return undefined;
      throw error;
    });
    return app
      ? this.submissionOf(app)
      : {
          engineJobId: applicationId,
          status: { status: 'RUNNING', info: { yarn_application_id: applicationId } },
          extra: {},
        };
  }

  async status(ref: EngineJobRef, cluster: EngineCluster): Promise<EngineStatus> {
    const settings = this.clusterSettings(cluster);
    const resourceManager = new ResourceManagerClient(settings.resourceManagerUrl);
    let app: YarnApplication;
    try {
      app = await resourceManager.application(ref.engineJobId);
    } catch (error) {
      if (!(error instanceof UnknownApplicationError)) throw error;
      return {
        status: 'FAILED',
        info: {
          yarn_application_id: ref.engineJobId,
          reason: `${error.message} (it was forgotten or the RM lost its state)`,
        },
      };
    }
    return this.statusOf(app, settings);
  }

  async cancel(ref: EngineJobRef, cluster: EngineCluster): Promise<EngineStatus | undefined> {
    const settings = this.clusterSettings(cluster);
    const resourceManager = new ResourceManagerClient(settings.resourceManagerUrl);
    const current = await this.status(ref, cluster);
    if (isTerminal(current.status)) return current;
    await resourceManager.kill(ref.engineJobId);
    this.settings.logger?.info(
      { executionId: ref.executionId, applicationId: ref.engineJobId },
      'yarn application kill requested',
    );
    const deadline = Date.now() + KILL_SETTLE_MS;
    while (Date.now() < deadline) {
      const after = await this.status(ref, cluster);
      if (isTerminal(after.status)) return after;
      await sleep(250);
    }
    return undefined;
  }

  async cleanup(ref: EngineJobRef): Promise<void> {
    await removeDir(path.join(this.settings.workDir, 'executions', ref.executionId));
  }

  async checkCluster(cluster: EngineCluster): Promise<{ status: 'Active' | 'Error'; description: string }> {
    let settings: YarnClusterSettings;
    try {
      settings = yarnSettingsOf(cluster);
    } catch (error) {
      return { status: 'Error', description: errorMessage(error) };
    }
    try {
      const info = await new ResourceManagerClient(settings.resourceManagerUrl).clusterInfo();
      if (info.state !== 'STARTED') {
        return { status: 'Error', description: `ResourceManager ${settings.resourceManagerUrl} is ${info.state}` };
      }
      await probeTcp(settings.nameNodeHost, settings.nameNodePort);
      const version = info.hadoopVersion ? ` (Hadoop ${info.hadoopVersion})` : '';
      return {
        status: 'Active',
        description: `ResourceManager ${settings.resourceManagerUrl} started${version}; NameNode ${settings.nameNode} answers`,
      };
    } catch (error) {
      return { status: 'Error', description: errorMessage(error) };
    }
  }

  async close(): Promise<void> {
    // Nothing to stop: applications run on YARN and are followed by id through the RM.
  }

  readLogs(target: LogTarget, cluster: EngineCluster, read: LogRead): Promise<LogChunk> {
    return readYarnLogs(this.settings.workDir, this.clusterSettings(cluster), target, read);
  }

  private clusterSettings(cluster: EngineCluster): YarnClusterSettings {
    try {
      return yarnSettingsOf(cluster);
    } catch (error) {
      if (error instanceof ClusterSettingsInvalid)
        throw new JobStartError(`Cluster ${cluster.name}: ${error.message}`, { cause: error });
      throw error;
    }
  }

  private async statusOf(app: YarnApplication, settings: YarnClusterSettings): Promise<EngineStatus> {
    const status = engineStatusOf(app);
    if (status.status !== 'FAILED' || !settings.jobHistoryUrl) return status;
    const detail = await failedTaskDiagnostics(settings.jobHistoryUrl, app.id).catch(() => undefined);
    return detail ? engineStatusOf(app, detail) : status;
  }

  private submissionOf(app: YarnApplication): Submission {
    return { engineJobId: app.id, status: engineStatusOf(app), extra: {} };
  }

  /** internal-db:// binaries are written into the execution's directory; hdfs:// stay remote. */
  private async stageBinaries(job: JobSpec, dir: string): Promise<string[]> {
    const staged: string[] = [];
    for (const [index, file] of [...job.mains, ...job.libs].entries()) {
      if (file.url.startsWith('hdfs://')) {
        staged.push(file.url);
        continue;
      }
      const safeName = path.basename(file.name).replace(/[^A-Za-z0-9._-]/g, '_') || 'binary';
      const target = path.join(dir, `${index}-${safeName}`);
      await writeFile(target, await file.read());
      staged.push(target);
    }
    return staged;
  }

  private async launch(
    jobXml: string,
    dir: string,
    settings: YarnClusterSettings,
    executionId: string,
  ): Promise<string> {
    let classpath: string;
    let jar: string;
    try {
      classpath = settings.hadoopClasspath ?? (await this.settings.defaultClasspath());
      jar = await this.launchers.jarFor(classpath);
    } catch (error) {
      throw new JobStartError(`Cannot prepare the Hadoop client: ${errorMessage(error)}`, { cause: error });
    }
    const env: NodeJS.ProcessEnv = { ...process.env };
    if (settings.user) env.HADOOP_USER_NAME = settings.user;
    const args = [
      '-Xmx256m',
      '-XX:TieredStopAtLevel=1',
      ...HADOOP_JAVA_OPENS,
      `-Djava.io.tmpdir=${dir}`,
      '-cp',
      `${jar}:${classpath}`,
      'oasis.yarn.OasisYarnSubmit',
      jobXml,
      ...(settings.hadoopConfDir ? [settings.hadoopConfDir] : []),
    ];
    const result = await run(this.settings.javaBin('java'), args, {
      env,
      cwd: dir,
      timeoutMs: SUBMIT_TIMEOUT_MS,
    }).catch((error: unknown) => {
      throw new JobStartError(`Cannot run the Hadoop client: ${errorMessage(error)}`, { cause: error });
    });
    await writeFile(path.join(dir, 'submit.log'), `${result.stdout}\n${result.stderr}`).catch(() => undefined);
    const found = APPLICATION_ID.exec(result.stdout);
    if (result.code === 0 && found?.[1]) return found[1];

    const reason = failureOf(result.stderr);
    this.settings.logger?.warn({ executionId, code: result.code, reason }, 'yarn submission failed');
    if (/ConnectException|Connection refused|NoRouteToHost|UnknownHost|SocketTimeout/.test(reason)) {
      throw new TransientEngineError(`The cluster could not be reached to submit the job: ${reason}`);
    }
    throw new JobStartError(`YARN refused the job: ${reason}`);
  }
}

async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Whether something listens at host:port (the NameNode's RPC port). */
function probeTcp(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port, timeout: NAMENODE_TIMEOUT_MS });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error(`NameNode ${host}:${port} does not answer (timed out)`));
    });
    socket.once('error', (error) => reject(new Error(`NameNode ${host}:${port} does not answer: ${error.message}`)));
  });
}
