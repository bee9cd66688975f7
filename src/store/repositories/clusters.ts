import type { Kysely } from 'kysely';
import type { Database } from '../database.js';
import { CLUSTERS, decodeRow } from '../tables.js';
import type { ClusterRecord, ClusterRepository } from '../types.js';
import { tableRepository } from './rows.js';

export function clusters(db: Kysely<Database>): ClusterRepository {
  return {
    ...tableRepository<ClusterRecord>(db, CLUSTERS),
    activeExecutions: async (clusterId) => {
      const rows = await db
        .selectFrom('job_executions')
        .select('id')
        .where('cluster_id', '=', clusterId)
        .where('end_time', 'is', null)
        .execute();
      return rows.map((row) => row.id);
    },
    listByEngine: async (engines) => {
      if (engines.length === 0) return [];
      const rows = await db
        .selectFrom(CLUSTERS.table)
        .selectAll()
        .where('engine', 'in', [...engines])
        .orderBy('id')
        .execute();
      return rows.map((row) => decodeRow<ClusterRecord>(CLUSTERS, row));
    },
  };
}
