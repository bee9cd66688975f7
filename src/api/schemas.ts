import { type TSchema, Type } from '@sinclair/typebox';
import type { FastifySchema } from 'fastify';
import { UUID_LIKE } from '../store/ids.js';
import { LIMITS } from './limits.js';

/**
 * Schema building blocks shared by the resources, after Sahara's JSON schemas (docs/compatibility.md#request-schemas).
 * Route schemas are the contract: they validate requests, shape responses and feed /openapi.json.
 */

/** Formats registered with the validator (see app.ts). */
export const FORMATS = {
  uuid: UUID_LIKE,
  valid_name: /^[a-zA-Z0-9][a-zA-Z0-9\-_.]*$/,
} as const;

export const Uuid = Type.String({ format: 'uuid' });
export const ValidName = Type.String({ minLength: 1, maxLength: 50, format: 'valid_name' });
export const NullableBoolean = Type.Union([Type.Boolean(), Type.Null()]);
/**
 * Sahara's simple_config: an object whose values are strings, integers or booleans; at most
 * LIMITS.configEntries of them (the count is checked before any entry is).
 */
export const SimpleConfig = Type.Record(Type.String(), Type.Union([Type.String(), Type.Integer(), Type.Boolean()]), {
  maxProperties: LIMITS.configEntries,
});

export const IdParams = Type.Object({ project_id: Type.String(), id: Type.String() });
export const ProjectParams = Type.Object({ project_id: Type.String() });

/** A list's query string: every parameter is a string here; parseListQuery gives them meaning. */
export const ListQueryString = Type.Object(
  {
    limit: Type.Optional(Type.String({ description: 'Page size, a positive integer' })),
    marker: Type.Optional(Type.String({ description: 'Id of the object the page is relative to' })),
    sort_by: Type.Optional(Type.String({ description: 'Field to sort by; prefix with - for descending' })),
  },
  { additionalProperties: true },
);

/**
 * A response field that may be null, written `type: [type, "null"]` rather than as a union: the
 * serializer tells a type list apart with `typeof`, but a union (anyOf) with a validator call per
 * field, a sixth of the time of GET /job-executions/{id}. /openapi.json reads the same for both
 * (`nullable: true`). Request schemas keep their unions, whose validation messages match Sahara's.
 */
export function nullableOutput<T extends string | boolean>(
  type: T extends string ? 'string' : 'boolean',
  options: { description?: string } = {},
) {
  return Type.Unsafe<T | null>({ type: [type, 'null'], ...options });
}

export const NullableStringOutput = nullableOutput<string>('string');

/** Fields every owned resource renders. */
export const OwnedFields = {
  id: Type.String(),
  tenant_id: Type.String(),
  is_public: nullableOutput<boolean>('boolean'),
  is_protected: nullableOutput<boolean>('boolean'),
  created_at: NullableStringOutput,
  updated_at: NullableStringOutput,
};

export const Markers = Type.Object({
  prev: Type.Union([Type.String(), Type.Null()]),
  next: Type.Union([Type.String(), Type.Null()]),
});

/** `{ <key>: [item...], markers? }`, the envelope of every list. */
export function ListEnvelope(key: string, item: TSchema) {
  return Type.Object({ [key]: Type.Array(item), markers: Type.Optional(Markers) });
}

/** Free-form JSON object (info, job_configs, extra...). */
export const AnyObject = Type.Object({}, { additionalProperties: true });

/** Sahara's error body, the response of every 4xx and 5xx. */
export const ErrorBody = Type.Object(
  {
    error_code: Type.Integer({ description: 'The HTTP status' }),
    error_name: Type.Union([Type.String(), Type.Integer()], {
      description: "e.g. VALIDATION_ERROR, NOT_FOUND; the integer 400 for a bad `limit` or `sort_by` (Sahara's quirk)",
    }),
    error_message: Type.String({ description: 'What went wrong; quoted input is cut at 200 characters' }),
  },
  { $id: 'SaharaError', title: 'SaharaError', additionalProperties: true },
);

/** The raw bytes of a stored binary. */
export const BinaryData = {
  description: 'The stored bytes',
  content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
};

/** A DELETE's answer: 204 and no body. */
export const NoContent = Type.Null({ description: 'Done; the response has no body' });

const ERROR_RESPONSES = {
  400: 'Invalid input: a validation error, invalid data or reference, a refused update or deletion, or a malformed request',
  401: "With OASIS_AUTH=tokens: no valid X-Auth-Token, or a path project other than the token's; under noauth, a /v2 path without a project and no X-Project-Id header",
  403: 'The policy refuses the caller: registering, changing and deleting clusters need the admin role (docs/policy.md)',
  404: 'No such object the project can see: an unknown or foreign id, or marker',
  406: 'The OpenStack-API-Version header asks for a data-processing microversion other than 2.0 (v2 only)',
  413: 'The request body is larger than the server accepts',
  503: 'The database is unavailable, or Oasis is shutting down; safe to retry',
  507: 'A disk is full (docs/disk-full.md), or an execute finds the data dir below OASIS_MIN_FREE_DISK: nothing was written; safe to retry once space returns',
} as const;

/**
 * Adds Sahara's error responses to a /v1.1 or /v2 route's schema (onRoute, so every module gets them):
 * 400, 401 and 503 everywhere, 403 on the cluster writes the policy guards (src/api/auth.ts),
 * 404 where the route names an object or takes a marker, 406 on /v2 (its microversion), 413
 * where it takes a body, 507 where it writes. Responses a route declares itself are kept. They
 * document /openapi.json and also shape the error bodies.
 */
export function documentErrors(route: { url: string; method: string | string[]; schema?: FastifySchema }): void {
  const schema = (route.schema ??= {});
  const response = (schema.response ??= {}) as Record<string, unknown>;
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  const query = schema.querystring as { properties?: Record<string, unknown> } | undefined;
  const namesObject = /\/:(?!project_id)/.test(route.url) && !/\/:name$/.test(route.url);
  const statuses: (keyof typeof ERROR_RESPONSES)[] = [400, 401];
  if (/\/clusters(\/:id)?$/.test(route.url) && methods.some((method) => method !== 'GET' && method !== 'HEAD'))
    statuses.push(403);
  if (namesObject || query?.properties?.marker !== undefined) statuses.push(404);
  if (route.url.startsWith('/v2/')) statuses.push(406);
  if (methods.some((method) => method === 'POST' || method === 'PUT' || method === 'PATCH')) statuses.push(413);
  statuses.push(503);
  // Reads keep working on a full disk; whatever writes may find it full.
  if (methods.some((method) => method !== 'GET' && method !== 'HEAD') || /\/(cancel|refresh-status)$/.test(route.url))
    statuses.push(507);
  for (const status of statuses) {
    response[status] ??= { $ref: 'SaharaError#', description: ERROR_RESPONSES[status] };
  }
}
