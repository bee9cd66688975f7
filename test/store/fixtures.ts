import { randomUUID } from 'node:crypto';
import { LOCAL_CLUSTER_ID } from '../../src/store/index.js';
import type {
  ClusterRecord,
  DataSourceRecord,
  JobBinaryRecord,
  JobExecutionRecord,
  JobTemplateRecord,
  NewRow,
} from '../../src/store/types.js';

/** New rows with sensible defaults; tests override what they look at. */

const owned = (tenant_id: string) => ({ id: randomUUID(), tenant_id, is_public: false, is_protected: false });

export const newBinary = (tenant: string, over: Partial<NewRow<JobBinaryRecord>> = {}): NewRow<JobBinaryRecord> => ({
  ...owned(tenant),
  name: `binary-${randomUUID()}`,
  description: '',
  url: 'swift://container/object',
  extra: {},
  ...over,
});

export const newDataSource = (tenant: string, over: Partial<NewRow<DataSourceRecord>> = {}): NewRow<DataSourceRecord> => ({
  ...owned(tenant),
  name: `source-${randomUUID()}`,
  description: '',
  type: 'hdfs',
  url: 'hdfs://namenode/path',
  credentials: {},
  ...over,
});

export const newTemplate = (tenant: string, over: Partial<NewRow<JobTemplateRecord>> = {}): NewRow<JobTemplateRecord> => ({
  ...owned(tenant),
  name: `template-${randomUUID()}`,
  description: '',
  type: 'Shell',
  mains: [],
  libs: [],
  interface: [],
  ...over,
});

export const newCluster = (tenant: string, over: Partial<NewRow<ClusterRecord>> = {}): NewRow<ClusterRecord> => ({
  ...owned(tenant),
  name: `cluster-${randomUUID()}`,
  description: '',
  plugin_name: 'spark',
  hadoop_version: '3.5',
  engine: 'spark',
  status: 'Active',
  status_description: '',
  cluster_configs: { spark: { master: 'spark://host:7077' } },
  ...over,
});

export const newExecution = (
  tenant: string,
  over: Partial<NewRow<JobExecutionRecord>> = {},
): NewRow<JobExecutionRecord> => ({
  ...owned(tenant),
  job_id: randomUUID(),
  cluster_id: LOCAL_CLUSTER_ID,
  input_id: null,
  output_id: null,
  status: 'PENDING',
  info: { status: over.status ?? 'PENDING' },
  engine_job_id: null,
  return_code: null,
  job_configs: { configs: {}, params: {}, args: [] },
  extra: {},
  data_source_urls: null,
  start_time: null,
  end_time: null,
  lease_owner: null,
  lease_expires_at: null,
  cancel_requested: false,
  delete_requested: false,
  ...over,
});
