import type { Logger } from 'pino';
import type { ExecutionEventRecord, Store } from '../store/types.js';
import { Poller } from './poller.js';

/**
 * Execution status changes as streams, per project. The log itself is written by the store's
 * triggers in the transaction of each change (migration 4), numbered in commit order; this
 * module reads it. One reader per node follows the whole log and hands each new event to the
 * streams of its project; a stream that starts or resumes first replays the log from its last
 * id, buffering what the shared reader hands it meanwhile, so nothing falls in between.
 */

/** What a stream receives: an event, or word that events after its last id were lost. */
export type StreamItem =
  | { kind: 'event'; event: ExecutionEventRecord }
  | { kind: 'reset'; reason: 'expired' | 'unknown'; lastEventId: number; resumedAfter: number };

export interface EventStream {
  /** Stops the stream; safe to call twice. */
  close(): void;
}

export class TooManyStreamsError extends Error {
  constructor(readonly limit: number) {
    super(`at most ${limit} event streams per project may be open at once`);
    this.name = 'TooManyStreamsError';
  }
}

export interface EventHubOptions {
  store: Store;
  maxStreamsPerProject: number;
  logger?: Pick<Logger, 'warn'>;
}

/** Events read per query, by the shared reader and by a replay. */
const PAGE = 500;
/** The shared reader also reads this often while streams are open, in case a signal was lost. */
const SAFETY_READ_MS = 5_000;

/** Where a stream's items go; `end` is called once when the stream closes, for any reason. */
export interface EventSink {
  send(item: StreamItem): void;
  end(): void;
}

export interface OpenStream extends EventStream {
  /** Sends the replay, then live events; rejects if the log could not be read (the stream is closed). */
  run(): Promise<void>;
}

class Subscriber {
  /** The id of the last event sent. */
  cursor: number;
  /** Sent first, when the stream resumes from an id it cannot resume from exactly. */
  reset: StreamItem | undefined;
  private live = false;
  private buffer: ExecutionEventRecord[] = [];
  closed = false;

  constructor(
    readonly tenantId: string,
    start: number,
    private readonly sink: EventSink,
    private readonly onClose: (subscriber: Subscriber) => void,
  ) {
    this.cursor = start;
  }

  /** From the shared reader: kept until the replay is done, then sent in order. */
  offer(event: ExecutionEventRecord): void {
    if (this.closed) return;
    if (!this.live) this.buffer.push(event);
    else this.sendEvent(event);
  }

  sendEvent(event: ExecutionEventRecord): void {
    if (this.closed || event.id <= this.cursor) return;
    this.cursor = event.id;
    this.sink.send({ kind: 'event', event });
  }

  sendItem(item: StreamItem): void {
    if (!this.closed) this.sink.send(item);
  }

  goLive(): void {
    this.live = true;
    const buffered = this.buffer;
    this.buffer = [];
    for (const event of buffered) this.sendEvent(event);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.buffer = [];
    this.onClose(this);
    this.sink.end();
  }
}

export class ExecutionEventHub {
  private readonly streams = new Map<string, Set<Subscriber>>();
  private openStreams = 0;
  /** The id of the last event the shared reader has handed out. */
  private position = 0;
  private following: Promise<void> | undefined;
  private reading: Promise<void> | undefined;
  private readAgain = false;
  private unsubscribe: (() => void) | undefined;
  private safetyTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: EventHubOptions) {}

  /** Open streams of a project on this node. */
  streamsOf(tenantId: string): number {
    return this.streams.get(tenantId)?.size ?? 0;
  }

  /**
   * Opens a stream of `tenantId`'s events after `lastEventId` (from now when undefined). Throws
   * TooManyStreamsError when the project has its maximum open, and the store's errors when the
   * log cannot be read. Nothing is sent before `run()`: it sends the replay, then live events,
   * until the stream is closed (by the caller, or by the hub at shutdown: `sink.end`).
   */
  async open(tenantId: string, lastEventId: number | undefined, sink: EventSink): Promise<OpenStream> {
    if (this.closed) throw new Error('the event hub is closed');
    const { maxStreamsPerProject, store } = this.options;
    if (this.streamsOf(tenantId) >= maxStreamsPerProject) throw new TooManyStreamsError(maxStreamsPerProject);
    const subscriber = new Subscriber(tenantId, lastEventId ?? 0, sink, (closed) => this.remove(closed));
    let set = this.streams.get(tenantId);
    if (!set) this.streams.set(tenantId, (set = new Set()));
    set.add(subscriber);
    this.openStreams += 1;
    this.following ??= this.follow();
    try {
      // The shared reader's position is set before any replay reads: every event after it
      // reaches the stream's buffer, every event up to it is in the replay.
      await this.following;
      const latest = await store.executionEvents.latestId();
      if (lastEventId === undefined) {
        subscriber.cursor = latest;
      } else if (lastEventId > latest) {
        // An id this log never gave (another database, or one restored from a backup).
        subscriber.cursor = latest;
        subscriber.reset = { kind: 'reset', reason: 'unknown', lastEventId, resumedAfter: latest };
      } else if (lastEventId < (await store.executionEvents.prunedThrough())) {
        subscriber.reset = { kind: 'reset', reason: 'expired', lastEventId, resumedAfter: lastEventId };
      }
    } catch (error) {
      subscriber.close();
      throw error;
    }
    return { close: () => subscriber.close(), run: () => this.replay(subscriber) };
  }

  /** Ends every stream (at shutdown) and stops reading. */
  close(): void {
    this.closed = true;
    for (const set of [...this.streams.values()]) for (const subscriber of [...set]) subscriber.close();
    this.stopFollowing();
  }

  private async replay(subscriber: Subscriber): Promise<void> {
    if (subscriber.reset) subscriber.sendItem(subscriber.reset);
    try {
      for (;;) {
        if (subscriber.closed) return;
        const page = await this.options.store.executionEvents.listAfter(subscriber.cursor, {
          tenantId: subscriber.tenantId,
          limit: PAGE,
        });
        for (const event of page) subscriber.sendEvent(event);
        if (page.length < PAGE) break;
      }
    } catch (error) {
      // The client reconnects with its last id and the replay starts again from there.
      subscriber.close();
      throw error;
    }
    subscriber.goLive();
  }

  /** Starts the shared reader from the log's end: streams replay what came before themselves. */
  private async follow(): Promise<void> {
    try {
      this.position = await this.options.store.executionEvents.latestId();
    } catch (error) {
      this.following = undefined;
      throw error;
    }
    if (this.openStreams === 0) return;
    this.unsubscribe ??= this.options.store.onEventsAppended(() => this.read());
    if (!this.safetyTimer) {
      this.safetyTimer = setInterval(() => this.read(), SAFETY_READ_MS);
      this.safetyTimer.unref();
    }
  }

  private stopFollowing(): void {
    this.following = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.safetyTimer) clearInterval(this.safetyTimer);
    this.safetyTimer = undefined;
  }

  private remove(subscriber: Subscriber): void {
    const set = this.streams.get(subscriber.tenantId);
    if (!set?.delete(subscriber)) return;
    if (set.size === 0) this.streams.delete(subscriber.tenantId);
    this.openStreams -= 1;
    if (this.openStreams === 0) this.stopFollowing();
  }

  /** Reads what was appended after `position`; one read at a time, and one more if asked meanwhile. */
  private read(): void {
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = this.readNew()
      .catch((error: unknown) => {
        // The next signal or the safety read tries again from the same position.
        this.options.logger?.warn({ err: error }, 'reading execution events failed');
      })
      .finally(() => {
        this.reading = undefined;
        if (this.readAgain && this.openStreams > 0) {
          this.readAgain = false;
          this.read();
        }
      });
  }

  private async readNew(): Promise<void> {
    for (;;) {
      if (this.openStreams === 0) return;
      const page = await this.options.store.executionEvents.listAfter(this.position, { limit: PAGE });
      for (const event of page) {
        this.position = event.id;
        const set = this.streams.get(event.tenant_id);
        if (set) for (const subscriber of set) subscriber.offer(event);
      }
      if (page.length < PAGE) return;
    }
  }
}

export interface EventRetentionOptions {
  store: Store;
  retentionMs: number;
  logger: Logger;
}

/** How often old events and finished webhook deliveries are pruned. */
const PRUNE_INTERVAL_MS = 10 * 60_000;

/**
 * Prunes events older than the retention, and webhook deliveries finished before it. Every node
 * runs it; a second pruning finds nothing left to do.
 */
export class EventRetention {
  private readonly loop: Poller;

  constructor(private readonly options: EventRetentionOptions) {
    this.loop = new Poller(async () => void (await this.prune()), {
      name: 'event-retention',
      intervalMs: Math.min(PRUNE_INTERVAL_MS, options.retentionMs),
      logger: options.logger,
    });
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  async prune(now = Date.now()): Promise<{ events: number; deliveries: number }> {
    const before = new Date(now - this.options.retentionMs).toISOString();
    const events = await this.options.store.executionEvents.prune(before);
    const deliveries = await this.options.store.webhooks.pruneDeliveries(before);
    if (events + deliveries > 0) this.options.logger.debug({ events, deliveries, before }, 'pruned execution events');
    return { events, deliveries };
  }
}
