import { randomUUID } from 'node:crypto';

/**
 * The one error vocabulary of Oasis. Every failure a client can see is an ApiError with one of
 * these names; `src/api/error-handler.ts` is the only place that turns errors into responses.
 * Statuses follow Sahara: existence pre-checks are 404, every later semantic failure is 400.
 */
const ERRORS = {
  VALIDATION_ERROR: 400,
  MALFORMED_REQUEST_BODY: 400,
  INVALID_DATA: 400,
  INVALID_REFERENCE: 400,
  INVALID_JOB_STATUS: 400,
  INVALID_CREDENTIALS: 400,
  INVALID_PARAMS_ON_REQUEST: 400,
  NAME_ALREADY_EXISTS: 400,
  DB_DUPLICATE_ENTRY: 400,
  BAD_JOB_BINARY: 400,
  DATA_TOO_BIG: 400,
  CANCELING_FAILED: 400,
  DELETION_FAILED: 400,
  UPDATE_FAILED: 400,
  BAD_REQUEST: 400,
  /** Sahara's quirk: `limit` and `sort_by` errors carry the integer 400 as error_name. */
  INVALID_QUERY: 400,
  /** Sahara's NotFoundException raised after the existence pre-checks: 400, error_name NOT_FOUND. */
  LATE_NOT_FOUND: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  NOT_ACCEPTABLE: 406,
  REQUEST_TIMEOUT: 408,
  REQUEST_ENTITY_TOO_LARGE: 413,
  REQUEST_URI_TOO_LONG: 414,
  UNSUPPORTED_MEDIA_TYPE: 415,
  EXPECTATION_FAILED: 417,
  TOO_MANY_REQUESTS: 429,
  REQUEST_HEADER_FIELDS_TOO_LARGE: 431,
  INTERNAL_SERVER_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
} as const;

export type ErrorName = keyof typeof ERRORS;

/** Names whose messages carry Sahara's `\nError ID: <uuid>` suffix (SaharaException subclasses). */
const WITHOUT_ERROR_ID: ReadonlySet<ErrorName> = new Set<ErrorName>([
  'INVALID_PARAMS_ON_REQUEST',
  'INTERNAL_SERVER_ERROR',
  'NOT_ACCEPTABLE',
  'BAD_REQUEST',
  'METHOD_NOT_ALLOWED',
  'SERVICE_UNAVAILABLE',
  'UNAUTHORIZED',
  'REQUEST_TIMEOUT',
  'REQUEST_ENTITY_TOO_LARGE',
  'REQUEST_URI_TOO_LONG',
  'EXPECTATION_FAILED',
  'REQUEST_HEADER_FIELDS_TOO_LARGE',
  'TOO_MANY_REQUESTS',
]);

/** Names rendered differently from their key (Sahara quirks). */
const RENDERED_NAMES: Partial<Record<ErrorName, string | number>> = { INVALID_QUERY: 400, LATE_NOT_FOUND: 'NOT_FOUND' };

export interface SaharaErrorBody {
  error_code: number;
  error_name: string | number;
  error_message: string;
  [extra: string]: unknown;
}

/**
 * The longest message an error carries. Messages quote user input through `echo()`, which keeps
 * each quote short; this bound catches any message built otherwise, so that no request can make
 * Oasis send its own input back whole.
 */
export const MAX_MESSAGE_LENGTH = 2_000;

export class ApiError extends Error {
  readonly status: number;

  constructor(
    readonly errorName: ErrorName,
    message: string,
    /** Extra top-level fields for the body, e.g. the v2 microversion bounds. */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(truncate(message, MAX_MESSAGE_LENGTH));
    this.name = 'ApiError';
    this.status = ERRORS[errorName];
  }

  toBody(): SaharaErrorBody {
    const withId = !WITHOUT_ERROR_ID.has(this.errorName);
    return {
      error_code: this.status,
      error_name: RENDERED_NAMES[this.errorName] ?? this.errorName,
      error_message: withId ? `${this.message}\nError ID: ${randomUUID()}` : this.message,
      ...this.extra,
    };
  }
}

export const notFound = (id: string, what = 'Object'): ApiError =>
  new ApiError('NOT_FOUND', `${what} with {'id': ${echo(id)}} not found`);

/** The longest piece of user input an error message quotes. */
export const MAX_ECHO_LENGTH = 200;

/**
 * User input as an error message quotes it: in single quotes, as Sahara's Python reprs read, and
 * never longer than MAX_ECHO_LENGTH characters. A longer value is cut, marked with an ellipsis,
 * and its whole length given: `'aaaa…' (100000 characters)`.
 */
export function echo(value: string, max = MAX_ECHO_LENGTH): string {
  if (value.length <= max) return `'${value}'`;
  return `'${cut(value, max)}…' (${value.length} characters)`;
}

/** User input shown without quotes (e.g. a key in a path), cut as echo() cuts it. */
export function clip(value: string, max = MAX_ECHO_LENGTH): string {
  return value.length <= max ? value : `${cut(value, max)}… (${value.length} characters)`;
}

/** `text` cut to at most `max` characters, with an ellipsis and the whole length when cut. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${cut(text, max)}… (${text.length} characters)`;
}

/** The first `max` characters, never splitting a surrogate pair. */
function cut(text: string, max: number): string {
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/**
 * The store's failure kinds, raised by every Store implementation in the same way so that the
 * API layer never has to know which database it talks to.
 */
export class DuplicateEntryError extends Error {
  constructor(readonly columns: string[]) {
    super(`Duplicate entry for ${columns.join(', ')}`);
    this.name = 'DuplicateEntryError';
  }
}

/**
 * The database refused a text value (PostgreSQL cannot store a NUL character). The API refuses
 * such text before it reaches a store; this is the store's own guard, answered as a 400.
 */
export class InvalidTextError extends Error {
  constructor(cause: unknown) {
    super(`text the database cannot store: ${errorMessage(cause)}`, { cause });
    this.name = 'InvalidTextError';
  }
}

/** The database could not be reached; requests answer 503 and are safe to retry. */
export class StoreUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`database unavailable: ${errorMessage(cause)}`, { cause });
    this.name = 'StoreUnavailableError';
  }
}

/** Normalises anything thrown into an Error (graphile's coerceError). */
export function coerceError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(typeof thrown === 'string' ? thrown : JSON.stringify(thrown));
}

export function errorMessage(thrown: unknown): string {
  return coerceError(thrown).message;
}
