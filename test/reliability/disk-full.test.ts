import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { RESERVE_BYTES, RESERVE_FILE } from '../../src/executions/disk-space.js';
import { isTerminal } from '../../src/store/statuses.js';
import { LOCAL_CLUSTER_ID } from '../../src/store/index.js';
import pg from 'pg';
import { createTestApp } from '../support/app.js';
import { openTestStore } from '../support/databases.js';
import { assertError, call, newProject, ok } from '../support/resources.js';
import { exchangeSubdir } from '../support/sandbox.js';
import { startOasis, type OasisProcess } from '../support/server.js';
import { assertSaharaError, eventually, http } from './support.js';

const MiB = 1024 * 1024;

/** A fresh tmpfs of `size` bytes, unmounted and removed by `cleanups`. */
async function mountTmpfs(size: number, cleanups: (() => Promise<void>)[]): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'oasis-disk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]);
  cleanups.push(async () => {
    execFileSync('umount', ['--lazy', dir]);
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

async function freeBytes(dir: string): Promise<number> {
  const stats = await statfs(dir);
  return stats.bavail * stats.bsize;
}

/** Fills the file system holding `dir` to the last byte with one file. */
async function fill(dir: string): Promise<void> {
  const handle = openSync(path.join(dir, 'filler'), 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeSync(handle, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(handle);
  }
}

describe('a full data dir (sqlite)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  test("one project fills the disk: reads work, writes answer 507, another project's exit code is recorded, DELETE frees the space", async () => {
    const dataDir = await mountTmpfs(64 * MiB, cleanups);
    const gates = exchangeSubdir('disk-full-');
    const full = path.join(gates, 'full');
    const go = path.join(gates, 'go');
    const done = path.join(gates, 'done');
    cleanups.push(() => rm(gates, { recursive: true, force: true }));
    // Jobs outlive Oasis: a failed test still ends them.
    cleanups.push(async () => {
      await writeFile(go, '');
      await writeFile(done, '');
    });
    const oasis: OasisProcess = await startOasis({
      dataDir,
      env: {
        OASIS_MIN_FREE_DISK: '16MiB',
        OASIS_POLL_INTERVAL: '200ms',
        OASIS_KILL_GRACE: '1s',
        OASIS_NODE_ID: 'disk-node',
      },
    });
    cleanups.push(() => oasis.stop());
    const filler = newProject();
    const other = newProject();
    const api = (project: string, method: string, route: string, body?: unknown) =>
      http(oasis.url, method, `/v1.1/${project}${route}`, body);
    const template = async (project: string, name: string, script: string): Promise<string> => {
      const upload = await http(oasis.url, 'PUT', `/v1.1/${project}/job-binary-internals/${name}.sh`, script, {
        'content-type': 'application/octet-stream',
      });
      assert.equal(upload.status, 202, upload.text);
      const binary = await api(project, 'POST', '/job-binaries', {
        name: `${name}.sh`,
        url: `internal-db://${upload.json.job_binary_internal.id}`,
      });
      assert.equal(binary.status, 202, binary.text);
      const created = await api(project, 'POST', '/jobs', { name, type: 'Shell', mains: [binary.json.job_binary.id] });
      assert.equal(created.status, 202, created.text);
      return created.json.job.id as string;
    };
    const execute = (project: string, templateId: string, params: Record<string, string> = {}) =>
      api(project, 'POST', `/jobs/${templateId}/execute`, { cluster_id: LOCAL_CLUSTER_ID, job_configs: { params } });
    const statusOf = async (project: string, id: string) =>
      (await api(project, 'GET', `/job-executions/${id}`)).json?.job_execution;

    // Its standard output is a file in the data dir: writing zeros to it fills the disk.
    const fillerTemplate = await template(
      filler,
      'fill',
      `head -c ${256 * MiB} /dev/zero\ntouch "$FULL"\nwhile [ ! -e "$DONE" ]; do sleep 0.1; done\n`,
    );
    const otherTemplate = await template(other, 'three', 'while [ ! -e "$GO" ]; do sleep 0.05; done\nexit 3\n');

    // The reserve is in place before the disk fills.
    await eventually(
      async () =>
        (await stat(path.join(dataDir, RESERVE_FILE)).catch(() => undefined))?.size === RESERVE_BYTES
          ? true
          : undefined,
      'the disk reserve',
    );
    const waiting = await execute(other, otherTemplate, { GO: go });
    assert.equal(waiting.status, 202, waiting.text);
    const waitingId = waiting.json.job_execution.id as string;
    await eventually(
      async () => ((await statusOf(other, waitingId))?.info.status === 'RUNNING' ? true : undefined),
      "the other project's job to run",
    );
    const filling = await execute(filler, fillerTemplate, { FULL: full, DONE: done });
    assert.equal(filling.status, 202, filling.text);
    const fillingId = filling.json.job_execution.id as string;
    await eventually(
      async () =>
        await stat(full).then(
          () => true,
          () => undefined,
        ),
      'the disk to fill',
    );
    assert.ok((await freeBytes(dataDir)) < MiB, `free: ${await freeBytes(dataDir)}`);

    // Reads work.
    for (const [project, route] of [
      [filler, '/job-executions'],
      [other, `/job-executions/${waitingId}`],
      [other, '/jobs'],
      [filler, `/jobs/${fillerTemplate}`],
    ] as const) {
      const read = await api(project, 'GET', route);
      assert.equal(read.status, 200, `${route}: ${read.text}`);
    }
    // Writes that need space answer 507 with Sahara's body, never 500.
    const upload = await http(
      oasis.url,
      'PUT',
      `/v1.1/${other}/job-binary-internals/big.bin`,
      Buffer.alloc(2 * MiB, 7),
      {
        'content-type': 'application/octet-stream',
      },
    );
    assert.equal(
      upload.status,
      507,
      `${upload.text}\n${oasis.logs.filter((line) => line.includes('"request failed"')).join('\n')}`,
    );
    assertSaharaError(507, upload.json, 'upload on a full disk');
    assert.equal(upload.json.error_name, 'INSUFFICIENT_STORAGE');
    // New executions are refused below the watermark, with the reason.
    const refused = await execute(other, otherTemplate, { GO: go });
    assert.equal(refused.status, 507, refused.text);
    assertSaharaError(507, refused.json, 'execute on a full disk');
    assert.match(refused.json.error_message, /OASIS_MIN_FREE_DISK/);

    // Another project's job ends while the disk is full: its exit code is recorded as usual.
    await writeFile(go, '');
    const ended = await eventually(async () => {
      const execution = await statusOf(other, waitingId);
      return isTerminal(execution?.info.status) ? execution : undefined;
    }, "the other project's job to end");
    assert.equal(ended.info.status, 'DONEWITHERROR', JSON.stringify(ended.info));
    assert.equal(ended.return_code, '3');

    // DELETE of the job that filled the disk works and frees the space.
    const deleted = await api(filler, 'DELETE', `/job-executions/${fillingId}`);
    assert.equal(deleted.status, 204, deleted.text);
    await eventually(
      async () => ((await api(filler, 'GET', `/job-executions/${fillingId}`)).status === 404 ? true : undefined),
      'the execution to go',
    );
    await eventually(async () => ((await freeBytes(dataDir)) > 32 * MiB ? true : undefined), 'the space to return');

    // Space is back: writes and new executions are accepted again and run.
    const again = await execute(other, otherTemplate, { GO: go });
    assert.equal(again.status, 202, again.text);
    const rerun = await eventually(async () => {
      const execution = await statusOf(other, again.json.job_execution.id);
      return isTerminal(execution?.info.status) ? execution : undefined;
    }, 'the new execution to end');
    assert.equal(rerun.return_code, '3', JSON.stringify(rerun.info));
    const failures = oasis.logs.filter((line) => line.includes('"request failed"'));
    assert.deepEqual(failures, [], 'a request answered 500');
  });
});

describe(
  'a full PostgreSQL disk',
  { skip: process.env.OASIS_TEST_DATABASE_URL ? false : 'needs OASIS_TEST_DATABASE_URL' },
  () => {
    test("disk_full (53100) from the server answers 507 with Sahara's body; reads still work", async () => {
      const database = await openTestStore('postgres');
      const oasis = await createTestApp({ dialect: 'postgres', store: database.store });
      const client = new pg.Client({ connectionString: database.url! });
      await client.connect();
      try {
        const project = newProject();
        ok(
          await call(oasis.app, project, 'POST', '/data-sources', {
            name: 'before',
            type: 'hdfs',
            url: 'hdfs://nn/before',
          }),
          202,
        );
        // The server's own error, raised by the server for every new data source.
        await client.query(`
        create function oasis_test_disk_full() returns trigger language plpgsql as $$
        begin raise exception 'could not extend file: No space left on device' using errcode = 'disk_full'; end $$;
        create trigger oasis_test_disk_full before insert on data_sources for each row execute function oasis_test_disk_full();`);
        const refused = await call(oasis.app, project, 'POST', '/data-sources', {
          name: 'after',
          type: 'hdfs',
          url: 'hdfs://nn/after',
        });
        assertError(refused, 507, 'INSUFFICIENT_STORAGE');
        const listed = ok(await call(oasis.app, project, 'GET', '/data-sources'), 200);
        assert.deepEqual(
          listed.data_sources.map((source: { name: string }) => source.name),
          ['before'],
        );
      } finally {
        await client.end();
        await oasis.close();
        await database.drop();
      }
    });
  },
);

describe('an unwritable log', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  const servesAndStops = async (stdoutFd: number) => {
    const oasis = await startOasis({ stdoutFd });
    cleanups.push(() => oasis.kill());
    const project = newProject();
    const created = await http(oasis.url, 'POST', `/v1.1/${project}/data-sources`, {
      name: 'in',
      type: 'hdfs',
      url: 'hdfs://namenode/in',
    });
    assert.equal(created.status, 202, created.text);
    const listed = await http(oasis.url, 'GET', `/v1.1/${project}/data-sources`);
    assert.equal(listed.status, 200, listed.text);
    await oasis.stop();
    assert.equal(oasis.child.signalCode, null, 'SIGTERM did not stop Oasis gracefully');
  };

  // A logger that stalls Oasis makes stop() wait for ever: the timeout turns that into a failure.
  test('with standard output on /dev/full, Oasis serves and SIGTERM stops it', { timeout: 120_000 }, async () => {
    const fd = openSync('/dev/full', 'w');
    try {
      await servesAndStops(fd);
    } finally {
      closeSync(fd);
    }
  });

  test(
    'with standard output in a file on a full file system, Oasis serves and SIGTERM stops it',
    { timeout: 120_000 },
    async () => {
      const dir = await mountTmpfs(MiB, cleanups);
      const fd = openSync(path.join(dir, 'oasis.log'), 'a');
      try {
        await fill(dir);
        assert.equal(await freeBytes(dir), 0);
        await servesAndStops(fd);
      } finally {
        closeSync(fd);
      }
    },
  );
});
