import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Kysely } from 'kysely';

import type { Database } from './database.js';
import { type ListedId, type ListSource, listIds, rowsByIds } from './listing.js';
import type { RowCache } from './row-cache.js';
import { decodeRow } from './tables.js';
import type { ListQuery, Page } from './types.js';
import { mapYielding } from './yielding.js';

/** The most bytes of large values (SQLite) one read of missing rows takes. */
const BATCH_BYTES = 1024 * 1024;
/** The most ids one read of missing rows names. */
const BATCH_IDS = 500;

/**
 * A list page whose rows come from the row cache. The database answers which ids are on the page
 * (filters, order, markers and each tenant's visibility all stay in SQL), and only the rows not
 * in memory are read, by id, in as few statements as their size allows: building a row object
 * per column and decoding its JSON was most of a list's cost. Then the whole page is kept, by
 * query (tenant, filters, order, marker, limit), for as long as the cache's generation stays the
 * same: every write to an execution, this process's or another's through the change feed, moves
 * it on. An unchanged list is then one object handed out again, whose body the API keeps as it
 * keeps a show's. Pages that sort or filter on a joined name (a template's or a cluster's) are
 * not kept: a rename does not touch the executions.
 *
 * Rows are as fresh as the cache's rules make them (a row is served from memory only if no write
 * can have happened since it was read); a row deleted between the two reads makes the page be
 * read again, and is left out after a few tries, as if the list had been read after the delete.
 */
export async function listThroughCache<T extends { id: string }>(
  db: Kysely<Database>,
  source: ListSource,
  cache: RowCache<T>,
  query: ListQuery,
): Promise<Page<T>> {
  const generation = cache.currentGeneration();
  const joined = source.joined ?? {};
  const pages =
    generation === undefined || joined[query.sort.field] || query.filters.some((filter) => joined[filter.field])
      ? undefined
      : keptPages(cache);
  const key =
    pages && JSON.stringify([query.tenantId, query.filters, query.sort, query.marker, query.markerMode, query.limit]);
  const kept = key === undefined ? undefined : pages!.get(key);
  if (kept !== undefined && kept.generation === generation) return kept.page as Page<T>;
  if (key === undefined) return readPage(db, source, cache, query);

  // Requests for the same list at the same generation wait for one read: after a write, sixteen
  // clients polling a list of a thousand rows each read and rendered it, all at once.
  const reading = pages!.reading.get(key);
  if (reading !== undefined && reading.generation === generation) return reading.page as Promise<Page<T>>;
  const read = readPage(db, source, cache, query);
  pages!.reading.set(key, { generation: generation!, page: read });
  try {
    const page = await read;
    // A page read while any execution was written may predate the write: it is not kept.
    if (cache.currentGeneration() === generation && page.items.length <= cache.rowCapacity) {
      Object.freeze(page.items);
      pages!.keep(key, { generation: generation!, page: Object.freeze(page) }, cache.rowCapacity);
    }
    return page;
  } finally {
    if (pages!.reading.get(key)?.page === read) pages!.reading.delete(key);
  }
}

async function readPage<T extends { id: string }>(
  db: Kysely<Database>,
  source: ListSource,
  cache: RowCache<T>,
  query: ListQuery,
): Promise<Page<T>> {
  let ids: Page<ListedId>;
  let items: T[];
  // A row deleted between the two reads leaves a hole in the page: it is read again, so that a
  // page is as long as its limit while more rows follow.
  for (let attempt = 1; ; attempt += 1) {
    ids = await listIds(db, source, query);
    const bytes = new Map<string, number>();
    for (const listed of ids.items) bytes.set(listed.id, Number(listed.bytes));
    items = await cache.readMany(
      ids.items.map((listed) => listed.id),
      (missing) => readRows<T>(db, source, missing, bytes),
    );
    if (items.length === ids.items.length || attempt === READ_ATTEMPTS) break;
  }
  return { items, prev: ids.prev, next: ids.next };
}

interface KeptPage {
  generation: number;
  page: Page<{ id: string }>;
}

/**
 * The pages kept for one row cache, oldest first; they hold no more rows in all than the cache
 * does, so that memory stays within twice the cache's.
 */
class KeptPages {
  private readonly pages = new Map<string, KeptPage>();
  /** The reads under way, by query. */
  readonly reading = new Map<string, { generation: number; page: Promise<Page<{ id: string }>> }>();
  private rows = 0;

  get(key: string): KeptPage | undefined {
    return this.pages.get(key);
  }

  keep(key: string, kept: KeptPage, capacity: number): void {
    this.forget(key);
    while (this.pages.size > 0 && (this.rows + kept.page.items.length > capacity || this.pages.size >= MAX_PAGES)) {
      this.forget(this.pages.keys().next().value!);
    }
    this.pages.set(key, kept);
    this.rows += kept.page.items.length;
  }

  private forget(key: string): void {
    const kept = this.pages.get(key);
    if (kept === undefined) return;
    this.pages.delete(key);
    this.rows -= kept.page.items.length;
  }
}

/** How many times a page is read while rows vanish from it between its two reads. */
const READ_ATTEMPTS = 3;

/** The most pages kept per row cache. */
const MAX_PAGES = 100;

const PAGES = new WeakMap<object, KeptPages>();

function keptPages(cache: object): KeptPages {
  let pages = PAGES.get(cache);
  if (!pages) PAGES.set(cache, (pages = new KeptPages()));
  return pages;
}

/** The rows of `ids` that exist, read in batches with other requests served in between. */
async function readRows<T>(
  db: Kysely<Database>,
  source: ListSource,
  ids: string[],
  bytes: ReadonlyMap<ListedId['id'], number>,
): Promise<T[]> {
  const rows: T[] = [];
  for (let start = 0; start < ids.length;) {
    let end = start;
    let batchBytes = 0;
    while (end < ids.length && end - start < BATCH_IDS) {
      const size = bytes.get(ids[end]!) ?? 0;
      if (end > start && batchBytes + size > BATCH_BYTES) break;
      batchBytes += size;
      end += 1;
    }
    if (start > 0) await nextTurn();
    const batch = await rowsByIds(db, source, ids.slice(start, end));
    rows.push(...(await mapYielding(batch, (row) => decodeRow<T>(source.spec, row))));
    start = end;
  }
  return rows;
}
