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

  /**
   * The rows of `ids` that exist, in the order of `ids`: those in memory from here, the others
   * through `load`, which is called once with all of them and leaves out the ids it does not find.
   * A list longer than the cache is not remembered: it would only evict itself.
   */
  async readMany(ids: readonly string[], load: (ids: string[]) => Promise<T[]>): Promise<T[]> {
    const found: (T | undefined)[] = new Array<T | undefined>(ids.length);
    const missing: string[] = [];
    if (!this.suspended) this.options.checkExternalChanges?.();
    for (let index = 0; index < ids.length; index += 1) {
      const hit = this.suspended ? undefined : this.rows.get(ids[index]!);
      if (hit === undefined) missing.push(ids[index]!);
      else found[index] = hit;
    }
    if (missing.length === 0) return found as T[];
    const generation = this.generation;
    const loaded = await load(missing);
    const keep = generation === this.generation && !this.suspended && ids.length <= this.capacity;
    const byId = new Map<string, T>();
    for (const row of loaded) byId.set(row.id, keep ? this.remember(row) : row);
    const rows: T[] = [];
    for (let index = 0; index < ids.length; index += 1) {
      const row = found[index] ?? byId.get(ids[index]!);
      if (row !== undefined) rows.push(row);
    }
    return rows;
  }

  /**
   * A number that changes whenever a cached row may have changed, after asking for other
   * processes' changes; undefined while suspended. What was derived from rows at one generation
   * (a list's ids) holds as long as the generation stays the same.
   */
  currentGeneration(): number | undefined {
    if (this.suspended) return undefined;
    this.options.checkExternalChanges?.();
    return this.generation;
  }

  /** The largest number of rows the cache holds. */
  get rowCapacity(): number {
    return this.capacity;
  }

  invalidate(id: string): void {
    this.generation += 1;
    this.rows.delete(id);
  }

  /** Forgets the rows that `matches`: a write changed exactly the rows of a predicate. */
  invalidateWhere(matches: (row: T) => boolean): void {
    this.generation += 1;
    for (const [id, row] of this.rows) if (matches(row)) this.rows.delete(id);
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

  private remember(row: T): T {
    // The oldest entry goes first: Map keeps insertion order.
    if (this.rows.size >= this.capacity) this.rows.delete(this.rows.keys().next().value!);
    this.rows.set(row.id, deepFreeze(row));
    return row;
  }
}

function deepFreeze<V>(value: V): V {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
