import type { Kysely } from 'kysely';
import { CLUSTERS } from '../tables.js';
import type { ClusterRecord, ClusterRepository } from '../types.js';
import { tableRepository } from './rows.js';

export function clusters(db: Kysely<any>): ClusterRepository {
  return tableRepository<ClusterRecord>(db, CLUSTERS);
}
