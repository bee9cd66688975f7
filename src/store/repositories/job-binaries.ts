import type { Kysely } from 'kysely';
import type { Database } from '../database.js';
import { JOB_BINARIES } from '../tables.js';
import type { JobBinaryRecord, JobBinaryRepository } from '../types.js';
import { tableRepository } from './rows.js';

export function jobBinaries(db: Kysely<Database>): JobBinaryRepository {
  return {
    ...tableRepository<JobBinaryRecord>(db, JOB_BINARIES),
    templatesUsing: (binaryId) => templatesUsing(db, binaryId),
    referencingInternal: (jbiId) => referencingInternal(db, jbiId),
  };
}

export async function templatesUsing(db: Kysely<Database>, binaryId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('job_template_binaries')
    .select('template_id')
    .distinct()
    .where('binary_id', '=', binaryId)
    .orderBy('template_id')
    .execute();
  return rows.map((row) => row.template_id);
}

export async function referencingInternal(db: Kysely<Database>, jbiId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('job_binaries')
    .select('id')
    .where('url', '=', `internal-db://${jbiId}`)
    .orderBy('id')
    .execute();
  return rows.map((row) => row.id);
}
