import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { LOCAL_CLUSTER_ID } from '../../src/store/index.js';
import { newProject } from '../support/resources.js';
import { exchangeSubdir } from '../support/sandbox.js';
import { startOasis, type OasisProcess } from '../support/server.js';
import { eventually, http, markedScript, runsOf } from './support.js';

const NODE = 'drain-node';
const UPLOAD_BYTES = 1024 * 1024;

/**
 * SIGTERM drains: the request in flight (an upload whose body is still arriving) completes, new
 * requests are refused, and a running local job keeps running through the shutdown, to be
 * re-adopted by the next start and tracked to its real end.
 */
describe('graceful shutdown', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  test('an upload in flight completes, new requests are refused, a running job survives and ends SUCCEEDED after the restart', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'oasis-drain-'));
    const exchange = exchangeSubdir('drain-');
    const [marker, gate] = [path.join(exchange, 'runs'), path.join(exchange, 'gate')];
    const env = { OASIS_NODE_ID: NODE, OASIS_POLL_INTERVAL: '200ms' };
    let oasis: OasisProcess = await startOasis({ dataDir, env });
    cleanups.push(async () => {
      await writeFile(gate, '');
      await oasis.stop();
      await rm(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    });
    const project = newProject();
    const api = (method: string, route: string, body?: unknown, headers?: Record<string, string>) =>
      http(oasis.url, method, `/v1.1/${project}${route}`, body, headers);

    const script = markedScript('while [ ! -e "$GATE" ]; do sleep 0.1; done\necho through');
    const upload = await api('PUT', '/job-binary-internals/wait.sh', script, {
      'content-type': 'application/octet-stream',
    });
    const binary = await api('POST', '/job-binaries', {
      name: 'wait.sh',
      url: `internal-db://${upload.json.job_binary_internal.id}`,
    });
    const template = await api('POST', '/jobs', { name: 'wait', type: 'Shell', mains: [binary.json.job_binary.id] });
    const executed = await api('POST', `/jobs/${template.json.job.id}/execute`, {
      cluster_id: LOCAL_CLUSTER_ID,
      job_configs: { params: { MARKER: marker, GATE: gate } },
    });
    assert.equal(executed.status, 202, executed.text);
    const id = executed.json.job_execution.id as string;
    const statusOf = async () =>
      (await api('GET', `/job-executions/${id}`)).json?.job_execution?.info?.status as string | undefined;
    await eventually(
      async () => ((await statusOf()) === 'RUNNING' && (await runsOf(marker)) === 1 ? true : undefined),
      'the job to run',
    );

    // The upload's headers are in (the server answered 100 Continue), half of its body is sent.
    const url = new URL(oasis.url);
    const slow = request({
      host: url.hostname,
      port: url.port,
      method: 'PUT',
      path: `/v1.1/${project}/job-binary-internals/big.bin`,
      headers: { 'content-type': 'application/octet-stream', 'content-length': UPLOAD_BYTES, expect: '100-continue' },
    });
    const answered = new Promise<{ status: number; body: string }>((resolve, reject) => {
      slow.on('response', (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
      slow.on('error', reject);
    });
    await once(slow, 'continue');
    slow.write(Buffer.alloc(UPLOAD_BYTES / 2, 1));

    const exited = once(oasis.child, 'exit');
    oasis.child.kill('SIGTERM');
    await eventually(async () => {
      try {
        const answer = await fetch(`${oasis.url}/v1.1/${project}/jobs`, {
          headers: { connection: 'close' },
          signal: AbortSignal.timeout(10_000),
        });
        return answer.status === 503 ? true : undefined;
      } catch {
        return true; // refused: the listener is closed
      }
    }, 'new requests to be refused');

    slow.end(Buffer.alloc(UPLOAD_BYTES / 2, 2));
    const finished = await answered;
    assert.equal(finished.status, 202, finished.body);
    assert.equal(JSON.parse(finished.body).job_binary_internal.datasize, UPLOAD_BYTES);
    const [code] = await exited;
    assert.equal(code, 0, oasis.logs.slice(-20).join('\n'));

    // The job outlived Oasis: still waiting for its gate, started once.
    oasis = await startOasis({ dataDir, env });
    assert.equal(await statusOf(), 'RUNNING');
    const listed = await api('GET', '/job-binary-internals');
    assert.ok(
      (listed.json.binaries as { name: string }[]).some((jbi) => jbi.name === 'big.bin'),
      'the upload in flight was kept',
    );
    await writeFile(gate, '');
    assert.equal(
      await eventually(async () => {
        const status = await statusOf();
        return status === 'RUNNING' ? undefined : status;
      }, 'the re-adopted job to end'),
      'SUCCEEDED',
    );
    assert.equal(await runsOf(marker), 1);
  });
});
