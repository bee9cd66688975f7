import pg from 'pg';

/** The channel migration 2's trigger notifies with the id of every execution row written. */
export const EXECUTION_CHANGES_CHANNEL = 'oasis_job_executions';

const RECONNECT_MS = { first: 200, max: 5_000 };
/**
 * A connection whose peer vanished without a word (a network cut) looks alive to the socket
 * until TCP gives up, hours later: the feed proves itself with a query this often, and a query
 * unanswered for as long counts as the connection lost.
 */
const HEARTBEAT_MS = 2_000;

interface Logger {
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
}

export interface ChangeSubscriber {
  /** A row changed (any node, this one included). */
  changed(id: string): void;
  /** Notifications may be lost from now on. */
  lost(): void;
  /** Listening again: every change from now on is notified. */
  listening(): void;
}

/**
 * Keeps one connection of its own LISTENing for execution changes, reconnecting with backoff
 * whenever it drops (a PostgreSQL restart, a network cut). `subscriber.lost()` is called as soon
 * as the connection fails, so nothing is trusted while notifications could be missed.
 */
export function listenForChanges(
  databaseUrl: string,
  subscriber: ChangeSubscriber,
  options: { connectTimeoutMs: number; logger?: Logger; channel?: string },
): { close(): Promise<void> } {
  const { connectTimeoutMs, logger } = options;
  const channel = options.channel ?? EXECUTION_CHANGES_CHANNEL;
  let client: pg.Client | undefined;
  let closed = false;
  /** A feed that was listening has been lost: its return is worth a log line. */
  let lostOnce = false;
  let delay = RECONNECT_MS.first;
  let timer: NodeJS.Timeout | undefined;

  const retry = () => {
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, delay);
    timer.unref();
    delay = Math.min(delay * 2, RECONNECT_MS.max);
  };

  const connect = async () => {
    const next = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: connectTimeoutMs });
    let failed = false;
    const fail = (error?: Error) => {
      if (failed) return;
      failed = true;
      subscriber.lost();
      const wasListening = client === next;
      if (wasListening) client = undefined;
      next.end().catch(() => undefined);
      if (closed) return;
      if (wasListening) {
        lostOnce = true;
        logger?.warn(
          { err: { message: error?.message ?? 'connection ended' }, channel },
          'PostgreSQL change feed lost; its readers use the database alone until it is back',
        );
      }
      retry();
    };
    next.on('error', fail);
    next.on('end', () => fail());
    next.on('notification', (message) => {
      if (message.payload) subscriber.changed(message.payload);
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${channel}`);
    } catch (error) {
      fail(error as Error);
      return;
    }
    if (closed || failed) {
      await next.end().catch(() => undefined);
      return;
    }
    if (lostOnce) {
      lostOnce = false;
      logger?.info({ channel }, 'PostgreSQL change feed is back');
    }
    client = next;
    delay = RECONNECT_MS.first;
    subscriber.listening();
    heartbeat(next, () => failed, fail);
  };

  const heartbeat = (listener: pg.Client, ended: () => boolean, fail: (error: Error) => void) => {
    const beat = setInterval(() => {
      if (ended()) return clearInterval(beat);
      const late = setTimeout(() => fail(new Error('the change feed did not answer its heartbeat')), HEARTBEAT_MS);
      late.unref();
      listener.query('select 1').then(
        () => clearTimeout(late),
        (error: Error) => {
          clearTimeout(late);
          fail(error);
        },
      );
    }, HEARTBEAT_MS);
    beat.unref();
  };

  void connect();
  return {
    close: async () => {
      closed = true;
      if (timer) clearTimeout(timer);
      subscriber.lost();
      await client?.end().catch(() => undefined);
    },
  };
}
