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
  REQUEST_ENTITY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
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
  'REQUEST_ENTITY_TOO_LARGE',
]);

/** Names rendered differently from their key (Sahara quirks). */
const RENDERED_NAMES: Partial<Record<ErrorName, string | number>> = { INVALID_QUERY: 400, LATE_NOT_FOUND: 'NOT_FOUND' };

export interface SaharaErrorBody {
  error_code: number;
  error_name: string | number;
  error_message: string;
  [extra: string]: unknown;
}

export class ApiError extends Error {
  readonly status: number;

  constructor(
    readonly errorName: ErrorName,
    message: string,
    /** Extra top-level fields for the body, e.g. the v2 microversion bounds. */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
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
  new ApiError('NOT_FOUND', `${what} with {'id': '${id}'} not found`);

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
