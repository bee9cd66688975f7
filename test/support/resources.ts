import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { ClusterRecord, Store } from '../../src/store/types.js';

/** A fresh project id, so that tests sharing one app never see each other's rows. */
export function newProject(): string {
  return randomBytes(8).toString('hex');
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** A JSON request to `/v1.1/<project><path>`. */
export function call(app: FastifyInstance, project: string, method: Method, path: string, payload?: unknown) {
  return app.inject({
    method,
    url: `/v1.1/${project}${path}`,
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
}

/**
 * A JSON request to Sahara's v2 API: `/v2/<project><path>`, or `/v2<path>` when `project` is null
 * (the project then comes from the credentials in `headers`).
 */
export function callV2(
  app: FastifyInstance,
  project: string | null,
  method: Method,
  path: string,
  payload?: unknown,
  headers: Record<string, string> = {},
) {
  const url = project === null ? `/v2${path}` : `/v2/${project}${path}`;
  return app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
}

/** Asserts a Sahara error: the status, its name, and exactly the three-key body. Returns the message. */
export function assertError(response: LightMyRequestResponse, status: number, name: string | number): string {
  assert.equal(response.statusCode, status, response.body);
  const body = response.json() as Record<string, unknown>;
  assert.deepEqual(Object.keys(body).sort(), ['error_code', 'error_message', 'error_name']);
  assert.equal(body.error_code, status);
  assert.equal(body.error_name, name);
  assert.equal(typeof body.error_message, 'string');
  return body.error_message as string;
}

/** Asserts a success status and returns the parsed body. */
export function ok<T = Record<string, any>>(response: LightMyRequestResponse, status: number): T {
  assert.equal(response.statusCode, status, response.body);
  return response.json() as T;
}

export async function uploadJbi(
  app: FastifyInstance,
  project: string,
  name: string,
  data: string | Buffer = 'echo hi',
) {
  const response = await app.inject({
    method: 'PUT',
    url: `/v1.1/${project}/job-binary-internals/${name}`,
    payload: data,
    headers: { 'content-type': 'application/octet-stream' },
  });
  return ok(response, 202).job_binary_internal as Record<string, any>;
}

/** An internal-db job binary over a fresh JBI. */
export async function createBinary(
  app: FastifyInstance,
  project: string,
  name: string,
  extra: Record<string, unknown> = {},
) {
  const jbi = await uploadJbi(app, project, `${name}.data`);
  const response = await call(app, project, 'POST', '/job-binaries', {
    name,
    url: `internal-db://${jbi.id}`,
    ...extra,
  });
  return ok(response, 202).job_binary as Record<string, any>;
}

export async function createTemplate(app: FastifyInstance, project: string, body: Record<string, unknown>) {
  return ok(await call(app, project, 'POST', '/jobs', body), 202).job as Record<string, any>;
}

/** A Shell template whose main prints and exits 0. */
export async function createShellTemplate(app: FastifyInstance, project: string, name: string) {
  const main = await createBinary(app, project, `${name}.sh`);
  return createTemplate(app, project, { name, type: 'Shell', mains: [main.id] });
}

export async function createDataSource(app: FastifyInstance, project: string, body: Record<string, unknown>) {
  return ok(await call(app, project, 'POST', '/data-sources', body), 202).data_source as Record<string, any>;
}

/**
 * A cluster whose engine the test app does not run, so executions on it stay PENDING for as long
 * as a test needs (no engine claims them).
 */
export async function createIdleCluster(store: Store, project: string): Promise<ClusterRecord> {
  return store.clusters.insert({
    id: randomUUID(),
    tenant_id: project,
    is_public: false,
    is_protected: false,
    name: `idle-${randomUUID().slice(0, 8)}`,
    description: '',
    plugin_name: 'spark',
    hadoop_version: '3.5',
    engine: 'spark',
    status: 'Active',
    status_description: '',
    cluster_configs: {},
  });
}
