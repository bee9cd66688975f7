import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  ApiError,
  DuplicateEntryError,
  clip,
  echo,
  type ErrorName,
  InvalidTextError,
  isDiskFull,
  MAX_ECHO_LENGTH,
  StoreUnavailableError,
} from '../errors.js';
import { ClusterSettingsInvalid, InvalidJob } from '../engines/errors.js';
import { LIMITS } from './limits.js';

/**
 * The one place where errors become responses. Every body is Sahara's
 * `{"error_code", "error_name", "error_message"}`; a stack trace never leaves the process.
 */
export function installErrorHandling(app: FastifyInstance, routePatterns: () => RegExpMethods[]): void {
  app.setErrorHandler((thrown: unknown, request, reply) => {
    const error = toApiError(thrown, request);
    if (thrown instanceof StoreUnavailableError) {
      // An outage fails every request alike: one line each, no stack, is enough to see it.
      request.log.warn({ reason: thrown.message }, 'database unavailable');
    } else if (error.errorName === 'INSUFFICIENT_STORAGE') {
      // A full disk fails every write alike, as an outage does.
      request.log.warn({ reason: (thrown as Error).message }, 'no space left for a write');
    } else if (thrown instanceof InvalidTextError) {
      // The API's text check (text.ts) should have refused it: a route it does not cover.
      request.log.warn({ reason: thrown.message, url: request.url }, 'invalid text reached the database');
    } else if (error.status >= 500) {
      request.log.error({ err: thrown }, 'request failed');
    }
    return send(reply, error);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const allowed = routePatterns()
      .filter((route) => route.pattern.test(path))
      .flatMap((route) => route.methods);
    if (allowed.length > 0) {
      void reply.header('Allow', [...new Set(allowed)].join(', '));
      return send(
        reply,
        new ApiError('METHOD_NOT_ALLOWED', `The method ${request.method} is not allowed for the requested URL.`),
      );
    }
    return send(reply, new ApiError('NOT_FOUND', 'The requested URL was not found on the server.'));
  });
}

/**
 * Fastify's router errors, raised before any route or hook runs (`frameworkErrors`): a path that
 * is not valid percent-encoding, or a path id longer than any id Oasis hands out. Without this
 * they would answer Fastify's own body instead of Sahara's.
 */
export function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  send(reply, frameworkErrorOf(error, request));
}

function frameworkErrorOf(error: FastifyError, request: FastifyRequest): ApiError {
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return new ApiError('NOT_FOUND', 'The requested URL was not found on the server.');
  }
  if (error.code === 'FST_ERR_BAD_URL') {
    const path = request.raw.url?.split('?')[0] ?? '';
    return new ApiError('BAD_REQUEST', `The URL path ${echo(path)} is not valid percent-encoded UTF-8`);
  }
  const status =
    typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  return new ApiError(BY_STATUS[status] ?? 'BAD_REQUEST', error.message);
}

/** Raw HTTP errors Node's parser reports, by llhttp code, in words a client can act on. */
const PARSER_ERRORS: Readonly<Record<string, string>> = {
  HPE_INVALID_METHOD: 'unknown method',
  HPE_INVALID_URL: 'the request target holds characters a URL may not',
  HPE_INVALID_VERSION: 'unsupported HTTP version',
  HPE_INVALID_CONSTANT: 'malformed request line',
  HPE_INVALID_HEADER_TOKEN: 'a header name or value holds characters a header may not',
  HPE_LF_EXPECTED: 'malformed line ending',
  HPE_CR_EXPECTED: 'malformed line ending',
  HPE_INVALID_CHUNK_SIZE: 'invalid chunked transfer encoding',
  HPE_INVALID_CONTENT_LENGTH: 'invalid Content-Length',
  HPE_UNEXPECTED_CONTENT_LENGTH: 'both Content-Length and Transfer-Encoding, or Content-Length twice',
  HPE_INVALID_TRANSFER_ENCODING: 'invalid Transfer-Encoding',
};

type ClientError = Error & { code?: string; reason?: string; rawPacket?: unknown };

/**
 * What a request Node's HTTP parser refused is answered with, in Sahara's body: 400 for
 * malformed HTTP, 414 when the request line alone is too long, 431 when the headers are, 408
 * when the request took too long to arrive.
 */
export function clientErrorOf(error: ClientError): ApiError {
  switch (error.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new ApiError('REQUEST_TIMEOUT', 'The request was not received in time');
    case 'HPE_HEADER_OVERFLOW': {
      // The packet is the start of the request when it came in one piece; a request line that
      // does not end within it is what overflowed.
      const packet = Buffer.isBuffer(error.rawPacket) ? error.rawPacket : undefined;
      const lineEnd = packet ? packet.indexOf('\n') : 0;
      if (
        packet &&
        /^[A-Z]+ /.test(packet.subarray(0, 16).toString('latin1')) &&
        (lineEnd === -1 || lineEnd > LIMITS.urlBytes)
      ) {
        return new ApiError('REQUEST_URI_TOO_LONG', `The request URL is longer than ${LIMITS.urlBytes} bytes`);
      }
      return new ApiError(
        'REQUEST_HEADER_FIELDS_TOO_LARGE',
        'The request line and headers are larger than the server accepts',
      );
    }
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return new ApiError('REQUEST_ENTITY_TOO_LARGE', 'Chunk extensions are larger than the server accepts');
    default: {
      const reason = (error.code && PARSER_ERRORS[error.code]) ?? 'the request is not valid HTTP/1.1';
      return new ApiError('BAD_REQUEST', `Malformed HTTP request: ${reason}`);
    }
  }
}

/**
 * Fastify's `clientErrorHandler`: Node's HTTP parser refused the bytes of a request (a bad
 * request line, bad chunking, a NUL in a header, oversized headers...), so no route runs. The
 * answer is written on the socket as raw HTTP, with Sahara's body, and the connection closed,
 * since the rest of its bytes cannot be trusted. A response already under way is not
 * interrupted with a second one: the connection is only closed.
 */
export function answerClientError(this: FastifyInstance, error: ClientError, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const apiError = clientErrorOf(error);
  this.log.info({ status: apiError.status, reason: error.code }, 'malformed request');
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) socket.write(rawResponse(apiError));
  socket.destroy(error);
}

/**
 * Node answers a request whose `Expect` header it does not know with its own empty 417; this
 * listener (the server's 'checkExpectation' event) answers Sahara's body instead.
 */
export function answerExpectationFailed(request: IncomingMessage, response: ServerResponse): void {
  const expectation = String(request.headers.expect ?? '');
  const error = new ApiError('EXPECTATION_FAILED', `The expectation ${echo(expectation)} is not supported`);
  const body = JSON.stringify(error.toBody());
  response.writeHead(error.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  });
  response.end(body);
}

/**
 * Node hands CONNECT requests to the server's 'connect' event and, with no listener, closes the
 * connection without a word; Oasis is no proxy, so this answers 405 with Sahara's body.
 */
export function answerConnect(_request: IncomingMessage, socket: Socket): void {
  const error = new ApiError('METHOD_NOT_ALLOWED', 'The method CONNECT is not allowed for the requested URL.');
  if (socket.writable) socket.write(rawResponse(error));
  socket.destroy();
}

function rawResponse(error: ApiError): string {
  const body = JSON.stringify(error.toBody());
  return (
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\r\n` +
    'Content-Type: application/json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  );
}

export interface RegExpMethods {
  pattern: RegExp;
  methods: string[];
}

function send(reply: FastifyReply, error: ApiError) {
  return reply.status(error.status).type('application/json').send(error.toBody());
}

/** Fastify's own 4xx errors, by status, in Oasis's vocabulary. */
const BY_STATUS: Record<number, ErrorName> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  408: 'REQUEST_TIMEOUT',
  413: 'REQUEST_ENTITY_TOO_LARGE',
  414: 'REQUEST_URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  417: 'EXPECTATION_FAILED',
  431: 'REQUEST_HEADER_FIELDS_TOO_LARGE',
};

function toApiError(thrown: unknown, request: FastifyRequest): ApiError {
  if (thrown instanceof ApiError) return thrown;
  // Unique names of templates, binaries and JBIs are the database's to enforce (docs/compatibility.md#errors-and-their-names).
  if (thrown instanceof DuplicateEntryError) return new ApiError('DB_DUPLICATE_ENTRY', thrown.message);
  // An engine refusing a job at execute, or a cluster's settings at registration: the client's to fix.
  if (thrown instanceof InvalidJob || thrown instanceof ClusterSettingsInvalid)
    return new ApiError('INVALID_DATA', thrown.message);
  if (thrown instanceof InvalidTextError) {
    return new ApiError(
      'INVALID_DATA',
      'The request holds text the database cannot store (a NUL character or invalid Unicode)',
    );
  }
  if (thrown instanceof StoreUnavailableError) {
    return new ApiError('SERVICE_UNAVAILABLE', 'The database is unavailable; retry shortly');
  }
  if (isDiskFull(thrown)) {
    return new ApiError(
      'INSUFFICIENT_STORAGE',
      'Oasis is out of disk space: reads work, writes are refused until space returns',
    );
  }
  const error = thrown as FastifyError;
  if (Array.isArray(error.validation)) {
    return new ApiError('VALIDATION_ERROR', formatValidation(error.validation, error.validationContext));
  }
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    const tooBig = (request.routeOptions.config as { tooLargeError?: ApiError } | undefined)?.tooLargeError;
    return (
      tooBig ??
      new ApiError(
        'REQUEST_ENTITY_TOO_LARGE',
        `The request body is larger than ${request.routeOptions.bodyLimit} bytes`,
      )
    );
  }
  const status = typeof error.statusCode === 'number' ? error.statusCode : 500;
  if (status >= 400 && status < 500) {
    return new ApiError(BY_STATUS[status] ?? 'BAD_REQUEST', error.message);
  }
  return new ApiError('INTERNAL_SERVER_ERROR', 'Internal Server Error');
}

interface ValidationIssue {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
  data?: unknown;
}

/**
 * Renders validator errors the way Sahara's jsonschema messages read, one per line:
 * `job_configs[args][0]: 1 is not of type 'string'`, `'cluster_id' is a required property`.
 */
function formatValidation(issues: readonly ValidationIssue[], context?: string): string {
  const lines = issues.map((issue) => {
    const path = saharaPath(issue.instancePath);
    const prefix = path ? `${path}: ` : '';
    return prefix + describe(issue);
  });
  const unique = [...new Set(lines)];
  return context && context !== 'body' ? `${context}: ${unique.join('\n')}` : unique.join('\n');
}

function saharaPath(instancePath: string): string {
  const parts = instancePath
    .split('/')
    .slice(1)
    .map((part) => clip(part.replace(/~1/g, '/').replace(/~0/g, '~'), 50));
  if (parts.length === 0) return '';
  return (
    parts[0] +
    parts
      .slice(1)
      .map((part) => `[${part}]`)
      .join('')
  );
}

function describe(issue: ValidationIssue): string {
  const { params } = issue;
  switch (issue.keyword) {
    case 'required':
      return `'${String(params.missingProperty)}' is a required property`;
    case 'additionalProperties':
      return `Additional properties are not allowed (${echo(String(params.additionalProperty))} was unexpected)`;
    case 'format':
      return `${pyRepr(issue.data)} is not a '${String(params.format)}'`;
    case 'type':
      return `${pyRepr(issue.data)} is not of type '${String(params.type).replace(/,/g, "', '")}'`;
    case 'enum':
      return `${pyRepr(issue.data)} is not one of ${pyRepr(params.allowedValues)}`;
    case 'minLength':
      return `${pyRepr(issue.data)} is too short`;
    case 'maxLength':
      return `${pyRepr(issue.data)} is too long (at most ${String(params.limit)} characters)`;
    case 'uniqueItems':
      return `${pyRepr(issue.data)} has non-unique elements`;
    case 'minItems':
      return `${pyRepr(issue.data)} is too short`;
    case 'maxItems':
      return `${pyRepr(issue.data)} is too long (at most ${String(params.limit)} items)`;
    case 'maxProperties':
      return `${pyRepr(issue.data)} has too many properties (at most ${String(params.limit)})`;
    default:
      return issue.message ?? 'is invalid';
  }
}

/**
 * A value as Sahara's messages show it (Python's repr for scalars and lists, JSON for objects),
 * written with a budget: past MAX_ECHO_LENGTH characters it stops, with an ellipsis and the
 * value's size, so neither a huge value nor a deep one is ever walked whole.
 */
function pyRepr(value: unknown): string {
  if (typeof value === 'string') return echo(value);
  const out = new BoundedText(MAX_ECHO_LENGTH);
  writePython(value, out, 0);
  if (!out.full) return out.text;
  const size = Array.isArray(value) ? `${value.length} items` : `${Object.keys(value as object).length} entries`;
  return `${out.text}… (${size})`;
}

/** Beyond this depth a value is shown as `…` (bodies are at most 32 deep anyway). */
const MAX_REPR_DEPTH = 8;

class BoundedText {
  text = '';
  full = false;

  constructor(private readonly max: number) {}

  get room(): number {
    return this.max - this.text.length;
  }

  add(piece: string): void {
    if (this.full) return;
    if (piece.length > this.room) {
      this.text += piece.slice(0, this.room);
      this.full = true;
    } else {
      this.text += piece;
    }
  }
}

function writePython(value: unknown, out: BoundedText, depth: number): void {
  if (typeof value === 'string') return out.add(`'${value.length > out.room ? value.slice(0, out.room) : value}'`);
  if (value === null || value === undefined) return out.add('None');
  if (value === true) return out.add('True');
  if (value === false) return out.add('False');
  if (Array.isArray(value)) {
    if (depth >= MAX_REPR_DEPTH) return out.add('[…]');
    out.add('[');
    for (let index = 0; index < value.length && !out.full; index += 1) {
      if (index > 0) out.add(', ');
      writePython(value[index], out, depth + 1);
    }
    return out.add(']');
  }
  if (typeof value === 'object') return writeJson(value, out, depth);
  return out.add(String(value));
}

function writeJson(value: unknown, out: BoundedText, depth: number): void {
  if (typeof value === 'string')
    return out.add(JSON.stringify(value.length > out.room ? value.slice(0, out.room) : value));
  if (typeof value !== 'object' || value === null) return out.add(JSON.stringify(value) ?? 'null');
  if (depth >= MAX_REPR_DEPTH) return out.add(Array.isArray(value) ? '[…]' : '{…}');
  if (Array.isArray(value)) {
    out.add('[');
    for (let index = 0; index < value.length && !out.full; index += 1) {
      if (index > 0) out.add(',');
      writeJson(value[index], out, depth + 1);
    }
    return out.add(']');
  }
  out.add('{');
  let first = true;
  for (const key in value) {
    if (out.full) return;
    if (!Object.hasOwn(value, key)) continue;
    if (!first) out.add(',');
    first = false;
    writeJson(key, out, depth + 1);
    out.add(':');
    writeJson((value as Record<string, unknown>)[key], out, depth + 1);
  }
  out.add('}');
}
