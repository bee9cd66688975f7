import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EventRetention } from '../../src/executions/events.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { eventually } from '../support/eventually.js';
import { testDialects } from '../support/databases.js';
import { assertError, call, newProject, ok } from '../support/resources.js';
import { executionEvents, openEventStream, type EventStreamClient, type SseMessage } from '../support/sse.js';
import { executeLocal, shellTemplate, terminalExecution } from '../reliability/support.js';
import { pino } from 'pino';

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'KILLED', 'DONEWITHERROR']);

/** The execution events of one execution, in the order received. */
const eventsOf = (messages: SseMessage[], executionId: string) =>
  executionEvents(messages).filter((event) => event.execution_id === executionId);

const endedIn = (messages: SseMessage[], executionId: string) =>
  eventsOf(messages, executionId).some((event) => TERMINAL.has(event.status));

for (const dialect of testDialects()) {
  describe(`execution event stream (${dialect})`, () => {
    let t: TestApp;
    let base: string;
    const streams: EventStreamClient[] = [];
    const open = async (project: string, headers: Record<string, string> = {}) => {
      const stream = await openEventStream(`${base}/v1.1/${project}/events`, headers);
      streams.push(stream);
      return stream;
    };

    before(async () => {
      t = await createTestApp({
        dialect,
        config: { events: { retentionMs: 60_000, heartbeatMs: 100, maxStreamsPerProject: 3 } },
      });
      base = await t.app.listen({ host: '127.0.0.1', port: 0 });
    });
    after(async () => {
      for (const stream of streams) stream.close();
      await t?.close();
    });

    test("a job's statuses arrive in order, each with a greater id: PENDING, RUNNING, SUCCEEDED", async () => {
      const project = newProject();
      const stream = await open(project);
      assert.equal(stream.status, 200);
      assert.match(stream.headers.get('content-type') ?? '', /^text\/event-stream/);
      const template = await shellTemplate(t.app, project, 'ordered', 'echo ordered');
      const id = await executeLocal(t.app, project, template.id);
      await stream.waitFor((messages) => endedIn(messages, id), 'the execution to end on the stream');

      const events = eventsOf(stream.messages, id);
      assert.deepEqual(
        events.map((event) => [event.previous_status, event.status]),
        [
          [null, 'PENDING'],
          ['PENDING', 'RUNNING'],
          ['RUNNING', 'SUCCEEDED'],
        ],
      );
      for (const event of events) {
        assert.equal(String(event.event_id), event.sseId);
        assert.equal(event.project_id, project);
        assert.match(event.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      }
      const ids = executionEvents(stream.messages).map((event) => event.event_id as number);
      assert.deepEqual(
        [...ids].sort((a, b) => a - b),
        ids,
      );
      assert.equal(new Set(ids).size, ids.length);
    });

    test('cancel ends an execution KILLED on the stream, and deleting it says DELETED', async () => {
      const project = newProject();
      const stream = await open(project);
      const template = await shellTemplate(t.app, project, 'long', 'sleep 60');
      const id = await executeLocal(t.app, project, template.id);
      await stream.waitFor((messages) => eventsOf(messages, id).some((event) => event.status === 'RUNNING'), 'RUNNING');
      ok(await call(t.app, project, 'GET', `/job-executions/${id}/cancel`), 200);
      await stream.waitFor((messages) => eventsOf(messages, id).some((event) => event.status === 'KILLED'), 'KILLED');
      assert.equal((await call(t.app, project, 'DELETE', `/job-executions/${id}`)).statusCode, 204);
      await stream.waitFor((messages) => eventsOf(messages, id).some((event) => event.status === 'DELETED'), 'DELETED');
      assert.deepEqual(
        eventsOf(stream.messages, id).map((event) => event.status),
        ['PENDING', 'RUNNING', 'TOBEKILLED', 'KILLED', 'DELETED'],
      );
      assert.equal(eventsOf(stream.messages, id).at(-1)!.previous_status, 'KILLED');
    });

    test('reconnecting with Last-Event-ID replays what was missed, in order, with no gap, while jobs keep running', async () => {
      const project = newProject();
      const reference = await open(project);
      const template = await shellTemplate(t.app, project, 'resumed', 'sleep 0.$(( $$ % 5 ))');
      const first = await executeLocal(t.app, project, template.id);
      await reference.waitFor((messages) => endedIn(messages, first), 'the first execution to end');
      const resumeAfter = executionEvents(reference.messages)[1]!.sseId;

      // Events happen while no one listens, then while the resumed stream replays.
      const missed = [await executeLocal(t.app, project, template.id), await executeLocal(t.app, project, template.id)];
      for (const id of missed) await terminalExecution(t.app, project, id);
      const resumed = await open(project, { 'last-event-id': resumeAfter });
      const during: string[] = [];
      for (let i = 0; i < 4; i += 1) during.push(await executeLocal(t.app, project, template.id));
      for (const id of [...missed, ...during]) {
        await resumed.waitFor((messages) => endedIn(messages, id), `execution ${id} on the resumed stream`);
        await reference.waitFor((messages) => endedIn(messages, id), `execution ${id} on the reference stream`);
      }

      const expected = executionEvents(reference.messages).filter((event) => Number(event.sseId) > Number(resumeAfter));
      const got = executionEvents(resumed.messages).slice(0, expected.length);
      assert.deepEqual(got, expected);
      assert.equal(got[0]!.execution_id, first);
      assert.equal(got[0]!.status, 'SUCCEEDED');
    });

    test("a project's stream carries only its own executions", async () => {
      const mine = newProject();
      const other = newProject();
      const stream = await open(mine);
      const otherStream = await open(other);
      const otherTemplate = await shellTemplate(t.app, other, 'theirs', 'echo theirs');
      const theirs = await executeLocal(t.app, other, otherTemplate.id);
      await otherStream.waitFor((messages) => endedIn(messages, theirs), "the other project's execution on its stream");
      const template = await shellTemplate(t.app, mine, 'mine', 'echo mine');
      const own = await executeLocal(t.app, mine, template.id);
      // Events arrive in id order, so the other project's earlier events would have come first.
      await stream.waitFor((messages) => endedIn(messages, own), 'my execution on my stream');
      assert.deepEqual(new Set(executionEvents(stream.messages).map((event) => event.project_id)), new Set([mine]));
      assert.deepEqual(new Set(executionEvents(stream.messages).map((event) => event.execution_id)), new Set([own]));
      assert.ok(!executionEvents(otherStream.messages).some((event) => event.execution_id === own));
    });

    test('heartbeats keep an idle stream talking', async () => {
      const stream = await open(newProject());
      await eventually(
        () => (stream.comments.filter((comment) => comment === 'heartbeat').length >= 2 ? true : undefined),
        'two heartbeats',
      );
    });

    test('a bad Last-Event-ID is a 400; an id from no known event, or one older than the retention, starts with a reset', async () => {
      const project = newProject();
      const bad = await open(project, { 'last-event-id': 'abc' });
      assert.equal(bad.status, 400);
      assert.equal(JSON.parse(bad.error!).error_name, 'INVALID_DATA');

      const unknown = await open(project, { 'last-event-id': '999999999999' });
      await unknown.waitFor((messages) => messages.length > 0, 'the reset');
      assert.equal(unknown.messages[0]!.event, 'reset');
      assert.equal(JSON.parse(unknown.messages[0]!.data).reason, 'unknown');

      const template = await shellTemplate(t.app, project, 'pruned', 'echo pruned');
      const id = await executeLocal(t.app, project, template.id);
      await terminalExecution(t.app, project, id);
      const retention = new EventRetention({ store: t.store, retentionMs: 60_000, logger: pino({ level: 'silent' }) });
      const pruned = await retention.prune(Date.now() + 120_000);
      assert.ok(pruned.events >= 3);
      unknown.close();
      const expired = await open(project, { 'last-event-id': '1' });
      await expired.waitFor((messages) => messages.length > 0, 'the reset');
      assert.equal(expired.messages[0]!.event, 'reset');
      const data = JSON.parse(expired.messages[0]!.data);
      assert.equal(data.reason, 'expired');
      assert.equal(data.last_event_id, 1);
      assert.match(data.message, /retention/);
    });

    test('streams per project are bounded: one more is refused with 429 until one closes', async () => {
      const project = newProject();
      const opened = [await open(project), await open(project), await open(project)];
      for (const stream of opened) assert.equal(stream.status, 200);
      const refused = await open(project);
      assert.equal(refused.status, 429);
      assert.equal(JSON.parse(refused.error!).error_name, 'TOO_MANY_REQUESTS');
      assert.equal((await open(newProject())).status, 200, 'other projects are not held up');
      opened[0]!.close();
      await eventually(async () => {
        const again = await open(project);
        if (again.status === 200) return true;
        return undefined;
      }, 'a stream slot to free up');
    });

    test('the events route answers Sahara errors for what it refuses, never a 5xx', async () => {
      assertError(
        await t.app.inject({ method: 'GET', url: `/v1.1/${newProject()}/events?bogus=1` }),
        400,
        'VALIDATION_ERROR',
      );
      const project = newProject();
      for (const value of ['-1', '1.5', '1e3', '9007199254740993', 'x'.repeat(5000), '%00', '0x10', '٣']) {
        const headers = /^[\x20-\x7e]*$/.test(value) ? [{ 'last-event-id': value }] : [];
        for (const stream of [
          ...(await Promise.all(headers.map((header) => open(project, header)))),
          await openEventStream(`${base}/v1.1/${project}/events?last_event_id=${encodeURIComponent(value)}`),
        ]) {
          assert.equal(stream.status, 400, `${value}: ${stream.status} ${stream.error}`);
          assert.deepEqual(Object.keys(JSON.parse(stream.error!)).sort(), [
            'error_code',
            'error_message',
            'error_name',
          ]);
        }
      }
    });
  });

  describe(`event streams at shutdown (${dialect})`, () => {
    test('closing Oasis ends every open stream cleanly', async () => {
      const t = await createTestApp({ dialect });
      try {
        const base = await t.app.listen({ host: '127.0.0.1', port: 0 });
        const stream = await openEventStream(`${base}/v1.1/${newProject()}/events`);
        assert.equal(stream.status, 200);
        await t.app.close();
        await stream.ended;
      } finally {
        await t.close();
      }
    });
  });
}
