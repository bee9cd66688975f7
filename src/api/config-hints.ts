import { ApiError, echo } from '../errors.js';
import { JOB_TYPES, type JobType } from '../store/types.js';

/** One advisory configuration entry, as Sahara lists them in hints. */
export interface ConfigHint {
  name: string;
  value: string;
  description: string;
}

export interface JobConfigHints {
  job_config: {
    configs: ConfigHint[];
    params?: Record<string, never>;
    args?: never[];
  };
}

/** The MapReduce settings a job most often overrides, with Hadoop's defaults. */
const MAPRED_DEFAULTS: readonly ConfigHint[] = [
  { name: 'mapreduce.job.maps', value: '2', description: 'The default number of map tasks per job.' },
  { name: 'mapreduce.job.reduces', value: '1', description: 'The default number of reduce tasks per job.' },
  {
    name: 'mapreduce.map.memory.mb',
    value: '1024',
    description: 'The amount of memory to request from the scheduler for each map task.',
  },
  {
    name: 'mapreduce.reduce.memory.mb',
    value: '1024',
    description: 'The amount of memory to request from the scheduler for each reduce task.',
  },
  { name: 'mapreduce.map.java.opts', value: '-Xmx200m', description: 'Java options for the map task JVMs.' },
  { name: 'mapreduce.reduce.java.opts', value: '-Xmx200m', description: 'Java options for the reduce task JVMs.' },
  {
    name: 'mapreduce.task.io.sort.mb',
    value: '100',
    description: 'The total amount of buffer memory to use while sorting files, in megabytes.',
  },
  { name: 'mapreduce.job.queuename', value: 'default', description: 'Queue to which the job is submitted.' },
  {
    name: 'mapreduce.output.fileoutputformat.compress',
    value: 'false',
    description: 'Whether the job outputs are compressed.',
  },
];

/** The settings that name a MapReduce job's classes (Sahara's mapred job configs). */
const MAPRED_JOB_CONFIGS: readonly ConfigHint[] = [
  { name: 'mapred.mapper.new-api', value: 'true', description: 'Whether the mapper uses the new MapReduce API.' },
  { name: 'mapred.reducer.new-api', value: 'true', description: 'Whether the reducer uses the new MapReduce API.' },
  { name: 'mapreduce.job.map.class', value: '', description: 'The mapper class of the job.' },
  { name: 'mapreduce.job.reduce.class', value: '', description: 'The reducer class of the job.' },
  { name: 'mapreduce.job.output.key.class', value: '', description: 'The key class of the job output.' },
  { name: 'mapreduce.job.output.value.class', value: '', description: 'The value class of the job output.' },
];

const STREAMING_CONFIGS: readonly ConfigHint[] = [
  { name: 'edp.streaming.mapper', value: '', description: 'The command run as the streaming mapper.' },
  { name: 'edp.streaming.reducer', value: '', description: 'The command run as the streaming reducer.' },
];

const HIVE_DEFAULTS: readonly ConfigHint[] = [
  { name: 'hive.exec.reducers.max', value: '1009', description: 'Maximum number of reducers a Hive query uses.' },
  {
    name: 'hive.exec.parallel',
    value: 'false',
    description: 'Whether to execute independent jobs of a query in parallel.',
  },
  {
    name: 'hive.exec.compress.output',
    value: 'false',
    description: 'Whether the final output of a query is compressed.',
  },
  { name: 'hive.execution.engine', value: 'mr', description: 'The engine that runs Hive queries.' },
];

/** Sahara's hints per job type (docs/compatibility.md#config-hints); `configs` is a list here, unlike job_configs. */
function hintsFor(type: JobType): JobConfigHints['job_config'] {
  switch (type) {
    case 'Java':
    case 'Spark':
    case 'Storm':
    case 'Storm.Pyleus':
      return { configs: [], args: [] };
    case 'Shell':
      return { configs: [], params: {}, args: [] };
    case 'MapReduce':
      return { configs: [...MAPRED_DEFAULTS, ...MAPRED_JOB_CONFIGS] };
    case 'MapReduce.Streaming':
      return { configs: [...MAPRED_DEFAULTS, ...STREAMING_CONFIGS] };
    case 'Pig':
      return { configs: [...MAPRED_DEFAULTS], params: {}, args: [] };
    case 'Hive':
      return { configs: [...HIVE_DEFAULTS], params: {} };
  }
}

export function isJobType(value: string): value is JobType {
  return (JOB_TYPES as readonly string[]).includes(value);
}

/** `{"job_config": …}` for a job type; an unknown type is 404 as in Sahara. */
export function configHints(type: string): JobConfigHints {
  if (!isJobType(type)) throw new ApiError('NOT_FOUND', `Object with {'job_type': ${echo(type)}} not found`);
  return { job_config: hintsFor(type) };
}
