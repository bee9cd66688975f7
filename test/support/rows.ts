import { randomUUID } from 'node:crypto';
import { LOCAL_CLUSTER_ID } from '../../src/store/index.js';
import type { JobExecutionRecord, NewRow } from '../../src/store/types.js';

/**
 * A job-execution row as the store takes it, PENDING on the local cluster unless `over` says
 * otherwise; for tests that need executions in given states without running them.
 */
export function executionRow(over: Partial<NewRow<JobExecutionRecord>> & { tenant_id: string }): NewRow<JobExecutionRecord> {
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
