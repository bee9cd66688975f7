import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { startOasis, type OasisProcess } from '../support/server.js';
import { newProject } from '../support/resources.js';
import { assertSaharaError, eventually, http } from './support.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
/** Its own server, so stopping it never touches the suite's PostgreSQL. */
const PORT = process.env.OASIS_OUTAGE_PG_PORT ?? '55488';

/**
 * Runs scripts/postgres.sh's helpers against this test's server. The server is restarted once with
 * durable commits (postgres.sh turns them off for speed), so that an immediate stop loses nothing
 * a committed transaction wrote.
 */
async function postgres(command: 'init' | 'stop' | 'start' | 'freeze' | 'thaw'): Promise<string> {
  const start = `_postgres_run "$(_postgres_bin_dir)/pg_ctl" -D "$(_postgres_base)/data" -l "$(_postgres_base)/server.log" -w -t 60 \
    -o "-p ${PORT} -c listen_addresses=127.0.0.1 -c unix_socket_directories=$(_postgres_base) -c max_connections=100" start >/dev/null`;
  const stop = (mode: string) =>
    `_postgres_run "$(_postgres_bin_dir)/pg_ctl" -D "$(_postgres_base)/data" -m ${mode} -w stop >/dev/null`;
  // The postmaster and every backend: a server that accepts TCP connections and never answers.
  const signal = (name: string) =>
    `pid=$(head -n 1 "$(_postgres_base)/data/postmaster.pid"); kill -${name} "$pid" $(pgrep -P "$pid")`;
  const script = {
    init: `postgres_start && ${stop('fast')} && ${start} && echo "$POSTGRES_URL"`,
    stop: stop('immediate'),
    start,
    freeze: signal('STOP'),
    thaw: signal('CONT'),
  }[command];
  const { stdout } = await run('bash', ['-c', `set -euo pipefail; source scripts/postgres.sh; ${script}`], {
    cwd: ROOT,
    env: { ...process.env, OASIS_TEST_PG_PORT: PORT },
  });
  return stdout.trim();
}

interface Outcome {
  status: number;
  json: any;
  phase: Phase;
}
type Phase = 'before' | 'outage' | 'after';

/**
 * A real Oasis on PostgreSQL under a steady load of writes and reads. Stopping PostgreSQL turns
 * every request into a prompt 503 with Sahara's body; Oasis keeps running, and once the database
 * is back it serves again without a restart, with every write it acknowledged in place.
 */
describe(
  'database outage (PostgreSQL stopped under load)',
  { skip: !process.env.OASIS_TEST_DATABASE_URL && 'needs PostgreSQL (run through scripts/test.sh)' },
  () => {
    let oasis: OasisProcess | undefined;
    let url: string;
    before(async () => {
      url = await postgres('init');
      oasis = await startOasis({
        env: {
          OASIS_DATABASE_URL: url,
          OASIS_POLL_INTERVAL: '200ms',
          OASIS_DATABASE_TIMEOUT: '1s',
          OASIS_LOG_LEVEL: 'info',
        },
      });
    });
    after(async () => {
      await oasis?.stop();
      await run('bash', ['-c', 'source scripts/postgres.sh; postgres_stop'], {
        cwd: ROOT,
        env: { ...process.env, OASIS_TEST_PG_PORT: PORT },
      });
    });

    test('503 with a Sahara body while it is down; recovery without a restart; no acknowledged write lost', async (context) => {
      const server = oasis!;
      // Oasis's own account, should it die: the last lines it logged.
      context.after(() => {
        if (server.child.exitCode !== null) console.error(server.logs.slice(-20).join('\n'));
      });
      const project = newProject();
      const api = (method: string, route: string, body?: unknown) =>
        http(server.url, method, `/v1.1/${project}${route}`, body);
      const acknowledged: string[] = [];
      const outcomes: Outcome[] = [];
      let phase: Phase = 'before';
      let loading = true;
      let counter = 0;

      const worker = async (n: number) => {
        while (loading) {
          counter += 1;
          const started: Phase = phase;
          const response =
            counter % 2 === 0
              ? await api('POST', '/data-sources', {
                  name: `ds-${n}-${counter}`,
                  type: 'hdfs',
                  url: `hdfs://namenode/${counter}`,
                })
              : await api('GET', counter % 3 === 0 ? '/data-sources?limit=5' : '/job-executions');
          if (response.status === 202) acknowledged.push(response.json.data_source.id);
          // Only a request that began after the stop and ended before the restart began must fail.
          const during =
            started === 'outage' && phase === 'outage' ? 'outage' : started === 'outage' ? 'after' : started;
          outcomes.push({ status: response.status, json: response.json, phase: during });
          await sleep(5);
        }
      };
      const workers = [0, 1, 2, 3].map(worker);

      await eventually(() => (acknowledged.length >= 40 ? true : undefined), 'writes before the outage');
      await postgres('stop');
      phase = 'outage';
      const outageStart = outcomes.length;
      await eventually(
        () => (outcomes.slice(outageStart).filter((o) => o.phase === 'outage').length >= 40 ? true : undefined),
        'requests during the outage',
      );
      assert.equal(server.child.exitCode, null, 'Oasis died with its database');

      phase = 'after';
      await postgres('start');
      await eventually(
        () => (outcomes.some((o) => o.phase === 'after' && o.status === 202) ? true : undefined),
        'a write accepted after the database came back',
      );
      loading = false;
      await Promise.all(workers);

      for (const outcome of outcomes) {
        assert.ok(
          outcome.status < 500 || outcome.status === 503,
          `a ${outcome.status} answer: ${JSON.stringify(outcome.json)}`,
        );
        if (outcome.status >= 400) assertSaharaError(outcome.status, outcome.json, `${outcome.phase}`);
        if (outcome.phase === 'outage') assert.equal(outcome.status, 503, JSON.stringify(outcome.json));
        if (outcome.status === 503) assert.equal(outcome.json.error_name, 'SERVICE_UNAVAILABLE');
      }
      assert.ok(
        outcomes.filter((o) => o.phase === 'before').every((o) => o.status < 400 || o.status === 503),
        'errors before the outage',
      );
      assert.equal(server.child.exitCode, null, 'Oasis died');

      // Every acknowledged write is there, listed and shown.
      const listed = await api('GET', '/data-sources');
      assert.equal(listed.status, 200, listed.text);
      const ids = new Set((listed.json.data_sources as { id: string }[]).map((d) => d.id));
      for (const id of acknowledged) assert.ok(ids.has(id), `acknowledged data source ${id} is gone`);
      assert.ok(acknowledged.length >= 41);
    });

    test('a frozen PostgreSQL gets 503s after OASIS_DATABASE_TIMEOUT instead of hanging requests', async () => {
      const server = oasis!;
      const project = newProject();
      const api = (method: string, route: string, body?: unknown) =>
        http(server.url, method, `/v1.1/${project}${route}`, body);
      const source = (name: string) => ({ name, type: 'hdfs', url: `hdfs://namenode/${name}` });
      const before = await api('POST', '/data-sources', source('before-freeze'));
      assert.equal(before.status, 202, before.text);

      await postgres('freeze');
      try {
        // More requests than the pool has connections: the ones queued for a connection time out too.
        const answers = await Promise.all(
          Array.from({ length: 14 }, (_, i) =>
            i % 2 === 0 ? api('GET', '/data-sources') : api('POST', '/data-sources', source(`during-freeze-${i}`)),
          ),
        );
        for (const answer of answers) {
          assert.equal(answer.status, 503, answer.text);
          assertSaharaError(503, answer.json, 'frozen database');
        }
        assert.equal(server.child.exitCode, null, 'Oasis died with its database frozen');
      } finally {
        await postgres('thaw');
      }

      const listed = await eventually(async () => {
        const answer = await api('GET', '/data-sources');
        return answer.status === 200 ? answer : undefined;
      }, 'Oasis to serve again once the database thaws');
      assert.ok((listed.json.data_sources as { name: string }[]).some((d) => d.name === 'before-freeze'));
    });
  },
);
