import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LOCAL_CLUSTER_ID } from '../../src/store/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { call, newProject, uploadJbi } from '../support/resources.js';
import { assertSaharaError, shellTemplate, terminalExecution } from './support.js';

/**
 * Hostile args, params, configs and binary names go through the real API to real processes.
 * Each is refused with a 4xx or reaches the job literally: nothing is ever run by a shell, and
 * nothing is written outside the execution's working directory.
 */
describe('injection through the API', () => {
  let t: TestApp;
  let canaries: string;
  const project = newProject();
  let echo: string;

  /** Commands that would create a canary file if any layer interpreted them. */
  const hostile = (tag: string) => {
    const canary = path.join(canaries, tag);
    return [
      `$(touch ${canary}-1)`,
      `\`touch ${canary}-2\``,
      `; touch ${canary}-3`,
      `| touch ${canary}-4`,
      `&& touch ${canary}-5`,
      `\n touch ${canary}-6`,
      `' "; touch ${canary}-7; "'`,
      `\${IFS}touch\${IFS}${canary}-8`,
      '*',
      '~',
      '$HOME',
      '-rf',
      '--',
      '',
      '%s%n',
      '\\',
      'ünïcödé 😀',
      '../../etc/passwd',
      '/etc/shadow',
    ];
  };
  const noCanary = async () => assert.deepEqual(await readdir(canaries), [], 'a hostile value was interpreted');

  const execute = (templateId: string, body: Record<string, unknown>) =>
    call(t.app, project, 'POST', `/jobs/${templateId}/execute`, { cluster_id: LOCAL_CLUSTER_ID, ...body });
  const stdoutOf = (id: string) => readFile(path.join(t.dataDir, 'executions', id, 'stdout'));

  before(async () => {
    t = await createTestApp({ dialect: 'sqlite', localConcurrency: 8 });
    canaries = await mkdtemp(path.join(tmpdir(), 'oasis-canaries-'));
    // Prints every argument and then the params P1 and P2, each NUL-terminated: exact bytes, no splitting.
    echo = (await shellTemplate(t.app, project, 'echo', 'printf \'%s\\0\' "$@" "$P1" "$P2"\n')).id;
  });
  after(async () => {
    await t?.close();
    await rm(canaries, { recursive: true, force: true });
  });

  test('shell metacharacters in args, params and configs reach the job literally', async () => {
    const args = hostile('args');
    const [p1, p2] = hostile('params');
    const response = await execute(echo, {
      job_configs: {
        args,
        params: { P1: p1, P2: p2 },
        configs: { 'edp.any': `$(touch ${path.join(canaries, 'configs')})` },
      },
    });
    assert.equal(response.statusCode, 202, response.body);
    const id = response.json().job_execution.id;
    const ended = await terminalExecution(t.app, project, id);
    assert.equal(ended.info.status, 'SUCCEEDED', JSON.stringify(ended.info));
    const printed = (await stdoutOf(id)).toString('utf8').split('\0').slice(0, -1);
    assert.deepEqual(printed, [...args, p1, p2]);
    await noCanary();
  });

  test('large values pass through whole; values the OS cannot exec are a 400 at execute', async () => {
    const large = 'a'.repeat(100 * 1024);
    const accepted = await execute(echo, { job_configs: { args: [large], params: { P1: large } } });
    assert.equal(accepted.statusCode, 202, accepted.body);
    const id = accepted.json().job_execution.id;
    assert.equal((await terminalExecution(t.app, project, id)).info.status, 'SUCCEEDED');
    assert.deepEqual((await stdoutOf(id)).toString('utf8').split('\0').slice(0, -1), [large, large, '']);

    const megabyte = 'b'.repeat(1024 * 1024);
    for (const job_configs of [
      { args: [megabyte] },
      { params: { P1: megabyte } },
      { args: Array.from({ length: 12 }, () => 'c'.repeat(100 * 1024)) },
      { args: ['a\u0000b'] },
      { params: { P1: 'a\u0000b' } },
      { params: { 'A;touch x': 'v' } },
      { params: { 'A=B': 'v' } },
      { params: { '': 'v' } },
    ]) {
      const refused = await execute(echo, { job_configs });
      assertSaharaError(refused.statusCode, refused.json(), JSON.stringify(job_configs).slice(0, 80));
      assert.equal(refused.statusCode, 400, refused.body);
    }
    await noCanary();
  });

  test('Java options and main class are arguments, never shell text', async () => {
    const jar = await uploadJbi(t.app, project, 'app-data.jar', 'not really a jar');
    const binary = await call(t.app, project, 'POST', '/job-binaries', {
      name: 'app.jar',
      url: `internal-db://${jar.id}`,
    });
    const template = await call(t.app, project, 'POST', '/jobs', {
      name: 'java',
      type: 'Java',
      libs: [binary.json().job_binary.id],
    });
    assert.equal(template.statusCode, 202, template.body);
    const response = await execute(template.json().job.id, {
      job_configs: {
        configs: {
          'edp.java.main_class': `Main;touch ${path.join(canaries, 'main-class')}`,
          'edp.java.java_opts': `-Dx=$(touch ${path.join(canaries, 'opts')}) -Dy=\`touch ${path.join(canaries, 'opts2')}\``,
        },
        args: hostile('java'),
      },
    });
    assert.equal(response.statusCode, 202, response.body);
    const ended = await terminalExecution(t.app, project, response.json().job_execution.id);
    assert.notEqual(ended.info.status, 'SUCCEEDED');
    await noCanary();
  });

  test('binary and internal-binary names never leave the working directory', async () => {
    const traversal = [
      '../../etc/oasis-x',
      '/etc/oasis-x',
      'a\u0000b',
      '.',
      '..',
      'sub/dir.sh',
      '..\\..\\x',
      'job.json',
      'launched',
      'result',
      'stdout',
      'cancelled',
    ];
    const odd = ['-rf', ' spaced name.sh', '$(touch x).sh', 'a;b.sh', '*.sh', "quote'd.sh"];
    for (const name of [...traversal, ...odd]) {
      const jbi = await t.app.inject({
        method: 'PUT',
        url: `/v1.1/${project}/job-binary-internals/${encodeURIComponent(name)}`,
        payload: 'echo staged',
        headers: { 'content-type': 'application/octet-stream' },
      });
      if (jbi.statusCode !== 202) {
        assertSaharaError(jbi.statusCode, jbi.json(), `JBI ${JSON.stringify(name)}`);
        assert.ok(jbi.statusCode >= 400 && jbi.statusCode < 500);
      }
      const data = await uploadJbi(t.app, project, `data-${Math.random().toString(36).slice(2)}`, 'echo staged');
      const binary = await call(t.app, project, 'POST', '/job-binaries', { name, url: `internal-db://${data.id}` });
      const template =
        binary.statusCode === 202
          ? await call(t.app, project, 'POST', '/jobs', {
              name: `t-${Math.random().toString(36).slice(2)}`,
              type: 'Shell',
              mains: [binary.json().job_binary.id],
            })
          : binary;
      const executed = template.statusCode === 202 ? await execute(template.json().job.id, {}) : template;
      if (executed.statusCode !== 202) {
        assertSaharaError(executed.statusCode, executed.json(), `binary ${JSON.stringify(name)}`);
        assert.ok(executed.statusCode >= 400 && executed.statusCode < 500, executed.body);
        assert.ok(!traversal.includes(name) || executed.statusCode === 400);
        continue;
      }
      assert.ok(!traversal.includes(name), `${JSON.stringify(name)} was accepted for execution`);
      const id = executed.json().job_execution.id;
      const ended = await terminalExecution(t.app, project, id);
      assert.equal(ended.info.status, 'SUCCEEDED', `${JSON.stringify(name)}: ${JSON.stringify(ended.info)}`);
      // Staged under its own literal name, inside the execution's directory.
      assert.ok(
        existsSync(path.join(t.dataDir, 'executions', id, name)),
        `${JSON.stringify(name)} not staged in place`,
      );
      assert.equal((await stdoutOf(id)).toString(), 'staged\n');
    }
    assert.ok(!existsSync('/etc/oasis-x'));
    assert.deepEqual((await readdir(t.dataDir)).sort(), ['executions']);
    await noCanary();
  });
});
