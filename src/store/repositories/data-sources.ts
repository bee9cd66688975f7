import { type Kysely, sql } from 'kysely';
import type { Database } from '../database.js';
import { DATA_SOURCES } from '../tables.js';
import type { DataSourceRecord, DataSourceRepository } from '../types.js';
import { tableRepository } from './rows.js';

export function dataSources(db: Kysely<Database>): DataSourceRepository {
  return {
    ...tableRepository<DataSourceRecord>(db, DATA_SOURCES),
    executionsUsing: (dataSourceId, statuses) => executionsUsing(db, dataSourceId, statuses),
  };
}

export async function executionsUsing(
  db: Kysely<Database>,
  dataSourceId: string,
  statuses?: readonly string[],
): Promise<string[]> {
  if (statuses && statuses.length === 0) return [];
  // data_source_urls is JSON text keyed by data-source id: a text search narrows the rows and
  // parsing confirms the id is a key, not part of some url.
  const quotedKey = `${JSON.stringify(dataSourceId)}:`;
  let query = db
    .selectFrom('job_executions')
    .select(['id', 'input_id', 'output_id', 'data_source_urls'])
    .where((eb) =>
      eb.or([
        eb('input_id', '=', dataSourceId),
        eb('output_id', '=', dataSourceId),
        sql<boolean>`strpos(data_source_urls, ${quotedKey}) > 0`,
      ]),
    )
    .orderBy('created_at')
    .orderBy('id');
  if (statuses) query = query.where('status', 'in', [...statuses]);
  const rows = await query.execute();
  return rows
    .filter(
      (row) =>
        row.input_id === dataSourceId ||
        row.output_id === dataSourceId ||
        Object.hasOwn(JSON.parse(row.data_source_urls ?? '{}') ?? {}, dataSourceId),
    )
    .map((row) => row.id);
}
