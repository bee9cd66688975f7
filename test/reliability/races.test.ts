import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { createTestApp, type TestApp } from '../support/app.js';
import { testDialects } from '../support/databases.js';
import { call, newProject } from '../support/resources.js';
import { exchangeSubdir, processesRunning } from '../support/sandbox.js';
import { eventually, executeLocal, markedScript, runsOf, shellTemplate, terminalExecution } from './support.js';

/** A run's `sleep`, seen from the host; it must be gone once the execution ends. */
const napOf = (run: number): string => `60.${run}${process.pid}`;

const noServerError = (responses: LightMyRequestResponse[]) => {
  for (const response of responses) assert.ok(response.statusCode < 500, `${response.statusCode} ${response.body}`);
};

for (const dialect of testDialects()) {
  describe(`races on one execution (${dialect})`, () => {
    let t: TestApp;
    let markers: string;
    let sleeper: string;
    let quick: string;
    const project = newProject();

    before(async () => {
      t = await createTestApp({ dialect, killGraceMs: 1_000, localConcurrency: 16, pollIntervalMs: 100 });
      markers = exchangeSubdir('races-');
      sleeper = (await shellTemplate(t.app, project, 'sleeper', markedScript('sleep "$NAP"'))).id;
      quick = (await shellTemplate(t.app, project, 'quick', markedScript('exit 0'))).id;
    });
    after(async () => {
      await t?.close();
      await rm(markers, { recursive: true, force: true });
    });

    let counter = 0;
    const start = async (template: string) => {
      counter += 1;
      const marker = path.join(markers, `run-${counter}`);
      const nap = napOf(counter);
      return {
        id: await executeLocal(t.app, project, template, { params: { MARKER: marker, NAP: nap } }),
        marker,
        nap,
      };
    };
    const running = (id: string) =>
      eventually(
        async () => ((await t.store.jobExecutions.get(id))?.status === 'RUNNING' ? true : undefined),
        `${id} to run`,
      );

    test('concurrent cancel, refresh and patch end KILLED, once, with the job gone', async () => {
      const { id, marker, nap } = await start(sleeper);
      await running(id);
      const requests = [];
      for (let i = 0; i < 5; i += 1) {
        requests.push(call(t.app, project, 'GET', `/job-executions/${id}/cancel`));
        requests.push(call(t.app, project, 'GET', `/job-executions/${id}/refresh-status`));
        requests.push(
          call(
            t.app,
            project,
            'PATCH',
            `/job-executions/${id}`,
            i % 2 ? { is_public: true } : { info: { status: 'cancel' } },
          ),
        );
      }
      noServerError(await Promise.all(requests));
      const ended = await terminalExecution(t.app, project, id);
      assert.equal(ended.info.status, 'KILLED');
      // Nothing moves it afterwards: more refreshes and cancels keep KILLED.
      noServerError(
        await Promise.all(
          [1, 2, 3].flatMap(() => [
            call(t.app, project, 'GET', `/job-executions/${id}/refresh-status`),
            call(t.app, project, 'GET', `/job-executions/${id}/cancel`),
          ]),
        ),
      );
      assert.equal((await t.store.jobExecutions.get(id))?.status, 'KILLED');
      assert.equal(await runsOf(marker), 1);
      await eventually(
        () => (processesRunning(['sleep', nap]).length > 0 ? undefined : true),
        `the job's sleep to die`,
      );
    });

    test('concurrent delete with cancel, refresh and patch: the row, the job and its directory are gone', async () => {
      const { id, marker, nap } = await start(sleeper);
      await running(id);
      const requests = [];
      for (let i = 0; i < 3; i += 1) {
        requests.push(call(t.app, project, 'DELETE', `/job-executions/${id}`));
        requests.push(call(t.app, project, 'GET', `/job-executions/${id}/cancel`));
        requests.push(call(t.app, project, 'GET', `/job-executions/${id}/refresh-status`));
        requests.push(call(t.app, project, 'PATCH', `/job-executions/${id}`, { is_public: true }));
      }
      const responses = await Promise.all(requests);
      noServerError(responses);
      assert.ok(
        responses.some((r) => r.statusCode === 204),
        'no delete was accepted',
      );
      await eventually(
        async () =>
          (await call(t.app, project, 'GET', `/job-executions/${id}`)).statusCode === 404 ? true : undefined,
        'the row to go',
      );
      assert.equal(await t.store.jobExecutions.get(id), undefined);
      await eventually(
        () => (existsSync(path.join(t.dataDir, 'executions', id)) ? undefined : true),
        'the working directory to go',
      );
      assert.equal(await runsOf(marker), 1);
      await eventually(
        () => (processesRunning(['sleep', nap]).length > 0 ? undefined : true),
        `the job's sleep to die`,
      );
    });

    test('concurrent executes each start exactly one job', async () => {
      const started = await Promise.all(Array.from({ length: 24 }, () => start(quick)));
      assert.equal(new Set(started.map((s) => s.id)).size, started.length);
      for (const { id, marker } of started) {
        const ended = await terminalExecution(t.app, project, id);
        assert.equal(ended.info.status, 'SUCCEEDED', JSON.stringify(ended.info));
        assert.equal(await runsOf(marker), 1, `${id} ran ${await runsOf(marker)} times`);
      }
    });

    test('cancels and deletes racing the launch: never a stray job, never a second start', async () => {
      const started = await Promise.all(Array.from({ length: 16 }, () => start(sleeper)));
      // Right away, while the launcher is starting them.
      const responses = await Promise.all(
        started.map(({ id }, i) =>
          i % 2 === 0
            ? call(t.app, project, 'GET', `/job-executions/${id}/cancel`)
            : call(t.app, project, 'DELETE', `/job-executions/${id}`),
        ),
      );
      noServerError(responses);
      for (const [i, { id, marker, nap }] of started.entries()) {
        if (i % 2 === 0) {
          const ended = await terminalExecution(t.app, project, id);
          assert.equal(ended.info.status, 'KILLED', JSON.stringify(ended.info));
        } else {
          await eventually(
            async () => ((await t.store.jobExecutions.get(id)) ? undefined : true),
            `${id} to be deleted`,
          );
          await eventually(
            () => (existsSync(path.join(t.dataDir, 'executions', id)) ? undefined : true),
            `${id}'s directory to go`,
          );
        }
        assert.ok((await runsOf(marker)) <= 1, `${id} started twice`);
        await eventually(
          () => (processesRunning(['sleep', nap]).length > 0 ? undefined : true),
          `the job's sleep to die`,
        );
      }
      // No TOBEKILLED left behind by any of the races.
      const rows = await Promise.all(started.map(({ id }) => t.store.jobExecutions.get(id)));
      assert.ok(rows.every((row) => row === undefined || row.status === 'KILLED'));
    });
  });
}
