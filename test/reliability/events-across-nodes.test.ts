import assert from 'node:assert/strict';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { LOCAL_CLUSTER_ID } from '../../src/store/index.js';
import { openTestStore, testDialects, type TestDatabase } from '../support/databases.js';
import { startOasis, type OasisProcess } from '../support/server.js';
import { executionEvents, openEventStream, type EventStreamClient, type SseMessage } from '../support/sse.js';
import { eventually, http } from './support.js';
import { newProject } from '../support/resources.js';

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'KILLED', 'DONEWITHERROR']);
const endedIn = (messages: SseMessage[], id: string) =>
  executionEvents(messages).some((event) => event.execution_id === id && TERMINAL.has(event.status));

/**
 * Two real Oasis processes on one PostgreSQL database: what one node does, the other node's
 * streams see (the trigger's NOTIFY reaches every node), and each webhook delivery is sent once.
 */
if (testDialects().includes('postgres')) {
  describe('execution events across two nodes on PostgreSQL', () => {
    let database: TestDatabase;
    let nodeA: OasisProcess;
    let nodeB: OasisProcess;
    const streams: EventStreamClient[] = [];
    const received: { eventId: string; body: string }[] = [];
    const receiver = createServer((request: IncomingMessage, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        received.push({
          eventId: String(request.headers['oasis-event-id']),
          body: Buffer.concat(chunks).toString('utf8'),
        });
        response.writeHead(204).end();
      });
    });

    before(async () => {
      database = await openTestStore('postgres');
      receiver.listen(0, '127.0.0.1');
      await once(receiver, 'listening');
      const env = (node: string) => ({
        OASIS_NODE_ID: node,
        OASIS_DATABASE_URL: database.url!,
        OASIS_POLL_INTERVAL: '200ms',
        OASIS_WEBHOOK_ALLOW_PRIVATE: 'on',
        OASIS_WEBHOOK_RETRY_DELAY: '100ms',
      });
      [nodeA, nodeB] = await Promise.all([startOasis({ env: env('node-a') }), startOasis({ env: env('node-b') })]);
    });
    after(async () => {
      for (const stream of streams) stream.close();
      for (const node of [nodeA, nodeB]) {
        if (!node) continue;
        await node.stop();
        await rm(node.dataDir, { recursive: true, force: true });
      }
      await new Promise((resolve) => receiver.close(resolve));
      await database?.drop();
    });

    const open = async (node: OasisProcess, project: string, headers: Record<string, string> = {}) => {
      const stream = await openEventStream(`${node.url}/v1.1/${project}/events`, headers);
      assert.equal(stream.status, 200, stream.error);
      streams.push(stream);
      return stream;
    };

    /** A Shell template made through `node`; returns its id. */
    const template = async (node: OasisProcess, project: string, script: string) => {
      const api = (method: string, route: string, body?: unknown, headers?: Record<string, string>) =>
        http(node.url, method, `/v1.1/${project}${route}`, body, headers);
      const name = `across-${Math.random().toString(36).slice(2, 8)}`;
      const jbi = await api('PUT', `/job-binary-internals/${name}.sh`, script, {
        'content-type': 'application/octet-stream',
      });
      const binary = await api('POST', '/job-binaries', {
        name: `${name}.sh`,
        url: `internal-db://${jbi.json.job_binary_internal.id}`,
      });
      const job = await api('POST', '/jobs', { name, type: 'Shell', mains: [binary.json.job_binary.id] });
      assert.equal(job.status, 202, job.text);
      return job.json.job.id as string;
    };
    const execute = async (node: OasisProcess, project: string, templateId: string) => {
      const response = await http(node.url, 'POST', `/v1.1/${project}/jobs/${templateId}/execute`, {
        cluster_id: LOCAL_CLUSTER_ID,
      });
      assert.equal(response.status, 202, response.text);
      return response.json.job_execution.id as string;
    };

    test("an execution run through node A is seen, in order, on node B's stream", async () => {
      const project = newProject();
      const onB = await open(nodeB, project);
      const id = await execute(nodeA, project, await template(nodeA, project, 'echo across'));
      await onB.waitFor((messages) => endedIn(messages, id), "the execution's end on node B");
      const events = executionEvents(onB.messages).filter((event) => event.execution_id === id);
      assert.deepEqual(
        events.map((event) => event.status),
        ['PENDING', 'RUNNING', 'SUCCEEDED'],
      );
    });

    test("a stream resumed on node B after node A's last id replays what was missed with no gap", async () => {
      const project = newProject();
      const onA = await open(nodeA, project);
      const templateId = await template(nodeA, project, 'sleep 0.2');
      const first = await execute(nodeA, project, templateId);
      await onA.waitFor((messages) => endedIn(messages, first), 'the first execution on node A');
      const resumeAfter = executionEvents(onA.messages)[0]!.sseId;
      const more = [await execute(nodeA, project, templateId), await execute(nodeB, project, templateId)];
      const onB = await open(nodeB, project, { 'last-event-id': resumeAfter });
      more.push(await execute(nodeA, project, templateId));
      for (const id of more) {
        await onA.waitFor((messages) => endedIn(messages, id), `${id} on node A`);
        await onB.waitFor((messages) => endedIn(messages, id), `${id} on node B`);
      }
      const expected = executionEvents(onA.messages).filter((event) => Number(event.sseId) > Number(resumeAfter));
      assert.deepEqual(executionEvents(onB.messages).slice(0, expected.length), expected);
    });

    test('with both nodes delivering, each webhook delivery is sent once', async () => {
      const project = newProject();
      const { port } = receiver.address() as AddressInfo;
      const created = await http(nodeA.url, 'POST', `/v1.1/${project}/webhooks`, {
        url: `http://127.0.0.1:${port}/across`,
        secret: 'across-nodes-secret',
      });
      assert.equal(created.status, 202, created.text);
      const onB = await open(nodeB, project);
      const templateId = await template(nodeB, project, 'echo delivered');
      const ids: string[] = [];
      for (let i = 0; i < 6; i += 1) ids.push(await execute(i % 2 === 0 ? nodeA : nodeB, project, templateId));
      for (const id of ids) await onB.waitFor((messages) => endedIn(messages, id), `${id} to end`);
      const mine = () => received.filter((entry) => ids.some((id) => entry.body.includes(id)));
      await eventually(
        () => (new Set(mine().map((entry) => entry.eventId)).size === ids.length ? true : undefined),
        'a delivery per execution',
      );
      // Both nodes keep polling the outbox; a second send of any delivery would show up here.
      const terminalEvents = executionEvents(onB.messages).filter(
        (event) => ids.includes(event.execution_id) && TERMINAL.has(event.status),
      );
      assert.deepEqual(
        new Set(mine().map((entry) => entry.eventId)),
        new Set(terminalEvents.map((event) => event.sseId)),
      );
      assert.equal(mine().length, ids.length, 'a delivery was sent twice');
    });

    test("node B's streams end cleanly when it shuts down; node A's go on", async () => {
      const project = newProject();
      const onA = await open(nodeA, project);
      const onB = await open(nodeB, project);
      await nodeB.stop();
      await onB.ended;
      const id = await execute(nodeA, project, await template(nodeA, project, 'echo still'));
      await onA.waitFor((messages) => endedIn(messages, id), 'node A still streaming');
      assert.ok(nodeB.logs.some((line) => line.includes('shutting down')));
    });
  });
}
