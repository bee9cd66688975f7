import { randomUUID } from 'node:crypto';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { LOCAL_CLUSTER_ID } from '../../src/store/index.js';
import { eventually } from './eventually.js';

/** A project's view of the API, through `app.inject`: creates resources and waits on executions. */
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
    let last: Record<string, any> | undefined;
    try {
      return await eventually(
        async () => {
          last = await this.execution(id);
          return done(last) ? last : undefined;
        },
        `execution ${id} to reach the expected state`,
        timeoutMs,
      );
    } catch {
      return assert.fail(`execution ${id} did not reach the expected state: ${JSON.stringify(last)}`);
    }
  }

  waitForStatus(id: string, status: string, timeoutMs?: number) {
    return this.waitFor(id, (execution) => execution.info.status === status, timeoutMs);
  }
}
