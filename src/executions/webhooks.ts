import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import type { DueDelivery, Store, WebhookDeliveryRecord } from '../store/types.js';
import { Poller } from './poller.js';
import { resolveTarget } from './webhook-targets.js';

/**
 * Sends webhook deliveries. Deliveries are an outbox in the database, queued by a trigger in the
 * transaction of the terminal status they announce; this worker leases the due ones (so with
 * several nodes each is sent by one node), POSTs each, and records the outcome: delivered, a
 * retry later with exponential backoff, or failed for good after the last attempt. A delivery
 * being sent when its node dies is sent again once its lease expires: receivers deduplicate by
 * the `Oasis-Event-Id` header.
 */

export interface WebhookDeliveriesOptions {
  store: Store;
  nodeId: string;
  allowPrivate: boolean;
  retryDelayMs: number;
  maxAttempts: number;
  timeoutMs: number;
  logger: Logger;
}

/** Deliveries sent at once by one node. */
const BATCH = 16;
/** The longest wait between two retries, however many attempts came before. */
const MAX_RETRY_DELAY_MS = 60 * 60_000;
/** Bytes of a receiver's answer read (and dropped) before the connection is let go. */
const MAX_ANSWER_BYTES = 64 * 1024;
/** Characters of an error kept with a delivery. */
const MAX_ERROR_LENGTH = 500;

export const SIGNATURE_HEADER = 'Oasis-Signature';
export const EVENT_ID_HEADER = 'Oasis-Event-Id';

/** The body of a delivery: the same bytes on every attempt, so the signature is the same too. */
export function deliveryBody(delivery: WebhookDeliveryRecord): string {
  return JSON.stringify({
    event_id: delivery.event_id,
    webhook_id: delivery.webhook_id,
    execution_id: delivery.execution_id,
    project_id: delivery.tenant_id,
    status: delivery.status,
    previous_status: delivery.previous_status,
    time: delivery.event_time,
  });
}

/** `sha256=<hex HMAC-SHA256 of the raw body, keyed with the webhook's secret>`. */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

type Outcome = { delivered: true } | { delivered: false; error: string; permanent: boolean };

export class WebhookDeliveries {
  private readonly loop: Poller;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly options: WebhookDeliveriesOptions) {
    this.loop = new Poller(() => this.tick(), {
      name: 'webhook-deliveries',
      // Often enough to keep the first retries on time.
      intervalMs: Math.max(50, Math.min(1_000, Math.floor(options.retryDelayMs / 2))),
      logger: options.logger,
    });
  }

  start(): void {
    // A terminal event may have queued deliveries: look now rather than at the next pass.
    this.unsubscribe ??= this.options.store.onEventsAppended(() => this.loop.wake());
    this.loop.start();
  }

  /** Stops claiming; a delivery being sent finishes (within the timeout) and is recorded. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.loop.stop();
  }

  /** One pass: sends what is due; asks for the next pass at once when there may be more. */
  async tick(): Promise<number | void> {
    const { store, nodeId, timeoutMs } = this.options;
    const due = await store.webhooks.claimDeliveries({
      nodeId,
      limit: BATCH,
      // Long enough for the send and its recording; a node that dies leaves it to another.
      leaseMs: timeoutMs + 30_000,
      now: new Date().toISOString(),
    });
    await Promise.all(due.map((delivery) => this.deliver(delivery)));
    if (due.length === BATCH) return 0;
  }

  private async deliver(delivery: DueDelivery): Promise<void> {
    const { store, nodeId, maxAttempts, retryDelayMs, logger } = this.options;
    const outcome = await this.send(delivery);
    const attempts = delivery.attempts + 1;
    const now = new Date();
    const log = { webhookId: delivery.webhook_id, eventId: delivery.event_id, attempts };
    if (outcome.delivered) {
      await store.webhooks.recordAttempt(delivery.id, nodeId, {
        state: 'delivered',
        attempts,
        next_attempt_at: delivery.next_attempt_at,
        last_error: null,
        finished_at: now.toISOString(),
      });
      logger.debug(log, 'webhook delivered');
      return;
    }
    const error = outcome.error.slice(0, MAX_ERROR_LENGTH);
    if (outcome.permanent || attempts >= maxAttempts) {
      await store.webhooks.recordAttempt(delivery.id, nodeId, {
        state: 'failed',
        attempts,
        next_attempt_at: delivery.next_attempt_at,
        last_error: error,
        finished_at: now.toISOString(),
      });
      logger.warn({ ...log, error }, 'webhook delivery failed for good');
      return;
    }
    const delay = Math.min(retryDelayMs * 2 ** (attempts - 1), MAX_RETRY_DELAY_MS);
    await store.webhooks.recordAttempt(delivery.id, nodeId, {
      state: 'pending',
      attempts,
      next_attempt_at: new Date(now.getTime() + delay).toISOString(),
      last_error: error,
      finished_at: null,
    });
    logger.info({ ...log, error, retryInMs: delay }, 'webhook delivery failed; retrying later');
  }

  /** One POST. The secret goes into the signature only; neither it nor the URL's query is logged. */
  private async send(delivery: DueDelivery): Promise<Outcome> {
    const { allowPrivate, timeoutMs } = this.options;
    let url: URL;
    try {
      url = new URL(delivery.url);
    } catch {
      return { delivered: false, error: 'the webhook URL is invalid', permanent: true };
    }
    let target: Awaited<ReturnType<typeof resolveTarget>>;
    try {
      target = await resolveTarget(url, allowPrivate);
    } catch (error) {
      return { delivered: false, error: `resolving ${url.hostname} failed: ${errorMessage(error)}`, permanent: false };
    }
    if ('refused' in target) return { delivered: false, error: `refused: ${target.refused}`, permanent: true };
    const body = deliveryBody(delivery);
    const headers = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'user-agent': 'Oasis-Webhooks/1',
      [SIGNATURE_HEADER]: signature(delivery.secret, body),
      [EVENT_ID_HEADER]: String(delivery.event_id),
    };
    // The connection goes to the address just checked, never to a second resolution's answer.
    const pinned: LookupFunction = (_hostname, options, callback) => {
      if ((options as { all?: boolean }).all)
        (callback as (error: null, addresses: { address: string; family: number }[]) => void)(null, [target]);
      else callback(null, target.address, target.family);
    };
    const client = url.protocol === 'https:' ? https : http;
    return new Promise<Outcome>((resolve) => {
      const request = client.request(
        url,
        { method: 'POST', headers, lookup: pinned, timeout: timeoutMs, agent: false },
        (response) => {
          let read = 0;
          response.on('data', (chunk: Buffer) => {
            read += chunk.length;
            if (read > MAX_ANSWER_BYTES) response.destroy();
          });
          const status = response.statusCode ?? 0;
          const settle = () =>
            resolve(
              status >= 200 && status < 300
                ? { delivered: true }
                : { delivered: false, error: `the receiver answered ${status}`, permanent: false },
            );
          response.on('end', settle);
          response.on('close', settle);
          response.on('error', settle);
        },
      );
      const deadline = setTimeout(() => request.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      request.on('error', (error) => resolve({ delivered: false, error: errorMessage(error), permanent: false }));
      request.on('close', () => clearTimeout(deadline));
      request.end(body);
    });
  }
}
