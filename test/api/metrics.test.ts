import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import pg from 'pg';

import { LOCAL_CLUSTER_ID } from '../../src/store/index.js';
import { openTestStore, testDialects, type TestDatabase } from '../support/databases.js';
import { eventually } from '../support/eventually.js';
import { newProject } from '../support/resources.js';
import { startOasis, type OasisProcess } from '../support/server.js';
import { assertSaharaError, http } from '../reliability/support.js';

const TOKEN = 'metrics-operator-token-0123456789';

type Labels = Record<string, string>;

/** Every sample of the Prometheus text format: name, labels and value. */
function samples(text: string): { name: string; labels: Labels; value: number }[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      assert.ok(match, `not a sample line: ${line}`);
      const labels: Labels = {};
      for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
}

/** The value of the sample with exactly these labels among its own, or 0 when there is none yet. */
function valueOf(text: string, name: string, labels: Labels = {}): number {
  const found = samples(text).find(
    (sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
  return found?.value ?? 0;
}

async function scrape(url: string, token = TOKEN): Promise<string> {
  const response = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200);
  assert.match(String(response.headers.get('content-type')), /^text\/plain; version=0\.0\.4/);
  return response.text();
}

/** Runs a Shell script on the local cluster over HTTP and waits for its terminal status. */
async function runShell(url: string, project: string, script: string): Promise<string> {
  const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    http(url, method, `/v1.1/${project}${path}`, body, headers);
  const name = `m${Math.random().toString(36).slice(2, 10)}.sh`;
  const jbi = await api('PUT', `/job-binary-internals/${name}`, Buffer.from(script), {
    'content-type': 'application/octet-stream',
  });
  assert.equal(jbi.status, 202, jbi.text);
  const binary = await api('POST', '/job-binaries', { name, url: `internal-db://${jbi.json.job_binary_internal.id}` });
  const template = await api('POST', '/jobs', { name: `t-${name}`, type: 'Shell', mains: [binary.json.job_binary.id] });
  const executed = await api('POST', `/jobs/${template.json.job.id}/execute`, { cluster_id: LOCAL_CLUSTER_ID });
  assert.equal(executed.status, 202, executed.text);
  const id = executed.json.job_execution.id as string;
  return eventually(async () => {
    const { json } = await api('GET', `/job-executions/${id}`);
    const status = json.job_execution.info.status as string;
    return ['SUCCEEDED', 'DONEWITHERROR', 'FAILED', 'KILLED'].includes(status) ? status : undefined;
  }, `execution ${id} to end`);
}

for (const dialect of testDialects()) {
  describe(`/metrics, /healthz and /readyz on a real Oasis (${dialect})`, () => {
    let oasis: OasisProcess;
    let database: TestDatabase | undefined;

    before(async () => {
      const env: Record<string, string> = {
        OASIS_METRICS_TOKEN: TOKEN,
        OASIS_POLL_INTERVAL: '200ms',
        OASIS_DATABASE_TIMEOUT: '2s',
      };
      if (dialect === 'postgres') {
        database = await openTestStore('postgres');
        await database.store.close();
        env.OASIS_DATABASE_URL = database.url!;
      }
      oasis = await startOasis({ env });
    });
    after(async () => {
      await oasis?.stop();
      await database?.drop();
    });

    test('after jobs run, the execution counters and histograms and the HTTP histograms have moved', async () => {
      const project = newProject();
      const before = await scrape(oasis.url);
      assert.equal(await runShell(oasis.url, project, 'echo fine\n'), 'SUCCEEDED');
      assert.equal(await runShell(oasis.url, project, 'exit 3\n'), 'DONEWITHERROR');

      const local = (status: string) => ({ engine: 'local', status });
      const moved = (text: string, name: string, labels: Labels) =>
        valueOf(text, name, labels) - valueOf(before, name, labels);
      const afterJobs = await eventually(async () => {
        const text = await scrape(oasis.url);
        return moved(text, 'oasis_job_execution_seconds_count', local('DONEWITHERROR')) === 1 ? text : undefined;
      }, 'the job metrics to count both jobs');
      assert.equal(moved(afterJobs, 'oasis_job_executions_total', local('PENDING')), 2);
      assert.equal(moved(afterJobs, 'oasis_job_executions_total', local('RUNNING')), 2);
      assert.equal(moved(afterJobs, 'oasis_job_executions_total', local('SUCCEEDED')), 1);
      assert.equal(moved(afterJobs, 'oasis_job_executions_total', local('DONEWITHERROR')), 1);
      assert.equal(moved(afterJobs, 'oasis_job_submit_seconds_count', { engine: 'local' }), 2);
      assert.equal(moved(afterJobs, 'oasis_job_execution_seconds_count', local('SUCCEEDED')), 1);
      assert.ok(valueOf(afterJobs, 'oasis_job_execution_seconds_bucket', { ...local('SUCCEEDED'), le: '+Inf' }) >= 1);

      const shows = { method: 'GET', route: '/v1.1/:project_id/job-executions/:id', status: '200' };
      assert.ok(moved(afterJobs, 'oasis_http_request_duration_seconds_count', shows) >= 2);
      assert.ok(moved(afterJobs, 'oasis_http_request_duration_seconds_bucket', { ...shows, le: '+Inf' }) >= 2);
      assert.ok(
        moved(afterJobs, 'oasis_http_request_duration_seconds_count', {
          method: 'POST',
          route: '/v1.1/:project_id/jobs/:id/execute',
          status: '202',
        }) === 2,
      );
      // Routes are patterns: no project id, execution id or other raw URL ever becomes a label.
      assert.ok(!afterJobs.includes(project), 'a raw URL reached the metrics');
      const unknown = await http(oasis.url, 'GET', `/no/such/${project}`);
      assert.equal(unknown.status, 404);
      const withUnmatched = await scrape(oasis.url);
      assert.ok(
        valueOf(withUnmatched, 'oasis_http_request_duration_seconds_count', { route: 'unmatched', status: '404' }) >= 1,
      );
      assert.ok(!withUnmatched.includes(project));

      if (dialect === 'postgres') {
        assert.ok(valueOf(afterJobs, 'oasis_database_pool_connections', { state: 'total' }) >= 1);
        assert.ok(
          samples(afterJobs).some(
            (sample) => sample.name === 'oasis_database_pool_connections' && sample.labels.state === 'waiting',
          ),
        );
      } else {
        assert.ok(valueOf(afterJobs, 'oasis_database_size_bytes') > 0);
      }
      assert.equal(
        samples(afterJobs).filter((sample) => sample.name === 'oasis_job_sandbox_info' && sample.value === 1).length,
        1,
      );
      assert.ok(samples(afterJobs).some((sample) => sample.name === 'oasis_job_sandbox_running_jobs'));
    });

    test('/metrics asks for the operator token; /healthz and /readyz answer everyone', async () => {
      for (const headers of [
        {},
        { authorization: 'Bearer wrong-token-wrong-token-0000' },
        { authorization: TOKEN },
      ] as Record<string, string>[]) {
        const refused = await http(oasis.url, 'GET', '/metrics', undefined, headers);
        assert.equal(refused.status, 401);
        assertSaharaError(401, refused.json, JSON.stringify(headers));
      }
      const healthz = await http(oasis.url, 'GET', '/healthz');
      assert.equal(healthz.status, 200);
      assert.deepEqual(healthz.json, { status: 'alive' });
      const readyz = await http(oasis.url, 'GET', '/readyz');
      assert.equal(readyz.status, 200);
      assert.deepEqual(readyz.json, { status: 'ready', database: dialect });
    });

    test(
      "/readyz answers 503 with Sahara's body once the database is gone; /healthz stays 200",
      { skip: dialect !== 'postgres' && 'a PostgreSQL database can be taken away' },
      async () => {
        const admin = new pg.Client({ connectionString: process.env.OASIS_TEST_DATABASE_URL });
        await admin.connect();
        try {
          await admin.query(`DROP DATABASE ${new URL(database!.url!).pathname.slice(1)} WITH (FORCE)`);
        } finally {
          await admin.end();
        }
        const readyz = await eventually(async () => {
          const response = await http(oasis.url, 'GET', '/readyz');
          return response.status === 200 ? undefined : response;
        }, '/readyz to notice');
        assert.equal(readyz.status, 503);
        assertSaharaError(503, readyz.json, '/readyz');
        assert.equal(readyz.json.error_name, 'SERVICE_UNAVAILABLE');
        assert.equal((await http(oasis.url, 'GET', '/healthz')).status, 200);
      },
    );
  });
}

describe('/metrics without an operator token', () => {
  let oasis: OasisProcess;
  before(async () => {
    oasis = await startOasis({ tokens: { 'member-token': { project_id: 'p1' } } });
  });
  after(() => oasis?.stop());

  test("is refused under token auth, even to a project's token, since it spans every project", async () => {
    for (const headers of [{}, { 'x-auth-token': 'member-token' }, { authorization: 'Bearer member-token' }] as Record<
      string,
      string
    >[]) {
      const refused = await http(oasis.url, 'GET', '/metrics', undefined, headers);
      assert.equal(refused.status, 401, JSON.stringify(headers));
      assertSaharaError(401, refused.json, JSON.stringify(headers));
    }
    assert.equal((await http(oasis.url, 'GET', '/healthz')).status, 200);
  });
});
