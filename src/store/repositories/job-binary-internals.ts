import type { Kysely } from 'kysely';
import type { Database } from '../database.js';
import { JOB_BINARY_INTERNALS } from '../tables.js';
import type { JobBinaryInternalRecord, JobBinaryInternalRepository } from '../types.js';
import { deleteRow, inTransaction, insertRow, tableRepository } from './rows.js';

const DATA_TABLE = 'job_binary_internal_data';

/** Job binary internals: the rows hold metadata only; the bytes sit in their own table. */
export function jobBinaryInternals(db: Kysely<Database>): JobBinaryInternalRepository {
  return {
    ...tableRepository<JobBinaryInternalRecord>(db, JOB_BINARY_INTERNALS),
    insertWithData: (row, data) => insertWithData(db, row, data),
    getData: (id) => getData(db, id),
    delete: (id) => deleteWithData(db, id),
  };
}

export function insertWithData(
  db: Kysely<Database>,
  row: Omit<JobBinaryInternalRecord, 'datasize' | 'created_at' | 'updated_at'>,
  data: Buffer,
): Promise<JobBinaryInternalRecord> {
  return inTransaction(db, async (tx) => {
    const record = await insertRow<JobBinaryInternalRecord>(tx, JOB_BINARY_INTERNALS, {
      ...row,
      datasize: data.length,
    });
    await tx.insertInto(DATA_TABLE).values({ id: record.id, data }).execute();
    return record;
  });
}

export async function getData(db: Kysely<Database>, id: string): Promise<Buffer | undefined> {
  const row = await db.selectFrom(DATA_TABLE).select('data').where('id', '=', id).executeTakeFirst();
  return row ? Buffer.from(row.data) : undefined;
}

export function deleteWithData(db: Kysely<Database>, id: string): Promise<boolean> {
  return inTransaction(db, async (tx) => {
    await tx.deleteFrom(DATA_TABLE).where('id', '=', id).execute();
    return deleteRow(tx, JOB_BINARY_INTERNALS, id);
  });
}
