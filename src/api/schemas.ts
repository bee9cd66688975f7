import { type TSchema, Type } from '@sinclair/typebox';
import { LIMITS } from './limits.js';

/**
 * Schema building blocks shared by the resources, after Sahara's JSON schemas (reference §1.3).
 * Route schemas are the contract: they validate requests, shape responses and feed /openapi.json.
 */

/** oslo's is_uuid_like: 32 hex digits, with or without the dashes, any case. */
export const UUID_LIKE = /^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/;

export function isUuidLike(value: string): boolean {
  return UUID_LIKE.test(value);
}

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
export function nullableOutput<T extends string | boolean>(type: T extends string ? 'string' : 'boolean', options: { description?: string } = {}) {
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
    error_code: Type.Integer(),
    error_name: Type.Union([Type.String(), Type.Integer()]),
    error_message: Type.String(),
  },
  { additionalProperties: true },
);
