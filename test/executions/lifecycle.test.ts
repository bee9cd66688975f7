import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type TestApp, createTestApp } from '../support/app.js';
import { testDialects } from '../support/databases.js';
import { Client } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { insertExecution } from '../support/rows.js';
import { processAlive } from '../support/sandbox.js';

for (const dialect of testDialects()) {
  describe(`job lifecycle on the local engine (${dialect})`, () => {
    let t: TestApp;
    let a: Client;

    before(async () => {
      t = await createTestApp({ dialect });
      a = new Client(t.app);
    });
    after(() => t.close());

    test('a Shell job runs from upload to SUCCEEDED with return_code "0"', async () => {
      const tmpl = await a.shellTemplate('echo "$1 $GREETING"\n');
      const id = await a.run(tmpl, { job_configs: { args: ['hello'], params: { GREETING: 'world' } } });
      const done = await a.waitFor(id, (execution) => execution.end_time !== null);
      assert.equal(done.info.status, 'SUCCEEDED');
      assert.equal(done.return_code, '0');
      assert.ok(done.start_time <= done.end_time);
      assert.match(done.engine_job_id, /@test-node$/);
      assert.equal(done.oozie_job_id, done.engine_job_id);
      assert.equal(readFileSync(path.join(done.info.workdir, 'stdout'), 'utf8'), 'hello world\n');
    });

    test('a failing script ends DONEWITHERROR with its exit code', async () => {
      const id = await a.run(await a.shellTemplate('exit 3\n'));
      const done = await a.waitFor(id, (execution) => execution.end_time !== null);
      assert.equal(done.info.status, 'DONEWITHERROR');
      assert.equal(done.return_code, '3');
    });

    test('cancel of a long job ends KILLED and the process is gone', async () => {
      const id = await a.run(await a.shellTemplate('sleep 60\n'));
      const running = await a.waitForStatus(id, 'RUNNING');
      const pid = running.info.pid as number;
      assert.ok(processAlive(pid));
      assert.equal((await a.request('GET', `/job-executions/${id}/cancel`)).status, 200);
      const killed = await a.waitForStatus(id, 'KILLED');
      assert.notEqual(killed.end_time, null);
      await eventually(() => !processAlive(pid), 'the job process to exit');
      // A repeated cancel changes nothing.
      assert.equal((await a.request('GET', `/job-executions/${id}/cancel`)).status, 200);
      assert.equal((await a.execution(id)).info.status, 'KILLED');
    });

    test('delete of a running job removes the row, the process and the working directory', async () => {
      const id = await a.run(await a.shellTemplate('sleep 60\n'));
      const running = await a.waitForStatus(id, 'RUNNING');
      const pid = running.info.pid as number;
      const workdir = running.info.workdir as string;
      assert.ok(existsSync(workdir));
      assert.equal((await a.request('DELETE', `/job-executions/${id}`)).status, 204);
      await eventually(async () => (await a.request('GET', `/job-executions/${id}`)).status === 404, 'the row to go');
      assert.equal(processAlive(pid), false);
      assert.equal(existsSync(workdir), false);
    });

    test('cancel of a PENDING execution kills it at once', async () => {
      const tmpl = await a.shellTemplate('exit 0\n');
      const row = await insertExecution(t.store, {
        job_id: tmpl,
        status: 'PENDING',
        lease_owner: 'another-node',
        lease_expires_at: new Date(Date.now() + 60_000).toISOString(),
      });
      assert.equal((await a.request('GET', `/job-executions/${row.id}/cancel`)).status, 200);
      const killed = await a.execution(row.id);
      assert.equal(killed.info.status, 'KILLED');
      assert.notEqual(killed.end_time, null);
    });

    test('refresh-status stores the engine answer; a vanished working directory ends FAILED with a reason', async () => {
      const tmpl = await a.shellTemplate('exit 0\n');
      const row = await insertExecution(t.store, {
        job_id: tmpl,
        status: 'RUNNING',
        engine_job_id: '999999@test-node',
        start_time: new Date().toISOString(),
      });
      const refreshed = await a.request('GET', `/job-executions/${row.id}/refresh-status`);
      assert.equal(refreshed.status, 200);
      const execution = refreshed.json.job_execution;
      assert.equal(execution.info.status, 'FAILED');
      assert.equal(typeof execution.info.reason, 'string');
      assert.notEqual(execution.end_time, null);
    });

    test('data-source references are substituted when the job starts', async () => {
      const source = await a.dataSource({
        name: `in-${dialect}`,
        url: 'hdfs://namenode/in/%JOB_EXEC_ID%/%RANDSTR(4)%',
      });
      const tmpl = await a.shellTemplate('echo "$1"\n');
      const id = await a.run(tmpl, {
        job_configs: { args: [`datasource://in-${dialect}`], configs: { 'edp.substitute_data_source_for_name': true } },
      });
      const done = await a.waitForStatus(id, 'SUCCEEDED');
      const url = done.data_source_urls[source] as string;
      assert.match(url, new RegExp(`^hdfs://namenode/in/${id}/[a-z]{4}$`));
      assert.equal(readFileSync(path.join(done.info.workdir, 'stdout'), 'utf8'), `${url}\n`);
    });

    test('a Java job runs', async () => {
      const build = mkdtempSync(path.join(tmpdir(), 'oasis-java-'));
      try {
        writeFileSync(
          path.join(build, 'Hello.java'),
          'public class Hello { public static void main(String[] a) { System.out.println("hi " + a[0]); System.exit(a[0].equals("ok") ? 0 : 4); } }\n',
        );
        execFileSync('javac', ['-d', build, path.join(build, 'Hello.java')]);
        execFileSync('jar', ['cf', path.join(build, 'hello.jar'), '-C', build, 'Hello.class']);
        const lib = await a.binary(`hello-${dialect}.jar`, readFileSync(path.join(build, 'hello.jar')));
        const tmpl = await a.template({ type: 'Java', libs: [lib] });
        const configs = { 'edp.java.main_class': 'Hello' };
        const ok = await a.run(tmpl, { job_configs: { configs, args: ['ok'] } });
        const failing = await a.run(tmpl, { job_configs: { configs, args: ['no'] } });
        const succeeded = await a.waitFor(ok, (execution) => execution.end_time !== null, 60_000);
        assert.equal(succeeded.info.status, 'SUCCEEDED', JSON.stringify(succeeded));
        assert.equal(succeeded.return_code, '0');
        const failed = await a.waitFor(failing, (execution) => execution.end_time !== null, 60_000);
        assert.equal(failed.info.status, 'DONEWITHERROR');
        assert.equal(failed.return_code, '4');
      } finally {
        rmSync(build, { recursive: true, force: true });
      }
    });
  });
}
