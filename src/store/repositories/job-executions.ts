import { type Kysely, type Selectable, sql } from 'kysely';
import type { Database, JobExecutionsTable } from '../database.js';
import { TERMINAL_STATUSES } from '../statuses.js';
import type { ListSource } from '../listing.js';
import type { DialectName } from '../migrations.js';
import { decodeRow, encodeRow, nowIso, JOB_EXECUTIONS } from '../tables.js';
import type { ClaimOptions, EngineKind, JobExecutionRecord, JobExecutionRepository, RowPatch } from '../types.js';
import { tableRepository, listRows } from './rows.js';

/** Executions list with the names of their template and cluster, which may be gone (LEFT JOIN). */
export const SOURCE: ListSource = {
  spec: JOB_EXECUTIONS,
  from: (db) =>
    db
      .selectFrom('job_executions as t')
      .leftJoin('job_templates as jt', 'jt.id', 't.job_id')
      .leftJoin('clusters as c', 'c.id', 't.cluster_id'),
  joined: { job_template: 'jt.name', cluster: 'c.name', 'job.name': 'jt.name', 'cluster.name': 'c.name' },
};

const decode = (row: Record<string, unknown>) => decodeRow<JobExecutionRecord>(JOB_EXECUTIONS, row);
const leaseUntil = (leaseMs: number) => new Date(Date.now() + leaseMs).toISOString();

export function jobExecutions(db: Kysely<Database>, dialect: DialectName): JobExecutionRepository {
  return {
    ...tableRepository<JobExecutionRecord>(db, JOB_EXECUTIONS),
    list: (query) => listRows<JobExecutionRecord>(db, SOURCE, query),
    updateIf: (id, guard, patch) => updateIf(db, id, guard, patch),
    claim: (options) => claim(db, dialect, options),
    renewLeases: (nodeId, leaseMs) => renewLeases(db, nodeId, leaseMs),
    listOwned: (nodeId) => listOwned(db, nodeId),
    countActive: (nodeId, engines) => countActive(db, nodeId, engines),
  };
}

export async function updateIf(
  db: Kysely<Database>,
  id: string,
  guard: { statusIn?: readonly string[]; owner?: string },
  patch: RowPatch<JobExecutionRecord>,
): Promise<JobExecutionRecord | undefined> {
  if (guard.statusIn && guard.statusIn.length === 0) return undefined;
  const values = encodeRow(JOB_EXECUTIONS, { ...patch, updated_at: nowIso() });
  delete values.id;
  delete values.tenant_id;
  delete values.created_at;
  let query = db.updateTable('job_executions').set(values).where('id', '=', id);
  if (guard.statusIn) query = query.where('status', 'in', [...guard.statusIn]);
  if (guard.owner !== undefined) query = query.where('lease_owner', '=', guard.owner);
  const row = await query.returningAll().executeTakeFirst();
  return row ? decode(row) : undefined;
}

/**
 * One statement, so it is atomic on both dialects: PostgreSQL locks the picked rows and skips
 * rows another claimer holds (FOR UPDATE SKIP LOCKED); SQLite runs a write statement under its
 * single writer lock, so a second claimer sees the new leases.
 *
 * A PENDING execution whose cluster is not Active waits (docs/compatibility.md#execute-and-clusters-that-are-not-ready) and is not claimed: the
 * launcher would only release it again, and claiming read and rewrote the whole row, job_configs
 * and all, on every pass; one project's queue of large executions on a stopped cluster made each
 * pass read and write megabytes while every other request waited on SQLite.
 */
export async function claim(
  db: Kysely<Database>,
  dialect: DialectName,
  options: ClaimOptions,
): Promise<JobExecutionRecord[]> {
  if (options.statuses.length === 0 || options.engines.length === 0 || options.limit <= 0) return [];
  const now = nowIso();
  const lock = dialect === 'postgres' ? sql`for update of e skip locked` : sql``;
  const result = await sql<Selectable<JobExecutionsTable>>`
    with picked as (
      select e.id from job_executions e
      join clusters c on c.id = e.cluster_id
      where e.status in (${sql.join(options.statuses)})
        and c.engine in (${sql.join(options.engines)})
        and (e.status <> 'PENDING' or c.status = 'Active')
        and ${leaseGone(options, now)}
      order by e.created_at, e.id
      limit ${options.limit}
      ${lock}
    )
    update job_executions
    set lease_owner = ${options.nodeId}, lease_expires_at = ${leaseUntil(options.leaseMs)}
    where id in (select id from picked)
    returning *`.execute(db);
  return result.rows
    .map(decode)
    .sort((a, b) => (a.created_at === b.created_at ? (a.id < b.id ? -1 : 1) : a.created_at < b.created_at ? -1 : 1));
}

/** Which leases a claim may take: free or expired ones, or only those of a node lost for long. */
function leaseGone(options: ClaimOptions, now: string) {
  if (options.lostForMs === undefined) {
    return sql`(e.lease_owner is null or e.lease_expires_at is null or e.lease_expires_at < ${now})`;
  }
  const before = new Date(Date.now() - options.lostForMs).toISOString();
  return sql`(e.lease_owner is not null and e.lease_owner <> ${options.nodeId} and e.lease_expires_at < ${before})`;
}

export async function renewLeases(db: Kysely<Database>, nodeId: string, leaseMs: number): Promise<number> {
  const result = await db
    .updateTable('job_executions')
    .set({ lease_expires_at: leaseUntil(leaseMs) })
    .where('lease_owner', '=', nodeId)
    .where('end_time', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export async function listOwned(db: Kysely<Database>, nodeId: string): Promise<JobExecutionRecord[]> {
  const rows = await db
    .selectFrom('job_executions')
    .selectAll()
    .where('lease_owner', '=', nodeId)
    .where('end_time', 'is', null)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(decode);
}

export async function countActive(
  db: Kysely<Database>,
  nodeId: string,
  engines: readonly EngineKind[],
): Promise<number> {
  if (engines.length === 0) return 0;
  const row = await db
    .selectFrom('job_executions as e')
    .innerJoin('clusters as c', 'c.id', 'e.cluster_id')
    .select((eb) => eb.fn.countAll().as('count'))
    .where('e.lease_owner', '=', nodeId)
    .where('e.end_time', 'is', null)
    .where('e.status', 'not in', ['PENDING', ...TERMINAL_STATUSES])
    .where('c.engine', 'in', [...engines])
    .executeTakeFirstOrThrow();
  return Number(row.count);
}
