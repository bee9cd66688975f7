import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOCAL_CLUSTER_ID, openStore } from '../../src/store/index.js';
import type { JobExecutionRecord } from '../../src/store/types.js';
import type { BenchDatabase } from './oasis.js';

export const PROJECT = 'bench';

/** A JSON request to `/v1.1/bench<path>`; throws on an unexpected status. */
export async function request<T = any>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  expected = [200, 202],
): Promise<T> {
  const response = await fetch(`${base}/v1.1/${PROJECT}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!expected.includes(response.status)) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** A Shell job template whose main script is `script`; returns the template id. */
export async function createShellJob(base: string, name: string, script: string): Promise<string> {
  const upload = await fetch(`${base}/v1.1/${PROJECT}/job-binary-internals/${name}.sh`, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: script,
  });
  if (upload.status !== 202) throw new Error(`upload answered ${upload.status}: ${await upload.text()}`);
  const jbi = ((await upload.json()) as { job_binary_internal: { id: string } }).job_binary_internal;
  const binary = await request(base, 'POST', '/job-binaries', { name: `${name}.sh`, url: `internal-db://${jbi.id}` });
  const job = await request(base, 'POST', '/jobs', { name, type: 'Shell', mains: [binary.job_binary.id] });
  return job.job.id as string;
}

export const executeBody = (args: string[] = []) => ({ cluster_id: LOCAL_CLUSTER_ID, job_configs: { args } });

/** POST jobs/{id}/execute; returns the new execution's id. */
export async function execute(base: string, jobId: string, args: string[] = []): Promise<string> {
  const answer = await request(base, 'POST', `/jobs/${jobId}/execute`, executeBody(args));
  return answer.job_execution.id as string;
}

/** Polls `check` every `everyMs` until it returns a value, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 120_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** How many of the project's executions are in each status. */
export async function statusCounts(base: string): Promise<Record<string, number>> {
  const list = await request(base, 'GET', '/job-executions');
  const counts: Record<string, number> = {};
  for (const execution of list.job_executions as { info: { status: string } }[]) {
    counts[execution.info.status] = (counts[execution.info.status] ?? 0) + 1;
  }
  return counts;
}

/**
 * Fills the executions table through the Store API (much faster than HTTP): `count` finished
 * executions of `jobId`, inserted concurrently in batches. Runs beside the live Oasis process,
 * as a second node would.
 */
export async function seedExecutions(database: BenchDatabase, jobId: string, count: number): Promise<void> {
  const store = await openStore({ databaseUrl: database.url, dataDir: database.dataDir });
  const BATCH = 200;
  try {
    const base = Date.now() - count * 1000;
    for (let offset = 0; offset < count; offset += BATCH) {
      const rows: Promise<JobExecutionRecord>[] = [];
      for (let i = offset; i < Math.min(count, offset + BATCH); i += 1) {
        const at = new Date(base + i * 1000).toISOString();
        rows.push(
          store.jobExecutions.insert({
            id: randomUUID(),
            tenant_id: PROJECT,
            is_public: false,
            is_protected: false,
            job_id: jobId,
            cluster_id: LOCAL_CLUSTER_ID,
            input_id: null,
            output_id: null,
            status: 'SUCCEEDED',
            info: { status: 'SUCCEEDED' },
            engine_job_id: `${10_000 + i}@bench`,
            return_code: '0',
            job_configs: { configs: {}, params: {}, args: [String(i)], job_execution_info: {} },
            extra: {},
            data_source_urls: {},
            start_time: at,
            end_time: at,
            lease_owner: null,
            lease_expires_at: null,
            cancel_requested: false,
            delete_requested: false,
          }),
        );
      }
      await Promise.all(rows);
    }
  } finally {
    await store.close();
  }
}
