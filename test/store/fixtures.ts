import { randomUUID } from 'node:crypto';
import type {
  ClusterRecord,
  DataSourceRecord,
  JobBinaryRecord,
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

export const newDataSource = (
  tenant: string,
  over: Partial<NewRow<DataSourceRecord>> = {},
): NewRow<DataSourceRecord> => ({
  ...owned(tenant),
  name: `source-${randomUUID()}`,
  description: '',
  type: 'hdfs',
  url: 'hdfs://namenode/path',
  credentials: {},
  ...over,
});

export const newTemplate = (
  tenant: string,
  over: Partial<NewRow<JobTemplateRecord>> = {},
): NewRow<JobTemplateRecord> => ({
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
