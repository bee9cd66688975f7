import { randomUUID } from 'node:crypto';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { LOCAL_CLUSTER_ID } from '../../src/store/index.js';
import { executionRow } from '../support/rows.js';
import { UNREACHABLE_SPARK, UNREACHABLE_YARN } from '../support/engines.js';
import type { ClusterRecord, JobExecutionRecord, Store } from '../../src/store/types.js';
import { eventually as poll } from '../support/eventually.js';

export { LOCAL_CLUSTER_ID };

/** Shared set-up for execution tests: objects created through the real API. */
export class Client {
  constructor(
    readonly app: FastifyInstance,
    readonly project = 'tenant-a',
  ) {}

  async request(method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', path: string, payload?: unknown) {
    const response = await this.app.inject({
      method,
      url: `/v1.1/${this.project}${path}`,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
    const json = response.body ? (JSON.parse(response.body) as Record<string, any>) : {};
    return { status: response.statusCode, json };
  }

  /** Uploads bytes as an internal binary and wraps them in a job binary; returns its id. */
  async binary(name: string, content: string | Buffer): Promise<string> {
    const upload = await this.app.inject({
      method: 'PUT',
      url: `/v1.1/${this.project}/job-binary-internals/${name}`,
      payload: content,
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(upload.statusCode, 202, upload.body);
    const internal = upload.json().job_binary_internal;
    const created = await this.request('POST', '/job-binaries', { name, url: `internal-db://${internal.id}` });
    assert.equal(created.status, 202, JSON.stringify(created.json));
    return created.json.job_binary.id;
  }

  async template(body: Record<string, unknown>): Promise<string> {
    const created = await this.request('POST', '/jobs', { name: `t-${randomUUID().slice(0, 8)}`, ...body });
    assert.equal(created.status, 202, JSON.stringify(created.json));
    return created.json.job.id;
  }

  /** A Shell template whose main script is `script`. */
  async shellTemplate(script: string, extra: Record<string, unknown> = {}): Promise<string> {
    const main = await this.binary(`s-${randomUUID().slice(0, 8)}.sh`, script);
    return this.template({ type: 'Shell', mains: [main], ...extra });
  }

  async dataSource(body: Record<string, unknown> = {}): Promise<string> {
    const created = await this.request('POST', '/data-sources', {
      name: `ds-${randomUUID().slice(0, 8)}`,
      type: 'hdfs',
      url: `hdfs://namenode/data/${randomUUID()}`,
      ...body,
    });
    assert.equal(created.status, 202, JSON.stringify(created.json));
    return created.json.data_source.id;
  }

  execute(templateId: string, body: Record<string, unknown>) {
    return this.request('POST', `/jobs/${templateId}/execute`, body);
  }

  /** Executes on the local cluster and returns the new execution's id. */
  async run(templateId: string, body: Record<string, unknown> = {}): Promise<string> {
    const response = await this.execute(templateId, { cluster_id: LOCAL_CLUSTER_ID, ...body });
    assert.equal(response.status, 202, JSON.stringify(response.json));
    return response.json.job_execution.id;
  }

  async execution(id: string): Promise<Record<string, any>> {
    const response = await this.request('GET', `/job-executions/${id}`);
    assert.equal(response.status, 200, JSON.stringify(response.json));
    return response.json.job_execution;
  }

  /** Polls the execution until `done` holds, with a generous deadline. */
  async waitFor(id: string, done: (execution: Record<string, any>) => boolean, timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const execution = await this.execution(id);
      if (done(execution)) return execution;
      if (Date.now() > deadline) assert.fail(`execution ${id} did not reach the expected state: ${JSON.stringify(execution)}`);
      await sleep(50);
    }
  }

  waitForStatus(id: string, status: string, timeoutMs?: number) {
    return this.waitFor(id, (execution) => execution.info.status === status, timeoutMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true. */
export async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs?: number): Promise<void> {
  await poll(async () => ((await check()) ? true : undefined), what, timeoutMs);
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
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

/** Inserts an execution row directly, for list and state tests that need given statuses. */
export async function insertExecution(store: Store, fields: Partial<JobExecutionRecord> & { job_id: string }) {
  return store.jobExecutions.insert(executionRow({ tenant_id: 'tenant-a', status: 'SUCCEEDED', ...fields }));
}
