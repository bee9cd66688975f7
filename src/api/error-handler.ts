import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, DuplicateEntryError, type ErrorName, StoreUnavailableError } from '../errors.js';

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
      return send(reply, new ApiError('METHOD_NOT_ALLOWED', `The method ${request.method} is not allowed for the requested URL.`));
    }
    return send(reply, new ApiError('NOT_FOUND', 'The requested URL was not found on the server.'));
  });
}

/**
 * Fastify's router errors, raised before any route or hook runs (`frameworkErrors`): a path that
 * is not valid percent-encoding, or a path id longer than any id Oasis hands out. Without this
 * they would answer Fastify's own body instead of Sahara's.
 */
export function answerFrameworkError(error: FastifyError, _request: FastifyRequest, reply: FastifyReply) {
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return send(reply, new ApiError('NOT_FOUND', 'The requested URL was not found on the server.'));
  }
  const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  return send(reply, new ApiError(BY_STATUS[status] ?? 'BAD_REQUEST', error.message));
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
  413: 'REQUEST_ENTITY_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

function toApiError(thrown: unknown, request: FastifyRequest): ApiError {
  if (thrown instanceof ApiError) return thrown;
  // Unique names of templates, binaries and JBIs are the database's to enforce (reference §3.2).
  if (thrown instanceof DuplicateEntryError) return new ApiError('DB_DUPLICATE_ENTRY', thrown.message);
  if (thrown instanceof StoreUnavailableError) {
    return new ApiError('SERVICE_UNAVAILABLE', 'The database is unavailable; retry shortly');
  }
  const error = thrown as FastifyError;
  if (Array.isArray(error.validation)) {
    return new ApiError('VALIDATION_ERROR', formatValidation(error.validation, error.validationContext));
  }
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    const tooBig = (request.routeOptions.config as { tooLargeError?: ApiError } | undefined)?.tooLargeError;
    return tooBig ?? new ApiError('REQUEST_ENTITY_TOO_LARGE', 'Request body is too large');
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
    const path = sahararPath(issue.instancePath);
    const prefix = path ? `${path}: ` : '';
    return prefix + describe(issue);
  });
  const unique = [...new Set(lines)];
  return context && context !== 'body' ? `${context}: ${unique.join('\n')}` : unique.join('\n');
}

function sahararPath(instancePath: string): string {
  const parts = instancePath.split('/').slice(1).map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (parts.length === 0) return '';
  return parts[0] + parts.slice(1).map((part) => `[${part}]`).join('');
}

function describe(issue: ValidationIssue): string {
  const { params } = issue;
  switch (issue.keyword) {
    case 'required':
      return `'${String(params.missingProperty)}' is a required property`;
    case 'additionalProperties':
      return `Additional properties are not allowed ('${String(params.additionalProperty)}' was unexpected)`;
    case 'format':
      return `${pyRepr(issue.data)} is not a '${String(params.format)}'`;
    case 'type':
      return `${pyRepr(issue.data)} is not of type '${String(params.type).replace(/,/g, "', '")}'`;
    case 'enum':
      return `${pyRepr(issue.data)} is not one of ${pyRepr(params.allowedValues)}`;
    case 'minLength':
      return `${pyRepr(issue.data)} is too short`;
    case 'maxLength':
      return `${pyRepr(issue.data)} is too long`;
    case 'uniqueItems':
      return `${pyRepr(issue.data)} has non-unique elements`;
    case 'minItems':
      return `${pyRepr(issue.data)} is too short`;
    default:
      return issue.message ?? 'is invalid';
  }
}

function pyRepr(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (value === null) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
