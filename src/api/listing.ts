import { Readable } from 'node:stream';
import type { TSchema } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { ApiError, clip, echo } from '../errors.js';
import type { Filter, ListQuery, Owned, Page } from '../store/types.js';
import { mapYielding } from '../store/yielding.js';
import { getVisible } from '../store/visibility.js';

/** How a query parameter filters a list. */
export type FilterKind =
  /** Exact match on a text column. */
  | 'exact'
  /** Exact match on a boolean column (`true`/`false`, any case). */
  | 'boolean'
  /** Substring match (Sahara's regex filters on names, descriptions and urls). */
  | 'contains'
  /** Case-insensitive equality (the job-execution `status` filter). */
  | 'ieq';

export interface ListSpec {
  /** The envelope key of the list (`job_executions`, `binaries`, ...). */
  key: string;
  sortFields: readonly string[];
  filters: Readonly<Record<string, FilterKind>>;
  markerMode: ListQuery['markerMode'];
  /** v1.1 /job-binaries ignores an unknown marker instead of answering 404 (Sahara quirk). */
  ignoreUnknownMarker?: boolean;
}

const PAGING = new Set(['limit', 'marker', 'sort_by']);

/** Multi-valued parameters: Sahara uses the first value only. */
function first(value: unknown): string | undefined {
  if (Array.isArray(value)) return first(value[0]);
  return typeof value === 'string' ? value : undefined;
}

/**
 * Turns a list request's query string into a store ListQuery, validating everything up front.
 * Where Sahara answered 500 (unknown filter, empty or non-column sort_by) Oasis answers 400.
 */
export function parseListQuery(query: unknown, spec: ListSpec, tenantId: string): ListQuery {
  const params = (query ?? {}) as Record<string, unknown>;
  const unknown = Object.keys(params).filter((key) => !PAGING.has(key) && !(key in spec.filters));
  if (unknown.length > 0) {
    throw new ApiError(
      'INVALID_PARAMS_ON_REQUEST',
      `The only valid params for this list are ${pyList(Object.keys(spec.filters))} and ['marker', 'limit', 'sort_by']; got ${pyList(unknown)}`,
    );
  }

  const filters: Filter[] = [];
  for (const [field, kind] of Object.entries(spec.filters)) {
    const raw = first(params[field]);
    if (raw === undefined) continue;
    filters.push(toFilter(field, kind, raw));
  }

  const result: ListQuery = {
    tenantId,
    filters,
    sort: { field: 'id', descending: false },
    markerMode: spec.markerMode,
  };

  const limit = first(params.limit);
  if (limit !== undefined) {
    if (!/^\s*\+?\d+\s*$/.test(limit) || Number(limit) <= 0 || !Number.isSafeInteger(Number(limit))) {
      throw new ApiError('INVALID_QUERY', `'limit' must be a positive integer, not ${echo(limit)}`);
    }
    result.limit = Number(limit);
  }

  const sortBy = first(params.sort_by);
  if (sortBy !== undefined) {
    const descending = sortBy.startsWith('-');
    const field = descending ? sortBy.slice(1) : sortBy;
    if (!spec.sortFields.includes(field)) {
      throw new ApiError('INVALID_QUERY', `Unknown field for sorting ${field ? clip(field) : "''"}`);
    }
    result.sort = { field, descending };
  }

  const marker = first(params.marker);
  if (marker !== undefined) result.marker = marker;
  return result;
}

function toFilter(field: string, kind: FilterKind, raw: string): Filter {
  switch (kind) {
    case 'exact':
      return { field, op: 'eq', value: raw };
    case 'boolean': {
      const lowered = raw.toLowerCase();
      if (lowered !== 'true' && lowered !== 'false') {
        throw new ApiError('INVALID_PARAMS_ON_REQUEST', `Filter '${field}' takes true or false, not ${echo(raw)}`);
      }
      return { field, op: 'eq', value: lowered === 'true' };
    }
    case 'contains':
      return { field, op: 'contains', value: raw };
    case 'ieq':
      return { field, op: 'ieq', value: raw };
  }
}

/** Renders a Python-style list, as Sahara's messages do: ['a', 'b']; at most ten items, each cut short. */
function pyList(items: readonly string[]): string {
  const shown = items.slice(0, 10).map((item) => echo(item, 50));
  return `[${shown.join(', ')}${items.length > shown.length ? `, … (${items.length} items)` : ''}]`;
}

/** A list response: the items under the resource's key, plus `markers` when paginating. */
export type ListBody = Record<string, unknown[] | { prev: string | null; next: string | null }>;

/**
 * The whole list operation shared by every resource: marker check (404 when the marker is not
 * visible), the store query, and Sahara's envelope with `markers` when paginating.
 */
export async function listResource<T extends Owned>(
  repo: ListedRepository<T>,
  query: unknown,
  spec: ListSpec,
  tenantId: string,
  render: (row: T) => unknown,
): Promise<ListBody> {
  const { page, markers } = await readList(repo, query, spec, tenantId);
  const body: ListBody = { [spec.key]: await mapYielding(page.items, render) };
  if (markers) body.markers = { prev: page.prev, next: page.next };
  return body;
}

interface ListedRepository<T> {
  get(id: string): Promise<T | undefined>;
  list(query: ListQuery): Promise<Page<T>>;
}

/** A list's page, and whether its envelope carries `markers` (when paginating). */
export async function readList<T extends Owned>(
  repo: ListedRepository<T>,
  query: unknown,
  spec: ListSpec,
  tenantId: string,
): Promise<{ page: Page<T>; markers: boolean }> {
  const listQuery = parseListQuery(query, spec, tenantId);
  if (listQuery.marker !== undefined) {
    if (spec.ignoreUnknownMarker) {
      const marker = await repo.get(listQuery.marker);
      if (!marker || (marker.tenant_id !== tenantId && marker.is_public !== true)) delete listQuery.marker;
    } else {
      await getVisible(repo, listQuery.marker, tenantId);
    }
  }
  const page = await repo.list(listQuery);
  const markers =
    page.prev !== null ||
    page.next !== null ||
    first((query as Record<string, unknown> | undefined)?.marker) !== undefined;
  return { page, markers };
}

/**
 * Sends a list body, serialising its items one at a time with the item's schema and handing the
 * event loop to other requests between them (mapYielding): one call for a whole page of rows at
 * the input limits ran for tens of milliseconds. The bytes are those the list's response schema
 * would have produced.
 */
export async function sendList(reply: FastifyReply, body: ListBody, key: string, item: TSchema): Promise<FastifyReply> {
  const serialize = reply.compileSerializationSchema(item) as (value: unknown) => string;
  const items = await mapYielding(body[key] as unknown[], serialize);
  return sendItems(reply, key, items, body.markers as Page<unknown> | undefined);
}

/**
 * Sends a list whose items are serialised already (each one shaped by the item's schema), in
 * the envelope the list's response schema would have produced.
 */
export async function sendItems(
  reply: FastifyReply,
  key: string,
  items: readonly string[],
  markers: { prev: string | null; next: string | null } | undefined,
): Promise<FastifyReply> {
  const body = joinItems(key, items, markers);
  void reply.type('application/json; charset=utf-8');
  // A string is sent as it is: each item has been shaped by its schema already.
  if (body !== undefined) return reply.send(body as never);
  // Joined and encoded at once, a page of large rows took the event loop for ten milliseconds
  // and more: each item is encoded on its own, between other requests, and streamed.
  const comma = Buffer.from(',');
  const pieces = [Buffer.from(envelopeHead(key))];
  for (const [index, bytes] of (await mapYielding(items, (text) => Buffer.from(text))).entries()) {
    if (index > 0) pieces.push(comma);
    pieces.push(bytes);
  }
  pieces.push(Buffer.from(envelopeTail(markers)));
  const bytes = pieces.reduce((total, piece) => total + piece.length, 0);
  return reply.header('content-length', bytes).send(Readable.from(pieces, { objectMode: false }) as never);
}

/** The list's body in one string, or undefined when it is too long to be built at once. */
export function joinItems(
  key: string,
  items: readonly string[],
  markers: { prev: string | null; next: string | null } | undefined,
): string | undefined {
  const head = envelopeHead(key);
  const tail = envelopeTail(markers);
  let length = head.length + tail.length + items.length;
  for (const text of items) length += text.length;
  return length <= STREAMED_LIST_CHARS ? `${head}${items.join(',')}${tail}` : undefined;
}

const envelopeHead = (key: string) => `{${JSON.stringify(key)}:[`;
const envelopeTail = (markers: { prev: string | null; next: string | null } | undefined) =>
  markers === undefined ? ']}' : `],"markers":${JSON.stringify({ prev: markers.prev, next: markers.next })}}`;

/** Lists whose JSON is longer than this are sent as a stream of their items. */
const STREAMED_LIST_CHARS = 1024 * 1024;
