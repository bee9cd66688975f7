/**
 * Rows this process read recently, by id, so that the most frequent request (a client polling
 * one execution) does not pay a database round trip when nothing changed.
 *
 * A row is only ever served from here if no write can have happened since it was read:
 * - writes through this process invalidate their ids once they finish, and a read that was in
 *   flight while any invalidation happened is not remembered (it may predate the write);
 * - writes by other processes arrive through the dialect's change feed: SQLite's data_version
 *   is checked before hits (at most every millisecond), PostgreSQL notifies every node from a
 *   trigger at commit. While that feed is down (its connection lost) the cache is suspended and
 *   every read goes to the database.
 * Cached rows are deep-frozen: callers share them and must not change them.
 */
export class RowCache<T extends { id: string }> {
  private readonly rows = new Map<string, T>();
  /** Bumped by every invalidation; a read remembers its row only if it saw none. */
  private generation = 0;
  private suspended: boolean;

  constructor(
    private readonly capacity: number,
    private readonly options: {
      /** Called before every hit; it calls clear() when another process changed the database. */
      checkExternalChanges?: () => void;
      /** Start suspended until the change feed confirms it is listening. */
      suspended?: boolean;
    } = {},
  ) {
    this.suspended = options.suspended ?? false;
  }

  /** Not async itself: a hit is the hot path and an async frame would cost it a promise more. */
  read(id: string, load: (id: string) => Promise<T | undefined>): Promise<T | undefined> {
    if (!this.suspended) {
      this.options.checkExternalChanges?.();
      const hit = this.rows.get(id);
      if (hit !== undefined) return Promise.resolve(hit);
    }
    return this.readThrough(id, load);
  }

  private async readThrough(id: string, load: (id: string) => Promise<T | undefined>): Promise<T | undefined> {
    const generation = this.generation;
    const row = await load(id);
    if (row !== undefined && generation === this.generation && !this.suspended) this.remember(row);
    return row;
  }

  invalidate(id: string): void {
    this.generation += 1;
    this.rows.delete(id);
  }

  clear(): void {
    this.generation += 1;
    this.rows.clear();
  }

  /** The change feed is down: serve nothing from memory until resume(). */
  suspend(): void {
    this.suspended = true;
    this.clear();
  }

  /** The change feed listens again; what was read before may have changed meanwhile. */
  resume(): void {
    this.clear();
    this.suspended = false;
  }

  get size(): number {
    return this.rows.size;
  }

  private remember(row: T): void {
    // The oldest entry goes first: Map keeps insertion order.
    if (this.rows.size >= this.capacity) this.rows.delete(this.rows.keys().next().value!);
    this.rows.set(row.id, deepFreeze(row));
  }
}

function deepFreeze<V>(value: V): V {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
