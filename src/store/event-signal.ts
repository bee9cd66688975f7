import type { JobExecutionRepository } from './types.js';

type Feed = { close(): Promise<void> };

/**
 * Tells readers of the event log that events may have been appended. The feed that hears of
 * other processes' commits (a PostgreSQL LISTEN connection, SQLite's data_version) starts with
 * the first subscriber; this process's own execution writes raise the signal as they finish,
 * whether they succeeded or not (a failed commit may still have committed).
 */
export class EventSignal {
  private readonly listeners = new Set<() => void>();
  private feed: Feed | undefined;
  private closed = false;

  constructor(private readonly openFeed: (signal: EventSignal) => Feed) {}

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    if (!this.feed && !this.closed) this.feed = this.openFeed(this);
    return () => this.listeners.delete(listener);
  }

  raise(): void {
    for (const listener of this.listeners) {
      try {
        listener();
      } catch {
        // A listener's failure is its own; the others are still told.
      }
    }
  }

  /** The executions repository with every write raising the signal once it has finished. */
  afterWrites(repository: JobExecutionRepository): JobExecutionRepository {
    const raising =
      <A extends unknown[], R>(write: (...args: A) => Promise<R>) =>
      async (...args: A): Promise<R> => {
        try {
          return await write(...args);
        } finally {
          if (this.listeners.size > 0) this.raise();
        }
      };
    return {
      ...repository,
      insert: raising(repository.insert),
      update: raising(repository.update),
      updateIf: raising(repository.updateIf),
      delete: raising(repository.delete),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    await this.feed?.close();
  }
}
