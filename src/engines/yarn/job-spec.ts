import type { ConfigValue, JobType } from '../../store/types.js';
import type { JobSpec } from '../engine.js';
import { InvalidJob } from '../errors.js';
import type { YarnClusterSettings } from './settings.js';

export const YARN_JOB_TYPES: readonly JobType[] = ['MapReduce', 'MapReduce.Streaming', 'Java'];
const NOT_YET: ReadonlySet<string> = new Set(['Pig', 'Hive']);

/** How the submission launcher runs a job type (see java/OasisYarnSubmit.java). */
export type LaunchKind = 'mapreduce' | 'streaming' | 'java';

const KIND_OF: Partial<Record<JobType, LaunchKind>> = {
  MapReduce: 'mapreduce',
  'MapReduce.Streaming': 'streaming',
  Java: 'java',
};

const MAIN_CLASS = 'edp.java.main_class';
const STREAMING_MAPPER = 'edp.streaming.mapper';
const STREAMING_REDUCER = 'edp.streaming.reducer';

/** The tag every submission carries, so its YARN application can be found again by execution. */
export function tagOf(executionId: string): string {
  return `oasis-${executionId}`.toLowerCase();
}

export function launchKindOf(jobType: JobType): LaunchKind {
  const kind = KIND_OF[jobType];
  if (!kind) throw new InvalidJob(`${jobType} jobs cannot run on a YARN cluster`);
  return kind;
}

function text(value: ConfigValue | undefined): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : String(value);
}

/** hdfs:// with a host, or a bare path on the cluster's NameNode (Sahara's hdfs URL rules). */
function isHdfsUrl(url: string): boolean {
  if (url.startsWith('/')) return true;
  return /^hdfs:\/\/[^/]+/.test(url);
}

/** Execute-time checks of a job on a YARN cluster; throws InvalidJob. */
export function validateYarnJob(job: JobSpec): void {
  if (NOT_YET.has(job.jobType)) {
    throw new InvalidJob(`${job.jobType} jobs are not supported on YARN clusters yet`);
  }
  const kind = launchKindOf(job.jobType);
  for (const file of [...job.mains, ...job.libs]) {
    if (!file.url.startsWith('internal-db://') && !file.url.startsWith('hdfs://')) {
      throw new InvalidJob(
        `Job binary ${file.name}: only internal-db:// and hdfs:// binaries run on YARN clusters, not ${file.url}`,
      );
    }
  }
  for (const [role, url] of [
    ['input', job.inputUrl],
    ['output', job.outputUrl],
  ] as const) {
    if (url !== null && !isHdfsUrl(url)) {
      throw new InvalidJob(`The ${role} data source ${url} is not on HDFS: YARN jobs read and write hdfs data sources`);
    }
  }
  if (kind === 'java' && text(job.configs[MAIN_CLASS]).trim() === '') {
    throw new InvalidJob(`Java job must specify ${MAIN_CLASS}`);
  }
  if (kind === 'streaming') {
    if (text(job.configs[STREAMING_MAPPER]).trim() === '' || text(job.configs[STREAMING_REDUCER]).trim() === '') {
      throw new InvalidJob(`MapReduce.Streaming job must specify ${STREAMING_MAPPER} and ${STREAMING_REDUCER}`);
    }
    if (job.inputUrl === null || job.outputUrl === null) {
      throw new InvalidJob('MapReduce.Streaming job needs an input and an output data source');
    }
  }
}

/**
 * The Hadoop properties of one submission, lowest precedence first: the cluster's settings,
 * the job's configs (every key but Sahara's `edp.*` ones, as Oozie passes them), then what
 * Oasis must control (the tag; input and output as Sahara sets them for MapReduce).
 */
export function hadoopPropertiesOf(job: JobSpec, settings: YarnClusterSettings): Record<string, string> {
  const properties: Record<string, string> = {
    'fs.defaultFS': settings.nameNode,
    'mapreduce.framework.name': 'yarn',
    'yarn.resourcemanager.address': settings.resourceManagerAddress,
    // Fail a submission in seconds, not after the client's default 15 minutes of retries.
    'yarn.resourcemanager.connect.max-wait.ms': '30000',
    'yarn.resourcemanager.connect.retry-interval.ms': '2000',
    'mapreduce.job.name': job.templateName,
    ...settings.properties,
  };
  for (const [name, value] of Object.entries(job.configs)) {
    if (!name.startsWith('edp.')) properties[name] = text(value);
  }
  const userTags = (properties['mapreduce.job.tags'] ?? '')
    .split(',')
    .map((tag) => tag.trim())
    .filter(Boolean);
  properties['mapreduce.job.tags'] = [...userTags, tagOf(job.executionId)].join(',');

  const kind = launchKindOf(job.jobType);
  properties['oasis.submit.kind'] = kind;
  if (kind === 'mapreduce') {
    if (job.inputUrl !== null) properties['mapred.input.dir'] = job.inputUrl;
    if (job.outputUrl !== null) properties['mapred.output.dir'] = job.outputUrl;
  } else if (kind === 'streaming') {
    properties['oasis.streaming.input'] = job.inputUrl ?? '';
    properties['oasis.streaming.output'] = job.outputUrl ?? '';
    properties['oasis.streaming.mapper'] = text(job.configs[STREAMING_MAPPER]);
    properties['oasis.streaming.reducer'] = text(job.configs[STREAMING_REDUCER]);
  } else {
    // The user's program runs once, as Oozie's launcher does: its failure is the job's failure.
    if (job.configs['mapreduce.map.maxattempts'] === undefined) properties['mapreduce.map.maxattempts'] = '1';
    properties['oasis.java.main-class'] = text(job.configs[MAIN_CLASS]).trim();
    properties['oasis.java.arg-count'] = String(job.args.length);
    job.args.forEach((arg, index) => {
      properties[`oasis.java.arg.${index}`] = arg;
    });
  }
  return properties;
}

/** A Hadoop configuration file (`<configuration><property>…`) holding the given properties. */
export function configurationXml(properties: Record<string, string>): string {
  const lines = Object.entries(properties).map(
    ([name, value]) => `  <property><name>${escapeXml(name)}</name><value>${escapeXml(value)}</value></property>`,
  );
  return `<?xml version="1.0" encoding="UTF-8"?>\n<configuration>\n${lines.join('\n')}\n</configuration>\n`;
}

function escapeXml(value: string): string {
  // XML 1.0 cannot carry most control characters at all; Hadoop would refuse the file.
  const printable = value.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');
  return printable
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/\r/g, '&#13;')
    .replace(/\n/g, '&#10;')
    .replace(/\t/g, '&#9;');
}
