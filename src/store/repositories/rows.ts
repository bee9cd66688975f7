import { CompiledQuery, type Insertable, type Kysely } from 'kysely';
import type { Database, OwnedColumns } from '../database.js';
import { listPage, type ListSource } from '../listing.js';
import { decodeRow, encodeRow, nowIso, type TableSpec } from '../tables.js';
import { mapYielding } from '../yielding.js';
import type { ListQuery, Owned, Page } from '../types.js';

/**
 * The operations every resource table shares, as plain functions over a Kysely handle (which may
 * be a transaction). Resource modules add their own queries next to these.
 */

type Row = Record<string, unknown>;

/**
 * Runs `work` in a transaction, or in the caller's when `db` is one already: a repository's
 * multi-statement write then commits with whatever else the caller's transaction writes.
 */
export function inTransaction<R>(db: Kysely<Database>, work: (tx: Kysely<Database>) => Promise<R>): Promise<R> {
  return db.isTransaction ? work(db) : db.transaction().execute(work);
}

export async function insertRow<T>(db: Kysely<Database>, spec: TableSpec, record: object): Promise<T> {
  // A new record of the spec's table: its fields encode to that table's columns (see tables.ts).
  const row = encodeRow(spec, { ...record, created_at: nowIso(), updated_at: null }) as Insertable<OwnedColumns>;
  const inserted = await db.insertInto(spec.table).values(row).returningAll().executeTakeFirstOrThrow();
  return decodeRow<T>(spec, inserted);
}

/**
 * The lookup by primary key, the most frequent query, compiled once per handle: building and
 * compiling it through the query builder cost as much as running it. The SQL text is the
 * dialect's own (`?` or `$1`), and the query still runs through the handle's driver.
 */
export function rowGetter<T>(db: Kysely<Database>, spec: TableSpec): (id: string) => Promise<T | undefined> {
  const { sql } = db.selectFrom(spec.table).selectAll().where('id', '=', '').compile();
  return async (id) => {
    const { rows } = await db.executeQuery<Row>(CompiledQuery.raw(sql, [id]));
    return rows[0] ? decodeRow<T>(spec, rows[0]) : undefined;
  };
}

export async function updateRow<T>(
  db: Kysely<Database>,
  spec: TableSpec,
  id: string,
  patch: object,
): Promise<T | undefined> {
  const values = encodeRow(spec, { ...patch, updated_at: nowIso() });
  delete values.id;
  delete values.tenant_id;
  delete values.created_at;
  const row = await db.updateTable(spec.table).set(values).where('id', '=', id).returningAll().executeTakeFirst();
  return row ? decodeRow<T>(spec, row) : undefined;
}

export async function deleteRow(db: Kysely<Database>, spec: TableSpec, id: string): Promise<boolean> {
  const result = await db.deleteFrom(spec.table).where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

export async function findRowsByName<T>(
  db: Kysely<Database>,
  spec: TableSpec,
  tenantId: string,
  name: string,
): Promise<T[]> {
  const rows = await db
    .selectFrom(spec.table)
    .selectAll()
    .where('name', '=', name)
    .where((eb) => eb.or([eb('tenant_id', '=', tenantId), eb('is_public', '=', true)]))
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map((row) => decodeRow<T>(spec, row));
}

export async function listRows<T>(db: Kysely<Database>, source: ListSource, query: ListQuery): Promise<Page<T>> {
  const page = await listPage(db, source, query);
  return { ...page, items: await mapYielding(page.items, (row: Row) => decodeRow<T>(source.spec, row)) };
}

/** A source listing one table with no joins. */
export function plainSource(spec: TableSpec): ListSource {
  return { spec, from: (db) => db.selectFrom(`${spec.table} as t`) };
}

/** The shared Repository methods of a table with no extra storage. */
export function tableRepository<T extends Owned>(db: Kysely<Database>, spec: TableSpec) {
  const source = plainSource(spec);
  return {
    insert: (row: object) => insertRow<T>(db, spec, row),
    get: rowGetter<T>(db, spec),
    list: (query: ListQuery) => listRows<T>(db, source, query),
    update: (id: string, patch: object) => updateRow<T>(db, spec, id, patch),
    delete: (id: string) => deleteRow(db, spec, id),
    findByName: (tenantId: string, name: string) => findRowsByName<T>(db, spec, tenantId, name),
  };
}
