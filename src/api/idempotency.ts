import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, DuplicateEntryError, coerceError } from '../errors.js';
import type { IdempotencyKeyRecord, Store, StoreTransaction } from '../store/types.js';
import type { AuthContext } from './auth.js';

/**
 * Idempotency keys (docs/idempotency.md). A creating request that carries `Idempotency-Key`
 * stores the key, a hash of the request and the response it sent in the same transaction as the
 * row it created; a retry with the key and the same request gets that response again and
 * creates nothing. A request that failed with a 4xx keeps its answer too. The key's primary key
 * decides between two requests with one key running at once.
 *
 * A route takes part by declaring `config: { idempotent: true }` (app.ts installs `check` and
 * `remember` on it) and writing its row through `createOnce`.
 */

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const MAX_KEY_LENGTH = 255;
/** Printable ASCII without spaces: UUIDs, ULIDs, base64 and the like. */
export const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
export const DEFAULT_IDEMPOTENCY_TTL_MS = 24 * 3_600_000;
/** Expired keys are deleted at most this often, by the first keyed request after it. */
const PRUNE_EVERY_MS = 60_000;

interface Claim {
  tenantId: string;
  key: string;
  hash: string;
  ttlMs: number;
}

export interface IdempotencyHooks {
  /** preValidation, after the body is parsed: checks the key and replays a stored answer. */
  check(request: FastifyRequest, reply: FastifyReply): Promise<unknown>;
  /** onSend: keeps the 4xx answer of a keyed request that created nothing. */
  remember(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown>;
}

/** The keyed requests in flight that have not answered from or into the key table yet. */
const claims = new WeakMap<FastifyRequest, Claim>();

export function idempotencyHooks(store: Store, ttlMs = DEFAULT_IDEMPOTENCY_TTL_MS): IdempotencyHooks {
  let prunedAt = 0;
  const prune = (request: FastifyRequest) => {
    const now = Date.now();
    if (now - prunedAt < PRUNE_EVERY_MS) return;
    prunedAt = now;
    store.idempotencyKeys.prune(new Date(now).toISOString()).catch((error: unknown) => {
      request.log.warn({ err: coerceError(error) }, 'pruning expired idempotency keys failed');
    });
  };
  return {
    async check(request, reply) {
      const key = keyOf(request);
      if (key === undefined) return;
      const claim: Claim = { tenantId: (request.auth as AuthContext).tenantId, key, hash: requestHash(request), ttlMs };
      prune(request);
      const stored = await store.idempotencyKeys.get(claim.tenantId, key, new Date().toISOString());
      if (stored) return replay(reply, claim, stored);
      claims.set(request, claim);
    },
    async remember(request, reply, payload) {
      const claim = claims.get(request);
      claims.delete(request);
      // 5xx answers are not kept: the request may have created nothing, and a retry should run.
      if (!claim || reply.statusCode < 400 || reply.statusCode >= 500 || typeof payload !== 'string') return payload;
      try {
        await store.idempotencyKeys.insert(recordOf(claim, reply.statusCode, payload));
      } catch (error) {
        // A request with the key that ran at the same time won, and may be why this one failed
        // (the name it created is taken now): answer as it did.
        const stored =
          error instanceof DuplicateEntryError ? await winner(store, claim).catch(() => undefined) : undefined;
        if (stored?.request_hash === claim.hash) {
          reply.code(stored.status_code).header('idempotent-replayed', 'true').type(JSON_TYPE);
          return stored.response;
        }
        // Or the database is away: a retry runs again, and fails the same way.
        request.log.warn({ err: coerceError(error) }, 'keeping an idempotency key failed');
      }
      return payload;
    },
  };
}

/**
 * Writes what a creating route creates. Without a key: `create(store)`, then the answer. With
 * one: `create` runs in a transaction that also stores the key with the serialised answer, so
 * either both are kept or neither is; a request with the same key that won meanwhile makes this
 * one answer as that one did.
 */
export async function createOnce(
  request: FastifyRequest,
  reply: FastifyReply,
  store: Store,
  status: number,
  create: (tx: StoreTransaction) => Promise<object>,
): Promise<FastifyReply> {
  reply.code(status);
  const claim = claims.get(request);
  if (!claim) return reply.send(await create(store));
  let body: string;
  try {
    body = await store.transaction(async (tx) => {
      const text = reply.serialize(await create(tx)) as string;
      await tx.idempotencyKeys.insert(recordOf(claim, status, text));
      return text;
    });
  } catch (error) {
    // The winner's row may be what failed here (a unique name): its key tells.
    if (!(error instanceof DuplicateEntryError)) throw error;
    const stored = await winner(store, claim);
    if (!stored) throw error;
    claims.delete(request);
    return replay(reply, claim, stored);
  }
  claims.delete(request);
  return reply.type(JSON_TYPE).send(body);
}

const JSON_TYPE = 'application/json; charset=utf-8';

const winner = (store: Store, claim: Claim) =>
  store.idempotencyKeys.get(claim.tenantId, claim.key, new Date().toISOString());

function replay(reply: FastifyReply, claim: Claim, stored: IdempotencyKeyRecord): FastifyReply {
  if (stored.request_hash !== claim.hash) {
    throw new ApiError(
      'IDEMPOTENCY_KEY_REUSED',
      'The Idempotency-Key was already used with a different request; use a new key for a new request',
    );
  }
  return reply.code(stored.status_code).header('idempotent-replayed', 'true').type(JSON_TYPE).send(stored.response);
}

/** The request's key, undefined without the header; a 400 for a key out of bounds. */
function keyOf(request: FastifyRequest): string | undefined {
  const header = request.headers[IDEMPOTENCY_HEADER];
  if (header === undefined) return undefined;
  // Node joins repeated headers with ", ", which the pattern refuses.
  const key = Array.isArray(header) ? header.join(', ') : header;
  if (!KEY_PATTERN.test(key)) {
    throw new ApiError(
      'BAD_REQUEST',
      `The Idempotency-Key header must be 1 to ${MAX_KEY_LENGTH} printable ASCII characters without spaces`,
    );
  }
  return key;
}

/** The method, the URL and the body: JSON canonically (key order and spacing do not count), else its bytes. */
function requestHash(request: FastifyRequest): string {
  const hash = createHash('sha256').update(`${request.method} ${request.url}\n`);
  if (Buffer.isBuffer(request.body)) hash.update(request.body);
  else hash.update(canonicalJson(request.body ?? {}));
  return hash.digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

function recordOf(claim: Claim, status: number, response: string): IdempotencyKeyRecord {
  const now = Date.now();
  return {
    tenant_id: claim.tenantId,
    idempotency_key: claim.key,
    request_hash: claim.hash,
    status_code: status,
    response,
    created_at: new Date(now).toISOString(),
    expires_at: new Date(now + claim.ttlMs).toISOString(),
  };
}
