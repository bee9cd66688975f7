/**
 * The ceiling: a bare node:http server that answers each recorded request with the exact bytes
 * Oasis answered (status, content type, body), doing no other work. Run as its own process, like
 * Oasis, by startCeiling(); prints its port on stdout.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Recorded } from './ceiling.js';

const answers = new Map(Object.entries(JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Record<string, Recorded>));

const server = createServer((request, response) => {
  // The body is read and dropped, as a real server must before answering a POST.
  request.resume();
  request.once('end', () => {
    const answer = answers.get(`${request.method} ${request.url}`);
    if (!answer) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(answer.status, {
      'content-type': answer.contentType,
      'content-length': Buffer.byteLength(answer.body),
    });
    response.end(answer.body);
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${typeof address === 'object' && address ? address.port : ''}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
