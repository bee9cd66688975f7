import assert from 'node:assert/strict';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { clientErrorOf } from '../../src/api/error-handler.js';
import { testDialects } from '../support/databases.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { assertSaharaError } from './support.js';

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
  /** Whether the server closed the connection after answering. */
  closed: boolean;
}

/**
 * Sends raw bytes (in pieces, a little apart, when given several) and reads one HTTP response:
 * up to its Content-Length, or until the server closes the connection.
 */
function exchange(port: number, ...pieces: (string | Buffer)[]): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) {
        if (closed) reject(new Error(`no response, got ${JSON.stringify(received.toString('latin1'))}`));
        return;
      }
      const [statusLine, ...lines] = received.subarray(0, end).toString('latin1').split('\r\n');
      const headers = Object.fromEntries(
        lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
      );
      const body = received.subarray(end + 4);
      const length = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
      if (length === undefined ? !closed : body.length < length) return;
      settled = true;
      socket.destroy();
      const text = body.subarray(0, length).toString('utf8');
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // left as text: the assertions say what was wrong
      }
      resolve({ status: Number(statusLine!.split(' ')[1]), headers, body: parsed, closed });
    };
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      finish(false);
    });
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    socket.on('connect', async () => {
      for (const [index, piece] of pieces.entries()) {
        if (index > 0) await sleep(50);
        if (!socket.destroyed) socket.write(piece);
      }
    });
    setTimeout(() => {
      if (!settled) {
        socket.destroy();
        reject(
          new Error(`no complete response in time, got ${JSON.stringify(received.toString('latin1').slice(0, 300))}`),
        );
      }
    }, 10_000).unref();
  });
}

const get = (target: string, headers = 'Host: oasis\r\n') => `GET ${target} HTTP/1.1\r\n${headers}\r\n`;

/**
 * Requests Node's HTTP parser refuses never reach a route, and Node or Fastify used to answer
 * them with bodies of their own. Every one of them, written byte by byte on a socket to a
 * listening Oasis, now gets Sahara's error body with the right status, and the server goes on.
 */
for (const dialect of testDialects()) {
  describe(`malformed HTTP (${dialect})`, () => {
    let t: TestApp;
    let port: number;
    const project = 'malformed';

    before(async () => {
      t = await createTestApp({ dialect, localConcurrency: 0 });
      await t.app.listen({ host: '127.0.0.1', port: 0 });
      port = (t.app.server.address() as AddressInfo).port;
    });
    after(async () => {
      await t?.close();
    });

    const expectError = async (what: string, status: number, name: string, ...pieces: (string | Buffer)[]) => {
      const response = await exchange(port, ...pieces);
      assert.equal(response.status, status, `${what}: ${JSON.stringify(response)}`);
      assertSaharaError(status, response.body, what);
      assert.equal((response.body as { error_name: string }).error_name, name, what);
      assert.match(response.headers['content-type'] ?? '', /^application\/json/, what);
      return response;
    };

    test("what the HTTP parser refuses is a 400 with Sahara's body, and the connection is closed", async () => {
      const cases: [string, string | Buffer][] = [
        ['a request line that is no request line', 'GARBAGE\r\n\r\n'],
        ['an unknown method', 'FROB /v1.1/p/jobs HTTP/1.1\r\nHost: oasis\r\n\r\n'],
        ['an unsupported HTTP version', 'GET /v1.1/p/jobs HTTP/9.9\r\nHost: oasis\r\n\r\n'],
        ['a space inside the path', get('/v1.1/p/jo bs')],
        [
          'raw bytes that are not UTF-8 in the path',
          Buffer.concat([
            Buffer.from('GET /v1.1/p/jobs/'),
            Buffer.from([0xff, 0xfe]),
            Buffer.from(' HTTP/1.1\r\nHost: oasis\r\n\r\n'),
          ]),
        ],
        ['a NUL in a header value', Buffer.from(get('/v1.1/p/jobs', 'Host: oasis\r\nX-Trace: a\u0000b\r\n'), 'latin1')],
        ['a header name with a space', get('/v1.1/p/jobs', 'Host: oasis\r\nBad Header: x\r\n')],
        ['a bare LF inside a header line', 'GET /v1.1/p/jobs HTTP/1.1\r\nHost: oa\nsis\r\n\r\n'],
        [
          'two different Content-Lengths',
          `POST /v1.1/${project}/jobs HTTP/1.1\r\nHost: oasis\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}`,
        ],
        [
          'Content-Length with chunked Transfer-Encoding',
          `POST /v1.1/${project}/jobs HTTP/1.1\r\nHost: oasis\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}`,
        ],
        [
          'a Content-Length that is no number',
          `POST /v1.1/${project}/jobs HTTP/1.1\r\nHost: oasis\r\nContent-Length: two\r\n\r\n{}`,
        ],
      ];
      for (const [what, bytes] of cases) {
        const response = await expectError(what, 400, 'BAD_REQUEST', bytes);
        assert.ok(response.closed || response.headers.connection === 'close', `${what}: the connection stays open`);
        assert.match((response.body as { error_message: string }).error_message, /^Malformed HTTP request: /, what);
      }
    });

    test('bad chunked encoding, in the same packet as the headers or after the body started, is a 400', async () => {
      const head = `POST /v1.1/${project}/jobs HTTP/1.1\r\nHost: oasis\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
      await expectError('a chunk size that is not hex', 400, 'BAD_REQUEST', `${head}zz\r\n{}\r\n0\r\n\r\n`);
      await expectError('a bad chunk after a good one', 400, 'BAD_REQUEST', head, '2\r\n{"\r\n', 'zz\r\n');
    });

    test('oversized headers are a 431, an oversized URL a 414', async () => {
      await expectError(
        '20 KiB of headers',
        431,
        'REQUEST_HEADER_FIELDS_TOO_LARGE',
        get('/v1.1/p/jobs', `Host: oasis\r\nX-Big: ${'a'.repeat(20_000)}\r\n`),
      );
      await expectError(
        'a 20 KiB request line',
        414,
        'REQUEST_URI_TOO_LONG',
        get(`/v1.1/p/jobs?name=${'a'.repeat(20_000)}`),
      );
      // Under Node's header limit, but over Oasis's URL limit.
      await expectError(
        'a 9 KiB request line',
        414,
        'REQUEST_URI_TOO_LONG',
        get(`/v1.1/${project}/jobs?name=${'a'.repeat(9_000)}`),
      );
    });

    test("a request Node would answer itself gets Sahara's body: no Host, an unknown Expect, CONNECT", async () => {
      const noHost = await expectError(
        'HTTP/1.1 without Host',
        400,
        'BAD_REQUEST',
        `GET /v1.1/${project}/jobs HTTP/1.1\r\n\r\n`,
      );
      assert.match((noHost.body as { error_message: string }).error_message, /Host header/);
      await expectError(
        'Expect: 200-ok',
        417,
        'EXPECTATION_FAILED',
        `POST /v1.1/${project}/jobs HTTP/1.1\r\nHost: oasis\r\nExpect: 200-ok\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`,
      );
      await expectError(
        'CONNECT',
        405,
        'METHOD_NOT_ALLOWED',
        'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n',
      );
    });

    test("framework-level errors carry Sahara's body: routing, encoding, content type, JSON, size", async () => {
      await expectError('an unknown route', 404, 'NOT_FOUND', get('/nothing/here'));
      const wrongMethod = await expectError(
        'a method the route lacks',
        405,
        'METHOD_NOT_ALLOWED',
        `PUT /v1.1/${project}/job-executions HTTP/1.1\r\nHost: oasis\r\nContent-Length: 0\r\n\r\n`,
      );
      assert.match(wrongMethod.headers.allow ?? '', /GET/);
      await expectError('bad percent-encoding', 400, 'BAD_REQUEST', get(`/v1.1/${project}/jobs/%zz`));
      await expectError(
        'percent-encoded bytes that are not UTF-8',
        400,
        'BAD_REQUEST',
        get(`/v1.1/${project}/jobs/%ff%fe`),
      );
      await expectError('a percent-encoded NUL', 400, 'INVALID_DATA', get(`/v1.1/${project}/jobs/a%00b`));
      const post = (type: string, body: string) =>
        `POST /v1.1/${project}/jobs HTTP/1.1\r\nHost: oasis\r\nContent-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
      await expectError('a content type other than JSON', 400, 'INVALID_DATA', post('text/plain', '{}'));
      await expectError(
        'JSON that does not parse',
        400,
        'MALFORMED_REQUEST_BODY',
        post('application/json', '{"name": '),
      );
      await expectError(
        'a body nested too deep',
        400,
        'MALFORMED_REQUEST_BODY',
        post('application/json', `${'['.repeat(5_000)}${']'.repeat(5_000)}`),
      );
      const tooLarge = await expectError(
        'a body over the limit',
        413,
        'REQUEST_ENTITY_TOO_LARGE',
        `POST /v1.1/${project}/jobs HTTP/1.1\r\nHost: oasis\r\nContent-Type: application/json\r\nContent-Length: ${8 * 1024 * 1024}\r\n\r\n{`,
      );
      assert.match((tooLarge.body as { error_message: string }).error_message, /larger than \d+ bytes/);
    });

    test("a request that took too long to arrive is a 408 in Sahara's words", () => {
      // Node's request timeout takes minutes to provoke; the mapping is checked directly.
      const error = clientErrorOf(Object.assign(new Error('timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }));
      assert.equal(error.status, 408);
      assertSaharaError(408, error.toBody(), 'request timeout');
    });

    test('the server goes on answering after every malformed request', async () => {
      const response = await exchange(port, get(`/v1.1/${project}/jobs`));
      assert.equal(response.status, 200, JSON.stringify(response));
      assert.deepEqual(response.body, { jobs: [] });
    });
  });
}
