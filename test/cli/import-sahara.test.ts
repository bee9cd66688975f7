import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';

import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { tokenAuth } from '../../src/api/auth.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { openTestStore, testDialects, type TestDatabase } from '../support/databases.js';
import { assertError, ok } from '../support/resources.js';

/**
 * A real Sahara database: MariaDB (scripts/mariadb.sh) with Sahara's EDP tables and rows,
 * exported with the documented `mysql` command and the query `oasis sahara-export-query`
 * prints, imported with `oasis import-sahara` into SQLite and PostgreSQL, read through the API.
 */
const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const socket = process.env.MARIADB_SOCKET;
if (!socket && process.env.CI)
  throw new Error('MARIADB_SOCKET unset: scripts/test.sh starts MariaDB (scripts/mariadb.sh)');

const ALPHA = '5f2c1b7e9a0d4c3e8b6a1f0e2d3c4b5a';
const BETA = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const JBI = '11111111-1111-4111-8111-111111111111';
const MAIN = '22222222-2222-4222-8222-222222222222';
const LIB = '33333333-3333-4333-8333-333333333333';
const SOURCE = '44444444-4444-4444-8444-444444444444';
const SHELL = '55555555-5555-4555-8555-555555555555';
const JAVA = '66666666-6666-4666-8666-666666666666';
const DONE = '77777777-7777-4777-8777-777777777777';
const RUNNING = '88888888-8888-4888-8888-888888888888';
const CLUSTER = '99999999-9999-4999-8999-999999999999';
/** Every byte value, so that nothing is lost on the way through text. */
const BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const AWKWARD = 'tab\there\nnew line "quoted" \\ back é 漢 \u{1F600}';

const ROWS = `
INSERT INTO clusters VALUES ('${CLUSTER}', '${ALPHA}', 'vanilla');
INSERT INTO job_binary_internal VALUES ('2019-03-01 10:00:00', NULL, '${JBI}', '${ALPHA}', 'script.sh', UNHEX('${BYTES.toString('hex')}'), 256, 0, 0);
INSERT INTO job_binaries VALUES ('2019-03-01 10:01:00', NULL, '${MAIN}', '${ALPHA}', 'script.sh', '${AWKWARD.replaceAll('\\', '\\\\').replaceAll('\t', '\\t').replaceAll('\n', '\\n')}', 'internal-db://${JBI}', NULL, 0, 0);
INSERT INTO job_binaries VALUES ('2019-03-01 10:02:00', '2019-03-02 09:00:00', '${LIB}', '${ALPHA}', 'lib.jar', NULL, 'swift://container/lib.jar', '{"user": "u", "password": "p"}', 1, 0);
INSERT INTO data_sources VALUES ('2019-03-01 10:03:00', NULL, '${SOURCE}', '${ALPHA}', 'input', '', 'hdfs', 'hdfs://nn:8020/in', NULL, 0, 1);
INSERT INTO jobs VALUES ('2019-03-01 10:04:00', NULL, '${SHELL}', '${ALPHA}', 'shell-job', 'runs the script', 'Shell', 0, 0);
INSERT INTO jobs VALUES ('2019-03-01 10:05:00', NULL, '${JAVA}', '${BETA}', 'java-job', NULL, 'Java', 0, 0);
INSERT INTO mains_association VALUES ('${SHELL}', '${MAIN}');
INSERT INTO libs_association VALUES ('${JAVA}', '${LIB}');
INSERT INTO job_interface_arguments VALUES ('2019-03-01 10:05:00', NULL, 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', '${JAVA}', '${BETA}', 'Second', NULL, 'args', '1', 'string', 0, 1, 'two');
INSERT INTO job_interface_arguments VALUES ('2019-03-01 10:05:00', NULL, 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', '${JAVA}', '${BETA}', 'First', 'the first', 'args', '0', 'string', 1, 0, NULL);
INSERT INTO job_executions VALUES ('2019-03-03 08:00:00', '2019-03-03 08:05:00', '${DONE}', '${ALPHA}', '${SHELL}', '${SOURCE}', NULL,
  '2019-03-03 08:00:05', '2019-03-03 08:04:59', '${CLUSTER}', '{"status": "SUCCEEDED"}', '4242@node-1', '0',
  '{"configs": {}, "params": {"GREETING": "hi"}, "args": ["a", "b c"]}', '{}', '{"${SOURCE}": "hdfs://nn:8020/in"}', 1, 0);
INSERT INTO job_executions VALUES ('2019-03-04 08:00:00', NULL, '${RUNNING}', '${BETA}', '${JAVA}', NULL, NULL,
  '2019-03-04 08:00:05', NULL, '${CLUSTER}', '{"status": "RUNNING"}', '0000001-oozie-W', NULL, '{"configs": {"edp.java.main_class": "Main"}}', NULL, NULL, 0, 0);
`;

const mysql = (args: string[], input: string | null, output?: string) =>
  new Promise<string>((resolve, reject) => {
    const child = spawn('mysql', [`--socket=${socket}`, '--default-character-set=utf8mb4', ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', async (code) => {
      if (code !== 0) return reject(new Error(`mysql ${args.join(' ')}: ${stderr}`));
      if (output) await writeFile(output, stdout);
      resolve(stdout);
    });
    if (input === null) child.stdin.end();
    else child.stdin.end(input);
  });

const oasis = (args: string[], env: Record<string, string>) =>
  run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', OASIS_LOG_LEVEL: 'warn', ...env },
    timeout: 60_000,
  });

describe('oasis import-sahara from a real MariaDB export', { skip: !socket }, () => {
  let dir: string;
  let exportFile: string;
  const schema = `sahara_${process.pid}`;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'oasis-sahara-'));
    await mysql(['-e', `DROP DATABASE IF EXISTS ${schema}; CREATE DATABASE ${schema} CHARACTER SET utf8mb4`], null);
    await mysql([schema], await readFile(path.join(ROOT, 'test/fixtures/sahara/edp-tables.sql'), 'utf8'));
    await mysql([schema], ROWS);
    // The documented export: the query from `oasis sahara-export-query`, through the stock client
    // (its first option only names the test server).
    const query = (await oasis(['sahara-export-query'], {})).stdout;
    exportFile = path.join(dir, 'sahara-edp.jsonl');
    await mysql(
      [
        '--batch',
        '--raw',
        '--skip-column-names',
        '--default-character-set=utf8mb4',
        '--max-allowed-packet=64M',
        schema,
      ],
      query,
      exportFile,
    );
  });

  after(async () => {
    if (socket) await mysql(['-e', `DROP DATABASE IF EXISTS ${schema}`], null).catch(() => {});
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const dialect of testDialects()) {
    describe(dialect, () => {
      let database: TestDatabase;
      let t: TestApp;
      let env: Record<string, string>;

      before(async () => {
        database = await openTestStore(dialect);
        env = { OASIS_DATA_DIR: database.dataDir, ...(database.url ? { OASIS_DATABASE_URL: database.url } : {}) };
        t = await createTestApp({
          dialect,
          store: database.store,
          localConcurrency: 0,
          auth: tokenAuth(
            new Map([
              ['alpha', { tenantId: ALPHA, roles: [] }],
              ['beta', { tenantId: BETA, roles: [] }],
            ]),
          ),
        });
      });
      after(async () => {
        await t?.close();
        await database?.drop();
      });

      const read = (token: string, url: string) =>
        t.app.inject({
          method: 'GET',
          url: `/v1.1/${token === 'alpha' ? ALPHA : BETA}${url}`,
          headers: { 'x-auth-token': token },
        });

      test('every row arrives with its id and reads back through the API', async () => {
        const { stdout } = await oasis(['import-sahara', exportFile], env);
        assert.match(stdout, new RegExp(`execution ${RUNNING} had not finished in Sahara: imported as FAILED`));
        assert.deepEqual(JSON.parse(stdout.trim().split('\n').at(-1)!), {
          imported: { jbi: 1, binary: 2, 'data-source': 1, template: 2, execution: 2 },
          already_present: 0,
        });

        const data = await read('alpha', `/job-binary-internals/${JBI}/data`);
        assert.equal(data.statusCode, 200);
        assert.deepEqual(data.rawPayload, BYTES);
        const main = ok(await read('alpha', `/job-binaries/${MAIN}`), 200).job_binary;
        assert.equal(main.description, AWKWARD);
        assert.equal(main.url, `internal-db://${JBI}`);
        const shell = ok(await read('alpha', `/jobs/${SHELL}`), 200).job;
        assert.deepEqual(
          shell.mains.map((binary: any) => binary.id),
          [MAIN],
        );
        const java = ok(await read('beta', `/jobs/${JAVA}`), 200).job;
        assert.deepEqual(
          java.libs.map((binary: any) => binary.id),
          [LIB],
        );
        assert.deepEqual(
          java.interface.map((arg: any) => [arg.name, arg.order, arg.required]),
          [
            ['First', 0, true],
            ['Second', 1, false],
          ],
        );
        assert.equal(ok(await read('alpha', `/data-sources/${SOURCE}`), 200).data_source.is_protected, true);

        const done = ok(await read('alpha', `/job-executions/${DONE}`), 200).job_execution;
        assert.equal(done.info.status, 'SUCCEEDED');
        assert.equal(done.return_code, '0');
        assert.equal(done.engine_job_id, '4242@node-1');
        assert.equal(done.cluster_id, CLUSTER);
        assert.deepEqual(done.job_configs.args, ['a', 'b c']);
        assert.equal(done.start_time, '2019-03-03T08:00:05');
        assert.equal(done.is_public, true);
        const running = ok(await read('beta', `/job-executions/${RUNNING}`), 200).job_execution;
        assert.equal(running.info.status, 'FAILED');
        assert.match(running.info.reason, /imported from Sahara while RUNNING/);

        // Projects stay apart: beta sees alpha's public execution and binary, not its private rows.
        assertError(await read('beta', `/job-binary-internals/${JBI}`), 404, 'NOT_FOUND');
        assertError(await read('beta', `/jobs/${SHELL}`), 404, 'NOT_FOUND');
        assert.equal((await read('beta', `/job-executions/${DONE}`)).statusCode, 200);
      });

      test('importing again adds nothing', async () => {
        const { stdout } = await oasis(['import-sahara', exportFile], env);
        assert.deepEqual(JSON.parse(stdout.trim().split('\n').at(-1)!), { imported: {}, already_present: 8 });
        const listed = ok(await read('alpha', '/job-executions'), 200).job_executions;
        assert.deepEqual(listed.map((row: any) => row.id).sort(), [DONE]);
      });
    });
  }

  test('bad rows are reported with their lines, and nothing is imported', async () => {
    const bad = path.join(dir, 'bad.jsonl');
    await writeFile(bad, await readFile(exportFile));
    await appendFile(
      bad,
      [
        JSON.stringify({
          table: 'data_sources',
          row: {
            id: 'dddddddd-0000-4000-8000-000000000000',
            tenant_id: ALPHA,
            name: 'ftp',
            type: 'ftp',
            url: 'ftp://x/y',
          },
        }),
        JSON.stringify({
          table: 'jobs',
          row: { id: 'eeeeeeee-0000-4000-8000-000000000000', tenant_id: ALPHA, name: 'lost', type: 'Pig' },
        }),
        JSON.stringify({
          table: 'mains_association',
          row: { Job_id: 'eeeeeeee-0000-4000-8000-000000000000', JobBinary_id: 'ffffffff-0000-4000-8000-000000000000' },
        }),
        '{"table": "job_binaries", "row": {"id": ',
      ].join('\n') + '\n',
    );
    const database = await openTestStore('sqlite');
    try {
      const failed = await oasis(['import-sahara', bad], { OASIS_DATA_DIR: database.dataDir }).then(
        () => undefined,
        (error: { code: number; stderr: string }) => error,
      );
      assert.ok(failed, 'the import must fail');
      assert.equal(failed.code, 1);
      const lines = (await readFile(exportFile, 'utf8')).trim().split('\n').length;
      assert.match(
        failed.stderr,
        new RegExp(`line ${lines + 1}: data_sources dddddddd-0000-4000-8000-000000000000: type "ftp" is not one of`),
      );
      assert.match(
        failed.stderr,
        new RegExp(
          `line ${lines + 2}: jobs eeeeeeee-0000-4000-8000-000000000000: its binaries ffffffff-0000-4000-8000-000000000000 are not in the export`,
        ),
      );
      assert.match(failed.stderr, new RegExp(`line ${lines + 4}: .*not a JSON object`));
      assert.match(failed.stderr, /nothing was imported/);
      assert.equal(await database.store.jobExecutions.get(DONE), undefined);
      assert.equal(await database.store.jobBinaryInternals.get(JBI), undefined);
    } finally {
      await database.drop();
    }
  });
});
