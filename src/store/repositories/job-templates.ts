import type { Kysely } from 'kysely';
import type { Database, JobTemplateBinariesTable } from '../database.js';
import { JOB_TEMPLATES } from '../tables.js';
import type { JobTemplateRecord, JobTemplateRepository, ListQuery, NewRow, RowPatch } from '../types.js';
import {
  deleteRow,
  findRowsByName,
  inTransaction,
  insertRow,
  listRows,
  plainSource,
  rowGetter,
  updateRow,
} from './rows.js';

const LINKS = 'job_template_binaries';
type Role = JobTemplateBinariesTable['role'];
const ROLES: readonly Role[] = ['mains', 'libs'];
type Stored = Omit<JobTemplateRecord, Role>;

/**
 * Job templates. A template's mains and libs are rows of job_template_binaries (role, position),
 * loaded for every template a call returns.
 */
export function jobTemplates(db: Kysely<Database>): JobTemplateRepository {
  const source = plainSource(JOB_TEMPLATES);
  const getStored = rowGetter<Stored>(db, JOB_TEMPLATES);
  return {
    insert: (row) => insertTemplate(db, row),
    get: async (id) => {
      const row = await getStored(id);
      return row ? (await withBinaries(db, [row]))[0] : undefined;
    },
    list: async (query: ListQuery) => {
      const page = await listRows<Stored>(db, source, query);
      return { ...page, items: await withBinaries(db, page.items) };
    },
    update: (id, patch) => updateTemplate(db, id, patch),
    delete: (id) =>
      inTransaction(db, async (tx) => {
        await tx.deleteFrom(LINKS).where('template_id', '=', id).execute();
        return deleteRow(tx, JOB_TEMPLATES, id);
      }),
    findByName: async (tenantId, name) =>
      withBinaries(db, await findRowsByName<Stored>(db, JOB_TEMPLATES, tenantId, name)),
    executionsOf: (templateId) => executionsOf(db, templateId),
  };
}

async function insertTemplate(db: Kysely<Database>, row: NewRow<JobTemplateRecord>): Promise<JobTemplateRecord> {
  return inTransaction(db, async (tx) => {
    const stored = await insertRow<Stored>(tx, JOB_TEMPLATES, row);
    await writeLinks(tx, stored.id, row);
    return { ...stored, mains: [...row.mains], libs: [...row.libs] };
  });
}

async function updateTemplate(
  db: Kysely<Database>,
  id: string,
  patch: RowPatch<JobTemplateRecord>,
): Promise<JobTemplateRecord | undefined> {
  return inTransaction(db, async (tx) => {
    const stored = await updateRow<Stored>(tx, JOB_TEMPLATES, id, patch);
    if (!stored) return undefined;
    for (const role of ROLES) {
      if (patch[role] === undefined) continue;
      await tx.deleteFrom(LINKS).where('template_id', '=', id).where('role', '=', role).execute();
      await writeLinks(tx, id, { [role]: patch[role] });
    }
    return (await withBinaries(tx, [stored]))[0];
  });
}

async function writeLinks(
  db: Kysely<Database>,
  templateId: string,
  binaries: Partial<Record<Role, string[]>>,
): Promise<void> {
  const rows = ROLES.flatMap((role) =>
    (binaries[role] ?? []).map((binaryId, position) => ({
      template_id: templateId,
      binary_id: binaryId,
      role,
      position,
    })),
  );
  if (rows.length > 0) await db.insertInto(LINKS).values(rows).execute();
}

/** Attaches mains and libs, in order, to each template with one query. */
async function withBinaries(db: Kysely<Database>, templates: Stored[]): Promise<JobTemplateRecord[]> {
  if (templates.length === 0) return [];
  const links = await db
    .selectFrom(LINKS)
    .select(['template_id', 'binary_id', 'role'])
    .where(
      'template_id',
      'in',
      templates.map((template) => template.id),
    )
    .orderBy('template_id')
    .orderBy('role')
    .orderBy('position')
    .execute();
  const byTemplate = new Map<string, Record<Role, string[]>>();
  for (const template of templates) byTemplate.set(template.id, { mains: [], libs: [] });
  for (const link of links) byTemplate.get(link.template_id)?.[link.role].push(link.binary_id);
  return templates.map((template) => ({ ...template, ...byTemplate.get(template.id)! }));
}

export async function executionsOf(db: Kysely<Database>, templateId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('job_executions')
    .select('id')
    .where('job_id', '=', templateId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map((row) => row.id);
}
