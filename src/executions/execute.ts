import { randomUUID } from 'node:crypto';
import type { Engines } from '../engines/engine.js';
import { ApiError } from '../errors.js';
import { isVisible } from '../store/visibility.js';
import type {
  ClusterRecord,
  ConfigValue,
  DataSourceRecord,
  JobConfigs,
  JobExecutionRecord,
  JobTemplateRecord,
  JobType,
  NewRow,
  Store,
} from '../store/types.js';
import { checkInterfaceValues, mergeInterface } from './interface-values.js';
import { jobFilesOf, specOf } from './job-spec.js';

/** A validated JE_CREATE body (docs/compatibility.md#request-schemas). */
export interface ExecuteRequest {
  cluster_id: string;
  input_id?: string;
  output_id?: string;
  interface?: Record<string, ConfigValue>;
  job_configs?: JobConfigs;
  /** Accepted and ignored, as in Sahara: a new execution is never public or protected. */
  is_public?: boolean | null;
  is_protected?: boolean | null;
}

const NEEDS_DATA_SOURCES: ReadonlySet<JobType> = new Set(['MapReduce', 'MapReduce.Streaming', 'Pig', 'Hive']);
/**
 * Spark is not here: a Spark job needs a main class only when its main is a JVM application (a
 * `.py` main needs none), which the Spark engine decides in its own validate().
 */
const NEEDS_MAIN_CLASS: ReadonlySet<JobType> = new Set(['Java', 'Storm', 'Storm.Pyleus']);

/**
 * The synchronous part of execute (docs/compatibility.md#execute-and-clusters-that-are-not-ready),
 * after the template lookup and the schema: cluster, engine, interface, per-type checks, data
 * sources, the engine's own checks. Returns the PENDING row to store; the caller stores it (with
 * its idempotency key, when it has one), the launcher starts it.
 */
export async function prepareExecution(
  store: Store,
  engines: Engines,
  tenantId: string,
  template: JobTemplateRecord,
  request: ExecuteRequest,
): Promise<NewRow<JobExecutionRecord>> {
  const cluster = await store.clusters.get(request.cluster_id);
  if (!cluster || !isVisible(cluster, tenantId)) {
    throw new ApiError('INVALID_REFERENCE', `Cluster with id '${request.cluster_id}' doesn't exist`);
  }
  const engine = engines.get(cluster.engine);
  if (!engine || !engine.supportedJobTypes(cluster).includes(template.type)) {
    throw new ApiError(
      'INVALID_REFERENCE',
      `Cluster with id '${cluster.id}' doesn't support job type '${template.type}'`,
    );
  }

  const findDataSource = async (id: string): Promise<DataSourceRecord | undefined> => {
    const found = await store.dataSources.get(id);
    return found && isVisible(found, tenantId) ? found : undefined;
  };
  const requested: JobConfigs = { ...(request.job_configs ?? {}) };
  await checkInterfaceValues(template.interface, request.interface, requested, findDataSource);
  requested.job_execution_info = {};
  const jobConfigs = mergeInterface(template.interface, request.interface, requested);

  const { input, output } = await checkForType(template.type, request, jobConfigs, findDataSource);
  checkNotSameLocation(template.type, input, output);

  const id = randomUUID();
  const files = await jobFilesOf(store, template).catch(() => {
    throw new ApiError('INVALID_REFERENCE', `A job binary of template '${template.name}' no longer exists`);
  });
  engine.validate(specOf(id, template, files, jobConfigs, input, output), cluster);

  return pendingRow(id, tenantId, template, cluster, request, jobConfigs);
}

async function checkForType(
  type: JobType,
  request: ExecuteRequest,
  jobConfigs: JobConfigs,
  findDataSource: (id: string) => Promise<DataSourceRecord | undefined>,
): Promise<{ input: DataSourceRecord | undefined; output: DataSourceRecord | undefined }> {
  if (NEEDS_DATA_SOURCES.has(type) && (request.input_id === undefined || request.output_id === undefined)) {
    throw new ApiError('INVALID_DATA', `${type} job requires 'input_id' and 'output_id'`);
  }
  const configs = jobConfigs.configs ?? {};
  if (
    type === 'MapReduce.Streaming' &&
    (!('edp.streaming.mapper' in configs) || !('edp.streaming.reducer' in configs))
  ) {
    throw new ApiError('INVALID_DATA', 'MapReduce.Streaming job must specify streaming mapper and reducer');
  }
  if (NEEDS_MAIN_CLASS.has(type)) {
    const mainClass = configs['edp.java.main_class'];
    if (typeof mainClass !== 'string' || mainClass === '') {
      throw new ApiError('INVALID_DATA', `${type} job must specify edp.java.main_class`);
    }
  }
  const resolve = async (id: string | undefined) => {
    if (id === undefined) return undefined;
    const found = await findDataSource(id);
    if (!found) throw new ApiError('INVALID_REFERENCE', `DataSource with id '${id}' doesn't exist`);
    return found;
  };
  return { input: await resolve(request.input_id), output: await resolve(request.output_id) };
}

function checkNotSameLocation(type: JobType, input?: DataSourceRecord, output?: DataSourceRecord): void {
  if (!NEEDS_DATA_SOURCES.has(type) || !input || !output) return;
  if (input.type === output.type && input.url === output.url) {
    throw new ApiError(
      'INVALID_DATA',
      `Provided input and output DataSources reference the same location: ${input.url}`,
    );
  }
}

function pendingRow(
  id: string,
  tenantId: string,
  template: JobTemplateRecord,
  cluster: ClusterRecord,
  request: ExecuteRequest,
  jobConfigs: JobConfigs,
): NewRow<JobExecutionRecord> {
  return {
    id,
    tenant_id: tenantId,
    is_public: false,
    is_protected: false,
    job_id: template.id,
    cluster_id: cluster.id,
    input_id: request.input_id ?? null,
    output_id: request.output_id ?? null,
    status: 'PENDING',
    info: { status: 'PENDING' },
    engine_job_id: null,
    return_code: null,
    job_configs: jobConfigs,
    extra: {},
    data_source_urls: null,
    start_time: null,
    end_time: null,
    lease_owner: null,
    lease_expires_at: null,
    cancel_requested: false,
    delete_requested: false,
  };
}
