import { randomUUID } from 'node:crypto';
import { LOCAL_CLUSTER_ID } from '../../src/store/index.js';
import type { ClusterRecord, JobExecutionRecord, NewRow, Store } from '../../src/store/types.js';
import { UNREACHABLE_SPARK, UNREACHABLE_YARN } from './engines.js';

/**
 * A job-execution row as the store takes it, PENDING on the local cluster unless `over` says
 * otherwise; for tests that need executions in given states without running them.
 */
export function executionRow(
  over: Partial<NewRow<JobExecutionRecord>> & { tenant_id: string },
): NewRow<JobExecutionRecord> {
  const status = over.status ?? 'PENDING';
  return {
    id: randomUUID(),
    is_public: false,
    is_protected: false,
    job_id: randomUUID(),
    cluster_id: LOCAL_CLUSTER_ID,
    input_id: null,
    output_id: null,
    status,
    info: { status },
    engine_job_id: null,
    return_code: null,
    job_configs: { job_execution_info: {} },
    extra: {},
    data_source_urls: null,
    start_time: null,
    end_time: null,
    lease_owner: null,
    lease_expires_at: null,
    cancel_requested: false,
    delete_requested: false,
    ...over,
  };
}

/**
 * Registers a cluster directly in the store, bypassing the registration check: by default a
 * Hadoop (`vanilla`, engine `yarn`) cluster whose ResourceManager and NameNode are at an address
 * where nothing listens, so the real YARN engine validates jobs on it but can never start them.
 */
export async function insertCluster(store: Store, fields: Partial<ClusterRecord> = {}): Promise<ClusterRecord> {
  return store.clusters.insert({
    id: randomUUID(),
    tenant_id: 'tenant-a',
    is_public: false,
    is_protected: false,
    name: `cluster-${randomUUID().slice(0, 8)}`,
    description: '',
    plugin_name: 'vanilla',
    hadoop_version: '3.5.0',
    engine: 'yarn',
    status: 'Active',
    status_description: '',
    cluster_configs: { yarn: { ...UNREACHABLE_YARN } },
    ...fields,
  });
}

/** A Spark standalone cluster whose master is at an address where nothing listens. */
export function insertSparkCluster(store: Store, fields: Partial<ClusterRecord> = {}): Promise<ClusterRecord> {
  return insertCluster(store, {
    plugin_name: 'spark',
    hadoop_version: '3.5.9',
    engine: 'spark',
    cluster_configs: { spark: { ...UNREACHABLE_SPARK } },
    ...fields,
  });
}

/**
 * Inserts an execution row directly, for list and state tests that need given statuses: a
 * SUCCEEDED execution of project `tenant-a` unless `fields` say otherwise.
 */
export async function insertExecution(
  store: Store,
  fields: Partial<NewRow<JobExecutionRecord>> & { job_id: string },
): Promise<JobExecutionRecord> {
  return store.jobExecutions.insert(executionRow({ tenant_id: 'tenant-a', status: 'SUCCEEDED', ...fields }));
}
