import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { LOCAL_CLUSTER_ID } from '../../src/store/index.js';
import { isTerminal } from '../../src/store/statuses.js';
import { call, createTemplate, ok, uploadJbi } from '../support/resources.js';
import { eventually } from '../support/eventually.js';

export { eventually };

const ROOT = path.resolve(import.meta.dirname, '../..');

/** How many times a job ran: each run appends one line to its marker file. */
export async function runsOf(marker: string): Promise<number> {
  try {
    return (await readFile(marker, 'utf8')).split('\n').filter(Boolean).length;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
}

/**
 * A Shell job that records each run in `$MARKER`, then runs `body`. The marker lives outside the
 * execution's working directory, so a second start of the same execution is always counted.
 */
export const markedScript = (body: string): string => `echo "$$" >> "$MARKER"\n${body}\n`;

/** A Shell template over a fresh internal binary holding `script`, through the in-process app. */
export async function shellTemplate(app: FastifyInstance, project: string, name: string, script: string) {
  const jbi = await uploadJbi(app, project, `${name}.sh`, script);
  const binary = ok(
    await call(app, project, 'POST', '/job-binaries', { name: `${name}.sh`, url: `internal-db://${jbi.id}` }),
    202,
  ).job_binary as Record<string, any>;
  return createTemplate(app, project, { name, type: 'Shell', mains: [binary.id] });
}

/** Executes a template on the built-in local cluster; returns the execution's id. */
export async function executeLocal(
  app: FastifyInstance,
  project: string,
  templateId: string,
  jobConfigs: Record<string, unknown> = {},
): Promise<string> {
  const response = await call(app, project, 'POST', `/jobs/${templateId}/execute`, {
    cluster_id: LOCAL_CLUSTER_ID,
    job_configs: jobConfigs,
  });
  return (ok(response, 202).job_execution as { id: string }).id;
}

/** Waits for a terminal status through the API and returns the rendered execution. */
export async function terminalExecution(app: FastifyInstance, project: string, id: string, timeoutMs = 60_000) {
  return eventually(
    async () => {
      const response = await call(app, project, 'GET', `/job-executions/${id}`);
      const execution = ok(response, 200).job_execution as Record<string, any>;
      return isTerminal(execution.info.status) ? execution : undefined;
    },
    `execution ${id} to end`,
    timeoutMs,
  );
}

/** A JSON request against a real Oasis process. */
export async function http(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: any; text: string }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body:
      body === undefined
        ? undefined
        : typeof body === 'string'
          ? body
          : Buffer.isBuffer(body)
            ? new Uint8Array(body)
            : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await response.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text };
}

/**
 * Asserts Sahara's error body: exactly the three keys, error_code equal to the HTTP status. A v2
 * microversion refusal (400 BAD_REQUEST, 406 NOT_ACCEPTABLE) also carries the supported bounds.
 */
export function assertSaharaError(status: number, body: unknown, context: string): void {
  assert.ok(
    body && typeof body === 'object' && !Array.isArray(body),
    `${context}: not a JSON object: ${JSON.stringify(body)}`,
  );
  const record = body as Record<string, unknown>;
  const keys = ['error_code', 'error_message', 'error_name'];
  if ('max_version' in record && (record.error_name === 'BAD_REQUEST' || record.error_name === 'NOT_ACCEPTABLE')) {
    keys.push('max_version', 'min_version');
    assert.deepEqual([record.max_version, record.min_version], ['2.0', '2.0'], context);
  }
  assert.deepEqual(Object.keys(record).sort(), keys.sort(), `${context}: ${JSON.stringify(body)}`);
  assert.equal(record.error_code, status, context);
  assert.ok(typeof record.error_name === 'string' || typeof record.error_name === 'number', context);
  assert.equal(typeof record.error_message, 'string', context);
}

/**
 * A PostgreSQL server of the test's own on `port` (scripts/postgres.sh's helpers), so that
 * stopping or freezing it never touches the suite's shared one. `init` starts it afresh with
 * durable commits (postgres.sh turns them off for speed) and returns its URL.
 */
export function privatePostgres(port: string) {
  const run = async (script: string): Promise<string> => {
    const { stdout } = await promisify(execFile)(
      'bash',
      ['-c', `set -euo pipefail; source scripts/postgres.sh; ${script}`],
      {
        cwd: ROOT,
        env: { ...process.env, OASIS_TEST_PG_PORT: port },
      },
    );
    return stdout.trim();
  };
  const start = `_postgres_run "$(_postgres_bin_dir)/pg_ctl" -D "$(_postgres_base)/data" -l "$(_postgres_base)/server.log" -w -t 60 \
    -o "-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=$(_postgres_base) -c max_connections=100" start >/dev/null`;
  const stop = `_postgres_run "$(_postgres_bin_dir)/pg_ctl" -D "$(_postgres_base)/data" -m fast -w stop >/dev/null`;
  return {
    init: () => run(`postgres_start && ${stop} && ${start} && echo "$POSTGRES_URL"`),
    remove: () => run('postgres_stop'),
  };
}
