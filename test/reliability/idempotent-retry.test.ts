import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { LOCAL_CLUSTER_ID } from '../../src/store/index.js';
import { newProject } from '../support/resources.js';
import { exchangeSubdir } from '../support/sandbox.js';
import { startOasis, type OasisProcess } from '../support/server.js';
import { assertSaharaError, eventually, http, markedScript, privatePostgres, runsOf } from './support.js';

/** Its own server: it is frozen and reconfigured. */
const PORT = process.env.OASIS_RETRY_PG_PORT ?? '55489';
const SYNC_REP_OFF = 'alter system reset synchronous_standby_names';

/**
 * The commit of an execute is held and its PostgreSQL backend frozen with SIGSTOP while it
 * commits: Oasis answers 503, yet the execution commits when the backend resumes. The client
 * retries as told, with its Idempotency-Key, and gets the original execution: one row, one run.
 *
 * The commit is held by synchronous replication to a standby that does not exist: the backend
 * has written its commit and waits for the standby's acknowledgement, the one moment a commit can
 * be caught in, and a wait no statement timeout ends. Once its backend is frozen, the standby
 * requirement is lifted, so the commit completes as soon as the backend resumes.
 */
describe(
  'an execute retried after a 503 whose commit went through',
  { skip: !process.env.OASIS_TEST_DATABASE_URL && 'needs PostgreSQL (run through scripts/test.sh)' },
  () => {
    const server = privatePostgres(PORT);
    let oasis: OasisProcess | undefined;
    let admin: pg.Client | undefined;
    let url: string;
    before(async () => {
      url = await server.init();
      admin = new pg.Client({ connectionString: url });
      await admin.connect();
      oasis = await startOasis({
        env: { OASIS_DATABASE_URL: url, OASIS_POLL_INTERVAL: '200ms', OASIS_DATABASE_TIMEOUT: '4s' },
      });
    });
    after(async () => {
      await oasis?.stop();
      await admin?.end();
      await server.remove();
    });

    test('one execution row and one job run', async () => {
      const project = newProject();
      const api = (method: string, route: string, body?: unknown, headers?: Record<string, string>) =>
        http(oasis!.url, method, `/v1.1/${project}${route}`, body, headers);
      const marker = path.join(exchangeSubdir('retry-'), 'runs');
      const upload = await api('PUT', '/job-binary-internals/once.sh', markedScript('echo ran'), {
        'content-type': 'application/octet-stream',
      });
      assert.equal(upload.status, 202, upload.text);
      const binary = await api('POST', '/job-binaries', {
        name: 'once.sh',
        url: `internal-db://${upload.json.job_binary_internal.id}`,
      });
      const template = await api('POST', '/jobs', { name: 'once', type: 'Shell', mains: [binary.json.job_binary.id] });
      assert.equal(template.status, 202, template.text);
      const execute = () =>
        api(
          'POST',
          `/jobs/${template.json.job.id}/execute`,
          { cluster_id: LOCAL_CLUSTER_ID, job_configs: { params: { MARKER: marker } } },
          {
            'idempotency-key': 'execute-once',
          },
        );

      await holdCommits(admin!, url);
      let frozen: number | undefined;
      try {
        const first = execute();
        frozen = await eventually(async () => {
          const { rows } = await admin!.query<{ pid: number }>(
            "select pid from pg_stat_activity where state = 'active' and wait_event = 'SyncRep' and query ~* '^\\s*commit'",
          );
          return rows[0]?.pid;
        }, "the execute's commit to wait");
        process.kill(frozen, 'SIGSTOP');
        await admin!.query(SYNC_REP_OFF);
        await admin!.query('select pg_reload_conf()');
        const answer = await first;
        assert.equal(answer.status, 503, `the frozen commit answered: ${answer.text}`);
        assertSaharaError(503, answer.json, 'frozen commit');
      } finally {
        await admin!.query(SYNC_REP_OFF);
        await admin!.query('select pg_reload_conf()');
        if (frozen !== undefined) process.kill(frozen, 'SIGCONT');
      }

      // The client retries as told, with the same key, until it gets an answer.
      const retried = await eventually(async () => {
        const answer = await execute();
        return answer.status === 503 ? undefined : answer;
      }, 'an answer to the retry');
      assert.equal(retried.status, 202, retried.text);
      const id = retried.json.job_execution.id as string;

      const { rows } = await admin!.query<{ id: string }>('select id from job_executions where tenant_id = $1', [
        project,
      ]);
      assert.deepEqual(
        rows.map((row) => row.id),
        [id],
      );
      const ended = await eventually(async () => {
        const shown = await api('GET', `/job-executions/${id}`);
        const status = shown.json?.job_execution?.info?.status as string | undefined;
        return status && !['PENDING', 'RUNNING'].includes(status) ? status : undefined;
      }, 'the execution to end');
      assert.equal(ended, 'SUCCEEDED');
      assert.equal(await runsOf(marker), 1);
      // A later retry still answers the same execution.
      assert.equal((await execute()).json.job_execution.id, id);
    });
  },
);

/**
 * Makes every commit that wrote something wait for a synchronous standby that never comes (the
 * statement timeout does not end that wait); returns once a probe's commit really waits.
 */
async function holdCommits(admin: pg.Client, url: string): Promise<void> {
  await admin.query('create table if not exists probe (x int)');
  await admin.query("alter system set synchronous_standby_names = 'oasis_no_such_standby'");
  await admin.query('select pg_reload_conf()');
  await eventually(async () => {
    // Not on the admin connection: its commit may wait, and cancelling it releases it.
    const probe = new pg.Client({ connectionString: url });
    await probe.connect();
    try {
      const pid = (await probe.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
      let ended = false;
      const insert = probe.query('insert into probe values (1)').finally(() => {
        ended = true;
      });
      let held = false;
      while (!ended && !held) {
        const { rows } = await admin.query("select 1 from pg_stat_activity where pid = $1 and wait_event = 'SyncRep'", [
          pid,
        ]);
        held = rows.length > 0;
      }
      // A cancelled wait leaves the commit done, with a warning.
      if (held) await admin.query('select pg_cancel_backend($1)', [pid]);
      await insert;
      return held ? true : undefined;
    } finally {
      await probe.end();
    }
  }, 'commits to wait for the standby');
}
