import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { WebhookDeliveries } from '../../src/executions/webhooks.js';
import { LOCAL_CLUSTER_ID } from '../../src/store/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { openTestStore, testDialects, type TestDatabase } from '../support/databases.js';
import { eventually } from '../support/eventually.js';
import { assertError, call, newProject, ok } from '../support/resources.js';
import { startOasis, type OasisProcess } from '../support/server.js';
import { executeLocal, http, shellTemplate, terminalExecution } from '../reliability/support.js';

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'KILLED', 'DONEWITHERROR']);

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** The status the receiver answered (0: it dropped the connection; -1: it never answered). */
  answered: number;
}

/**
 * A real HTTP receiver on 127.0.0.1. `answer(path, attempt)` decides each reply by the request's
 * path and how many requests that path has had (1 for the first): a status, 0 to drop the
 * connection, -1 to never answer.
 */
async function startReceiver(answer: (path: string, attempt: number) => number) {
  const received: Received[] = [];
  const attempts = new Map<string, number>();
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = request.url ?? '/';
      const attempt = (attempts.get(path) ?? 0) + 1;
      attempts.set(path, attempt);
      const status = answer(path, attempt);
      received.push({ path, headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), answered: status });
      if (status === 0) request.socket.destroy();
      else if (status > 0) response.writeHead(status).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    port,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const hmac = (secret: string, body: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

/** Runs a Shell job to its end through a real Oasis; returns the execution id. */
async function runJob(oasis: OasisProcess, project: string, script = 'echo done'): Promise<string> {
  const api = (method: string, route: string, body?: unknown, headers?: Record<string, string>) =>
    http(oasis.url, method, `/v1.1/${project}${route}`, body, headers);
  const name = `job-${randomUUID().slice(0, 8)}`;
  const jbi = await api('PUT', `/job-binary-internals/${name}.sh`, script, {
    'content-type': 'application/octet-stream',
  });
  assert.equal(jbi.status, 202, jbi.text);
  const binary = await api('POST', '/job-binaries', {
    name: `${name}.sh`,
    url: `internal-db://${jbi.json.job_binary_internal.id}`,
  });
  assert.equal(binary.status, 202, binary.text);
  const template = await api('POST', '/jobs', { name, type: 'Shell', mains: [binary.json.job_binary.id] });
  assert.equal(template.status, 202, template.text);
  const executed = await api('POST', `/jobs/${template.json.job.id}/execute`, { cluster_id: LOCAL_CLUSTER_ID });
  assert.equal(executed.status, 202, executed.text);
  const id = executed.json.job_execution.id as string;
  await eventually(async () => {
    const shown = await api('GET', `/job-executions/${id}`);
    return TERMINAL.has(shown.json?.job_execution?.info?.status) ? true : undefined;
  }, `execution ${id} to end`);
  return id;
}

const deliveriesOf = (received: Received[], executionId: string) =>
  received
    .filter((entry) => entry.body.includes(executionId))
    .map((entry) => ({ ...entry, json: JSON.parse(entry.body) }));

for (const dialect of testDialects()) {
  describe(`webhooks through a real Oasis (${dialect})`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    after(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });

    /** A database of the test's own, shared by the Oasis processes a test starts on it. */
    const startOn = async (database: TestDatabase | undefined, dataDir?: string) => {
      const oasis = await startOasis({
        ...(dataDir ? { dataDir } : {}),
        env: {
          OASIS_NODE_ID: 'webhooks-node',
          OASIS_POLL_INTERVAL: '200ms',
          OASIS_WEBHOOK_ALLOW_PRIVATE: 'on',
          OASIS_WEBHOOK_RETRY_DELAY: '100ms',
          OASIS_WEBHOOK_ATTEMPTS: '20',
          OASIS_WEBHOOK_TIMEOUT: '5s',
          ...(database?.url ? { OASIS_DATABASE_URL: database.url } : {}),
        },
      });
      return oasis;
    };
    const newDatabase = async () => {
      if (dialect !== 'postgres') return undefined;
      const database = await openTestStore('postgres');
      cleanups.push(() => database.drop());
      return database;
    };

    test('a terminal status is POSTed signed with the secret, with its event id; the secret is never shown nor logged', async () => {
      const receiver = await startReceiver(() => 204);
      cleanups.push(receiver.close);
      const database = await newDatabase();
      const oasis = await startOn(database);
      cleanups.push(async () => {
        await oasis.stop();
        await rm(oasis.dataDir, { recursive: true, force: true });
      });
      const project = newProject();
      const secret = `s3cret-${randomUUID()}`;
      const created = await http(oasis.url, 'POST', `/v1.1/${project}/webhooks`, {
        url: receiver.url('/hook'),
        secret,
      });
      assert.equal(created.status, 202, created.text);
      const webhook = created.json.webhook;
      assert.equal(webhook.url, receiver.url('/hook'));
      assert.equal(webhook.secret, '********');
      const listed = await http(oasis.url, 'GET', `/v1.1/${project}/webhooks`);
      assert.deepEqual(listed.json.webhooks, [webhook]);
      assert.deepEqual((await http(oasis.url, 'GET', `/v1.1/${project}/webhooks/${webhook.id}`)).json.webhook, webhook);

      const id = await runJob(oasis, project);
      const [delivery] = await eventually(() => {
        const found = deliveriesOf(receiver.received, id);
        return found.length > 0 ? found : undefined;
      }, 'the delivery');
      assert.equal(delivery!.headers['content-type'], 'application/json');
      assert.equal(delivery!.headers['oasis-signature'], hmac(secret, delivery!.body));
      assert.notEqual(delivery!.headers['oasis-signature'], hmac('another secret', delivery!.body));
      assert.equal(delivery!.headers['oasis-event-id'], String(delivery!.json.event_id));
      assert.deepEqual(
        { ...delivery!.json, event_id: undefined, time: undefined },
        {
          event_id: undefined,
          time: undefined,
          webhook_id: webhook.id,
          execution_id: id,
          project_id: project,
          status: 'SUCCEEDED',
          previous_status: 'RUNNING',
        },
      );
      // Only terminal statuses are sent: PENDING and RUNNING came first and were not.
      for (const entry of receiver.received) assert.ok(TERMINAL.has(JSON.parse(entry.body).status), entry.body);
      assert.equal(deliveriesOf(receiver.received, id).length, 1);

      assert.equal((await http(oasis.url, 'DELETE', `/v1.1/${project}/webhooks/${webhook.id}`)).status, 204);
      assert.equal((await http(oasis.url, 'GET', `/v1.1/${project}/webhooks/${webhook.id}`)).status, 404);
      assert.ok(!oasis.logs.some((line) => line.includes(secret)), 'the secret appears in the logs');
    });

    test('a receiver that fails twice (a dropped connection, then a 500) gets the delivery on the third attempt, same body and signature', async () => {
      const receiver = await startReceiver((_path, attempt) => (attempt === 1 ? 0 : attempt === 2 ? 500 : 200));
      cleanups.push(receiver.close);
      const database = await newDatabase();
      const oasis = await startOn(database);
      cleanups.push(async () => {
        await oasis.stop();
        await rm(oasis.dataDir, { recursive: true, force: true });
      });
      const project = newProject();
      const secret = 'flaky-receiver-secret';
      assert.equal(
        (await http(oasis.url, 'POST', `/v1.1/${project}/webhooks`, { url: receiver.url('/flaky'), secret })).status,
        202,
      );
      const id = await runJob(oasis, project);
      const attempts = await eventually(() => {
        const found = deliveriesOf(receiver.received, id);
        return found.some((entry) => entry.answered === 200) ? found : undefined;
      }, 'the third attempt to succeed');
      assert.deepEqual(
        attempts.map((entry) => entry.answered),
        [0, 500, 200],
      );
      assert.equal(new Set(attempts.map((entry) => entry.body)).size, 1);
      for (const entry of attempts) {
        assert.equal(entry.headers['oasis-signature'], hmac(secret, entry.body));
        assert.equal(entry.headers['oasis-event-id'], attempts[0]!.headers['oasis-event-id']);
      }
    });

    test('a delivery still pending when Oasis stops is delivered after it restarts', async () => {
      let up = false;
      const receiver = await startReceiver(() => (up ? 200 : 503));
      cleanups.push(receiver.close);
      const database = await newDatabase();
      let oasis = await startOn(database);
      const dataDir = oasis.dataDir;
      cleanups.push(async () => {
        await oasis.stop();
        await rm(dataDir, { recursive: true, force: true });
      });
      const project = newProject();
      const secret = 'restart-receiver-secret';
      assert.equal(
        (await http(oasis.url, 'POST', `/v1.1/${project}/webhooks`, { url: receiver.url('/restart'), secret })).status,
        202,
      );
      const id = await runJob(oasis, project);
      await eventually(
        () => (deliveriesOf(receiver.received, id).length > 0 ? true : undefined),
        'a first, refused attempt',
      );
      await oasis.stop();
      const before = deliveriesOf(receiver.received, id).length;
      assert.ok(deliveriesOf(receiver.received, id).every((entry) => entry.answered === 503));

      up = true;
      oasis = await startOn(database, dataDir);
      const delivered = await eventually(() => {
        const found = deliveriesOf(receiver.received, id);
        return found.some((entry) => entry.answered === 200) ? found : undefined;
      }, 'the delivery after the restart');
      assert.ok(delivered.length > before);
      assert.equal(delivered.at(-1)!.headers['oasis-signature'], hmac(secret, delivered.at(-1)!.body));
      assert.equal(delivered.at(-1)!.json.execution_id, id);
    });
  });

  describe(`webhook registration and SSRF refusal (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ dialect });
    });
    after(async () => {
      await t?.close();
    });

    test('loopback, private, link-local (metadata) and non-http URLs are refused by default', async () => {
      const project = newProject();
      const secret = 'a-secret-of-16-chars';
      for (const url of [
        'http://127.0.0.1:8080/hook',
        'http://169.254.169.254/latest/meta-data/',
        'http://10.1.2.3/hook',
        'http://192.168.1.1/hook',
        'http://172.16.0.1/hook',
        'http://[::1]/hook',
        'http://[::ffff:127.0.0.1]/hook',
        'http://[fe80::1]/hook',
        'http://0.0.0.0/hook',
        'http://localhost:9000/hook',
        'ftp://example.com/hook',
        'file:///etc/passwd',
        'http://user:password@example.com/hook',
        'not a url',
      ]) {
        const message = assertError(
          await call(t.app, project, 'POST', '/webhooks', { url, secret }),
          400,
          'INVALID_DATA',
        );
        assert.ok(!message.includes(secret), message);
      }
      ok(await call(t.app, project, 'POST', '/webhooks', { url: 'https://hooks.example.com/oasis', secret }), 202);
    });

    test('with private targets allowed, link-local (metadata) addresses stay refused', async () => {
      const allowing = await createTestApp({
        dialect,
        config: { webhooks: { allowPrivate: true, retryDelayMs: 100, maxAttempts: 3, timeoutMs: 1_000 } },
      });
      try {
        const project = newProject();
        const secret = 'a-secret-of-16-chars';
        ok(await call(allowing.app, project, 'POST', '/webhooks', { url: 'http://127.0.0.1:8080/hook', secret }), 202);
        assertError(
          await call(allowing.app, project, 'POST', '/webhooks', { url: 'http://169.254.169.254/', secret }),
          400,
          'INVALID_DATA',
        );
        assertError(
          await call(allowing.app, project, 'POST', '/webhooks', { url: 'http://[fe80::1]/', secret }),
          400,
          'INVALID_DATA',
        );
      } finally {
        await allowing.close();
      }
    });

    test('the address is checked again at delivery: a name that now resolves to loopback is never sent to', async () => {
      const receiver = await startReceiver(() => 200);
      const deliveries = new WebhookDeliveries({
        store: t.store,
        nodeId: 'ssrf-node',
        allowPrivate: false,
        retryDelayMs: 100,
        maxAttempts: 5,
        timeoutMs: 2_000,
        logger: pino({ level: 'silent' }),
      });
      deliveries.start();
      try {
        const project = newProject();
        // As if `localhost` had resolved to a public address when it was registered.
        const webhook = await t.store.webhooks.insertBounded(
          {
            id: randomUUID(),
            tenant_id: project,
            url: `http://localhost:${receiver.port}/rebound`,
            secret: 'a-secret-of-16-chars',
          },
          10,
        );
        const template = await shellTemplate(t.app, project, 'rebound', 'echo rebound');
        const id = await executeLocal(t.app, project, template.id);
        await terminalExecution(t.app, project, id);
        const [failed] = await eventually(async () => {
          const found = await t.store.webhooks.listDeliveries(webhook!.id, 10);
          return found.some((delivery) => delivery.state === 'failed') ? found : undefined;
        }, 'the delivery to be refused');
        assert.match(failed!.last_error!, /refused: localhost resolves to .*loopback or private/);
        assert.equal(failed!.attempts, 1, 'a refused address is not retried');
        assert.equal(receiver.received.length, 0);
      } finally {
        await deliveries.stop();
        await receiver.close();
      }
    });

    test('a receiver that never succeeds gets the documented number of attempts, a timeout counting as a failure, then the delivery is given up', async () => {
      const receiver = await startReceiver((_path, attempt) => (attempt === 1 ? -1 : 500));
      const deliveries = new WebhookDeliveries({
        store: t.store,
        nodeId: 'giving-up-node',
        allowPrivate: true,
        retryDelayMs: 50,
        maxAttempts: 3,
        timeoutMs: 1_000,
        logger: pino({ level: 'silent' }),
      });
      deliveries.start();
      try {
        const project = newProject();
        const webhook = await t.store.webhooks.insertBounded(
          { id: randomUUID(), tenant_id: project, url: receiver.url('/never'), secret: 'a-secret-of-16-chars' },
          10,
        );
        const template = await shellTemplate(t.app, project, 'unheard', 'exit 3');
        const id = await executeLocal(t.app, project, template.id);
        assert.equal((await terminalExecution(t.app, project, id)).info.status, 'DONEWITHERROR');
        const [failed] = await eventually(async () => {
          const found = await t.store.webhooks.listDeliveries(webhook!.id, 10);
          return found.some((delivery) => delivery.state === 'failed') ? found : undefined;
        }, 'the delivery to be given up');
        assert.equal(failed!.attempts, 3);
        assert.equal(failed!.status, 'DONEWITHERROR');
        assert.equal(failed!.last_error, 'the receiver answered 500');
        assert.deepEqual(
          receiver.received.map((entry) => entry.answered),
          [-1, 500, 500],
        );
      } finally {
        await deliveries.stop();
        await receiver.close();
      }
    });

    test('inputs are bounded: URL length, secret length, webhooks per project; unknown fields refused; the secret is never echoed', async () => {
      const project = newProject();
      const secret = 'a-secret-of-16-chars';
      assertError(
        await call(t.app, project, 'POST', '/webhooks', { url: `https://example.com/${'a'.repeat(2100)}`, secret }),
        400,
        'VALIDATION_ERROR',
      );
      const short = 'short-secret';
      const message = assertError(
        await call(t.app, project, 'POST', '/webhooks', { url: 'https://example.com/', secret: short }),
        400,
        'VALIDATION_ERROR',
      );
      assert.ok(!message.includes(short), message);
      assertError(
        await call(t.app, project, 'POST', '/webhooks', { url: 'https://example.com/', secret: 'x'.repeat(257) }),
        400,
        'VALIDATION_ERROR',
      );
      assertError(
        await call(t.app, project, 'POST', '/webhooks', { url: 'https://example.com/' }),
        400,
        'VALIDATION_ERROR',
      );
      assertError(
        await call(t.app, project, 'POST', '/webhooks', { url: 'https://example.com/', secret, events: ['x'] }),
        400,
        'VALIDATION_ERROR',
      );
      for (let i = 0; i < 10; i += 1)
        ok(await call(t.app, project, 'POST', '/webhooks', { url: `https://example.com/${i}`, secret }), 202);
      const full = assertError(
        await call(t.app, project, 'POST', '/webhooks', { url: 'https://example.com/11', secret }),
        400,
        'INVALID_DATA',
      );
      assert.match(full, /at most 10 webhooks/);
      const listed = ok(await call(t.app, project, 'GET', '/webhooks'), 200).webhooks as { secret: string }[];
      assert.equal(listed.length, 10);
      assert.ok(listed.every((webhook) => webhook.secret === '********'));
      assert.ok(!JSON.stringify(listed).includes(secret));
    });

    test("another project's webhook answers 404 and cannot be deleted", async () => {
      const owner = newProject();
      const webhook = ok(
        await call(t.app, owner, 'POST', '/webhooks', {
          url: 'https://example.com/owner',
          secret: 'a-secret-of-16-chars',
        }),
        202,
      ).webhook;
      const intruder = newProject();
      assertError(await call(t.app, intruder, 'GET', `/webhooks/${webhook.id}`), 404, 'NOT_FOUND');
      assertError(await call(t.app, intruder, 'DELETE', `/webhooks/${webhook.id}`), 404, 'NOT_FOUND');
      assert.deepEqual(ok(await call(t.app, intruder, 'GET', '/webhooks'), 200).webhooks, []);
      ok(await call(t.app, owner, 'GET', `/webhooks/${webhook.id}`), 200);
    });
  });
}
