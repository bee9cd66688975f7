import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import { type ListedId, type ListSource, listIds } from './listing.js';
import type { RowCache } from './row-cache.js';
import { decodeRow } from './tables.js';
import type { ListQuery, Page } from './types.js';
import { mapYielding } from './yielding.js';

/** The most bytes of large values (SQLite) one read of missing rows takes. */
const BATCH_BYTES = 1024 * 1024;
/** The most ids one read of missing rows names. */
const BATCH_IDS = 500;

/**
 * A list page whose rows come from the row cache: the database answers which ids are on the
 * page (filters, order, markers and each tenant's visibility all stay in SQL), and only the rows
 * not in memory are read, by id, in as few statements as their size allows. Building a row
 * object per column and decoding its JSON was most of a list's cost; a cached row costs neither,
 * and its rendering is kept by the API per row object as a show's is.
 *
 * Rows are as fresh as the cache's rules make them (a row is served from memory only if no write
 * can have happened since it was read); a row deleted between the two reads is left out, as if
 * the list had been read after the delete.
 */
export async function listThroughCache<T extends { id: string }>(
  db: Kysely<any>,
  source: ListSource,
  cache: RowCache<T>,
  query: ListQuery,
): Promise<Page<T>> {
  const page = await listIds(db, source, query);
  const bytes = new Map<string, number>();
  for (const listed of page.items) bytes.set(listed.id, Number(listed.bytes));
  const items = await cache.readMany(
    page.items.map((listed) => listed.id),
    (ids) => readRows<T>(db, source, ids, bytes),
  );
  return { items, prev: page.prev, next: page.next };
}

/** The rows of `ids` that exist, read in batches with other requests served in between. */
async function readRows<T>(
  db: Kysely<any>,
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
    const batch = (await db
      .selectFrom(`${source.spec.table} as t`)
      .selectAll('t')
      .where('t.id', 'in', ids.slice(start, end))
      .execute()) as Record<string, unknown>[];
    rows.push(...(await mapYielding(batch, (row) => decodeRow<T>(source.spec, row))));
    start = end;
  }
  return rows;
}
