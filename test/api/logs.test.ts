import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { get, type IncomingMessage } from 'node:http';
import { after, before, describe, test } from 'node:test';

import { LOG_CHUNK_BYTES, MAX_FOLLOWS } from '../../src/api/logs.js';
import { type TestApp, createTestApp } from '../support/app.js';
import { testDialects } from '../support/databases.js';
import { eventually } from '../support/eventually.js';
import { assertError, createIdleCluster } from '../support/resources.js';
import { insertExecution } from '../support/rows.js';
import { Client } from '../support/client.js';

const logsOf = (app: TestApp['app'], project: string, id: string, query = '') =>
  app.inject({ method: 'GET', url: `/v1.1/${project}/job-executions/${id}/logs${query}` });

/** Reads a followed response as it arrives; `seen` resolves once the text so far contains `text`. */
function followed(url: string) {
  let text = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  const response = new Promise<IncomingMessage>((resolve, reject) => get(url, resolve).on('error', reject));
  const done = response.then(
    (message) =>
      new Promise<{ status: number; headers: IncomingMessage['headers']; trailers: NodeJS.Dict<string>; text: string }>(
        (resolve, reject) => {
          message.setEncoding('utf8');
          message.on('data', (piece: string) => {
            text += piece;
            for (const waiter of waiters.filter((candidate) => text.includes(candidate.text))) waiter.resolve();
          });
          message.on('end', () =>
            resolve({ status: message.statusCode ?? 0, headers: message.headers, trailers: message.trailers, text }),
          );
          message.on('error', reject);
        },
      ),
  );
  const seen = (wanted: string) =>
    text.includes(wanted) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ text: wanted, resolve }));
  return { seen, done };
}

for (const dialect of testDialects()) {
  describe(`job execution logs (${dialect})`, () => {
    let t: TestApp;
    let base: string;
    let owner: Client;
    let other: Client;

    before(async () => {
      t = await createTestApp({ dialect });
      base = await t.app.listen({ host: '127.0.0.1', port: 0 });
      owner = new Client(t.app, `logs-${randomUUID().slice(0, 8)}`);
      other = new Client(t.app, `other-${randomUUID().slice(0, 8)}`);
    });
    after(() => t.close());

    test("a finished job's stdout and stderr are read from any offset; Oasis-Log-Offset says where to go on", async () => {
      const id = await owner.run(await owner.shellTemplate('echo line1\necho line2\necho oops >&2\n'));
      await owner.waitFor(id, (execution) => execution.info.status === 'SUCCEEDED');

      const whole = await logsOf(t.app, owner.project, id);
      assert.equal(whole.statusCode, 200, whole.body);
      assert.match(String(whole.headers['content-type']), /^text\/plain/);
      assert.equal(whole.body, 'line1\nline2\n');
      assert.equal(whole.headers['oasis-log-offset'], '12');

      const rest = await logsOf(t.app, owner.project, id, '?stream=stdout&offset=6');
      assert.equal(rest.body, 'line2\n');
      assert.equal(rest.headers['oasis-log-offset'], '12');

      const atEnd = await logsOf(t.app, owner.project, id, '?offset=12');
      assert.equal(atEnd.statusCode, 200);
      assert.equal(atEnd.body, '');
      assert.equal(atEnd.headers['oasis-log-offset'], '12');
      const pastEnd = await logsOf(t.app, owner.project, id, '?offset=5000');
      assert.equal(pastEnd.body, '');
      assert.equal(pastEnd.headers['oasis-log-offset'], '5000');

      const stderr = await logsOf(t.app, owner.project, id, '?stream=stderr');
      assert.equal(stderr.body, 'oops\n');
      assert.equal(stderr.headers['oasis-log-offset'], '5');
    });

    test('a large output comes in bounded chunks that join into the whole', async () => {
      const size = LOG_CHUNK_BYTES + LOG_CHUNK_BYTES / 2;
      const id = await owner.run(await owner.shellTemplate(`head -c ${size} /dev/zero | tr '\\0' x\n`));
      await owner.waitFor(id, (execution) => execution.info.status === 'SUCCEEDED');
      const first = await logsOf(t.app, owner.project, id);
      assert.equal(first.rawPayload.length, LOG_CHUNK_BYTES);
      assert.equal(first.headers['oasis-log-offset'], String(LOG_CHUNK_BYTES));
      const second = await logsOf(t.app, owner.project, id, `?offset=${LOG_CHUNK_BYTES}`);
      assert.equal(second.rawPayload.length, size - LOG_CHUNK_BYTES);
      assert.equal(second.headers['oasis-log-offset'], String(size));
      assert.equal(Buffer.concat([first.rawPayload, second.rawPayload]).toString(), 'x'.repeat(size));
    });

    test('follow streams output as it is written and ends, with the rest, when the execution ends', async () => {
      // The job waits until it is cancelled and then says goodbye: the last line comes after the
      // request to stop, so the response must stay open for it.
      const script = "trap 'echo last; exit 3' TERM\necho first\nsleep 300 &\nwait\n";
      const id = await owner.run(await owner.shellTemplate(script));
      const follow = followed(`${base}/v1.1/${owner.project}/job-executions/${id}/logs?follow=true`);
      await follow.seen('first\n');
      const status = (await owner.execution(id)).info.status as string;
      assert.ok(
        ['RUNNING', 'PENDING'].includes(status),
        `the job is still running while its output streams (${status})`,
      );

      assert.equal((await owner.request('GET', `/job-executions/${id}/cancel`)).status, 200);
      const { status: code, headers, trailers, text } = await follow.done;
      assert.equal(code, 200);
      assert.equal(headers['oasis-log-offset'], '0');
      assert.equal(text, 'first\nlast\n');
      assert.equal(trailers['oasis-log-offset'], String(Buffer.byteLength(text)));
      assert.equal((await owner.execution(id)).info.status, 'KILLED');
    });

    test('follow from an offset of a finished job sends the rest and ends at once', async () => {
      const id = await owner.run(await owner.shellTemplate('echo abcdef\n'));
      await owner.waitFor(id, (execution) => execution.info.status === 'SUCCEEDED');
      const { text, trailers } = await followed(
        `${base}/v1.1/${owner.project}/job-executions/${id}/logs?follow=true&offset=3`,
      ).done;
      assert.equal(text, 'def\n');
      assert.equal(trailers['oasis-log-offset'], '7');
    });

    test('an execution not started yet has no output', async () => {
      const cluster = await createIdleCluster(t.store, owner.project);
      const template = await owner.shellTemplate('echo never\n');
      const pending = await insertExecution(t.store, {
        tenant_id: owner.project,
        status: 'PENDING',
        job_id: template,
        cluster_id: cluster.id,
      });
      const response = await logsOf(t.app, owner.project, pending.id, '?offset=3');
      assert.equal(response.statusCode, 200);
      assert.equal(response.body, '');
      assert.equal(response.headers['oasis-log-offset'], '3');
    });

    test('another project sees the logs only of a public execution, and gets a 404 otherwise', async () => {
      const id = await owner.run(await owner.shellTemplate('echo private\n'));
      await owner.waitFor(id, (execution) => execution.info.status === 'SUCCEEDED');
      const message = assertError(await logsOf(t.app, other.project, id), 404, 'NOT_FOUND');
      assert.match(message, new RegExp(id));
      assertError(await logsOf(t.app, other.project, id, '?follow=true'), 404, 'NOT_FOUND');
      assertError(await logsOf(t.app, owner.project, randomUUID()), 404, 'NOT_FOUND');

      assert.equal((await owner.request('PATCH', `/job-executions/${id}`, { is_public: true })).status, 202);
      const shared = await eventually(async () => {
        const response = await logsOf(t.app, other.project, id);
        return response.statusCode === 200 ? response : undefined;
      }, "the public execution's logs");
      assert.equal(shared.body, 'private\n');
    });

    test('a project may follow a bounded number of logs at once; others are not held up, and closed ones free their place', async () => {
      const busy = new Client(t.app, `busy-${randomUUID().slice(0, 8)}`);
      const id = await busy.run(await busy.shellTemplate("trap 'exit 0' TERM\necho up\nsleep 300 &\nwait\n"));
      const url = `${base}/v1.1/${busy.project}/job-executions/${id}/logs?follow=true`;
      const follows = Array.from({ length: MAX_FOLLOWS.project }, () => followed(url));
      await Promise.all(follows.map((follow) => follow.seen('up\n')));
      const refused = await logsOf(t.app, busy.project, id, '?follow=true');
      assertError(refused, 503, 'SERVICE_UNAVAILABLE');
      assert.equal((await logsOf(t.app, busy.project, id)).body, 'up\n', 'reading without follow still works');

      const calm = await other.run(await other.shellTemplate('echo calm\n'));
      assert.equal(
        (await followed(`${base}/v1.1/${other.project}/job-executions/${calm}/logs?follow=true`).done).text,
        'calm\n',
      );

      assert.equal((await busy.request('GET', `/job-executions/${id}/cancel`)).status, 200);
      for (const follow of follows) assert.equal((await follow.done).text, 'up\n');
      const again = await eventually(async () => {
        const response = await logsOf(t.app, busy.project, id, '?follow=true');
        return response.statusCode === 200 ? response : undefined;
      }, 'a follow once the others have closed');
      assert.equal(again.body, 'up\n');
    });

    test("an invalid stream, offset or follow is a 400 with Sahara's body", async () => {
      const id = await owner.run(await owner.shellTemplate('echo x\n'));
      for (const query of [
        '?stream=stdin',
        '?stream=',
        '?offset=-1',
        '?offset=abc',
        '?offset=1e3',
        '?offset=1.5',
        `?offset=${'9'.repeat(16)}`,
        '?follow=yes',
      ]) {
        const message = assertError(await logsOf(t.app, owner.project, id, query), 400, 'INVALID_DATA');
        assert.match(message, /stream|offset|follow/, query);
      }
    });
  });
}

describe('job execution logs at shutdown', () => {
  test('a followed response ends when Oasis closes, and does not hold the close up', async () => {
    const t = await createTestApp({ dialect: 'sqlite' });
    try {
      const base = await t.app.listen({ host: '127.0.0.1', port: 0 });
      const client = new Client(t.app, `close-${randomUUID().slice(0, 8)}`);
      const id = await client.run(await client.shellTemplate('echo before-close\nsleep 300\n'));
      const follow = followed(`${base}/v1.1/${client.project}/job-executions/${id}/logs?follow=true`);
      await follow.seen('before-close\n');
      await t.app.close();
      const { text, trailers } = await follow.done;
      assert.equal(text, 'before-close\n');
      assert.equal(trailers['oasis-log-offset'], '13');
    } finally {
      await t.close();
    }
  });
});
