import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { isTerminal } from '../store/statuses.js';
import {
  DATA_SOURCE_TYPES,
  JOB_TYPES,
  type DataSourceRecord,
  type InterfaceArg,
  type JobBinaryInternalRecord,
  type JobBinaryRecord,
  type JobExecutionRecord,
  type JobTemplateRecord,
  type NewRow,
  type Store,
} from '../store/types.js';

/**
 * `oasis import-sahara <export>`: Sahara's EDP rows (the export of sahara-export.ts) into Oasis,
 * keeping their ids, so that scripts holding old ids keep working.
 *
 * Every row is checked before anything is written: a bad row is reported with its table, id and
 * line, and then nothing is imported, so a fixed export can simply be imported again. Rows whose id
 * Oasis already holds are left alone, so running the import again adds only what is new. Each row
 * is written whole or not at all (a binary with its bytes, a template with its mains and libs).
 */

export interface ImportReport {
  imported: Record<string, number>;
  /** Rows Oasis already had (same id): not written again. */
  alreadyPresent: number;
  invalid: { line: number; table: string; id: string; problem: string }[];
  /** Executions Sahara had not finished: imported as FAILED, Oasis cannot follow Sahara's engines. */
  closed: string[];
}

interface Line {
  line: number;
  table: string;
  row: Record<string, unknown>;
}

type Planned =
  | { kind: 'jbi'; line: number; row: Omit<NewRow<JobBinaryInternalRecord>, 'datasize'>; data: Buffer }
  | { kind: 'binary'; line: number; row: NewRow<JobBinaryRecord> }
  | { kind: 'data-source'; line: number; row: NewRow<DataSourceRecord> }
  | { kind: 'template'; line: number; row: NewRow<JobTemplateRecord> }
  | { kind: 'execution'; line: number; row: NewRow<JobExecutionRecord> };

const KNOWN_TABLES = new Set([
  'job_binary_internal',
  'job_binaries',
  'data_sources',
  'jobs',
  'mains_association',
  'libs_association',
  'job_interface_arguments',
  'job_executions',
]);

/** Reads the export: one JSON object per line; blank lines are skipped. */
export async function readExport(file: string): Promise<{ lines: Line[]; invalid: ImportReport['invalid'] }> {
  const lines: Line[] = [];
  const invalid: ImportReport['invalid'] = [];
  let number = 0;
  for await (const text of createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity })) {
    number += 1;
    if (text.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      invalid.push({
        line: number,
        table: '?',
        id: '?',
        problem: 'not a JSON object (was the export run with --raw?)',
      });
      continue;
    }
    const { table, row } = (parsed ?? {}) as { table?: unknown; row?: unknown };
    if (typeof table !== 'string' || !KNOWN_TABLES.has(table) || typeof row !== 'object' || row === null) {
      invalid.push({ line: number, table: String(table ?? '?'), id: '?', problem: 'not a row of a Sahara EDP table' });
      continue;
    }
    lines.push({ line: number, table, row: row as Record<string, unknown> });
  }
  return { lines, invalid };
}

class RowProblem extends Error {}

/** Checks every row and builds the Oasis rows; the problems are collected, not thrown. */
export function planImport(
  lines: readonly Line[],
  now = new Date(),
): { planned: Planned[]; invalid: ImportReport['invalid']; closed: string[] } {
  const invalid: ImportReport['invalid'] = [];
  const closed: string[] = [];
  const byTable = (table: string) => lines.filter((line) => line.table === table);
  const links = (table: string) => {
    const map = new Map<string, string[]>();
    for (const { line, row } of byTable(table)) {
      const job = row.Job_id;
      const binary = row.JobBinary_id;
      if (typeof job !== 'string' || typeof binary !== 'string') {
        invalid.push({ line, table, id: String(job), problem: 'Job_id and JobBinary_id must be ids' });
        continue;
      }
      map.set(job, [...(map.get(job) ?? []), binary]);
    }
    return map;
  };
  const mains = links('mains_association');
  const libs = links('libs_association');
  const interfaces = new Map<string, { order: number; arg: InterfaceArg }[]>();
  for (const { line, row } of byTable('job_interface_arguments')) {
    attempt(invalid, line, 'job_interface_arguments', row, () => {
      const arg: InterfaceArg = {
        id: id(row.id),
        name: text(row.name, 'name', 80),
        description: optionalText(row.description),
        mapping_type: oneOf(row.mapping_type, 'mapping_type', ['args', 'configs', 'params'] as const),
        location: text(row.location, 'location', 1024),
        value_type: oneOf(row.value_type, 'value_type', ['string', 'number', 'data_source'] as const),
        required: bool(row.required) ?? false,
        default: optionalText(row.default),
        order: integer(row.order, 'order'),
      };
      const job = id(row.job_id);
      interfaces.set(job, [...(interfaces.get(job) ?? []), { order: arg.order, arg }]);
    });
  }

  const planned: Planned[] = [];
  const owned = (row: Record<string, unknown>) => ({
    id: id(row.id),
    tenant_id: id(row.tenant_id, 'tenant_id'),
    is_public: bool(row.is_public) ?? false,
    is_protected: bool(row.is_protected) ?? false,
  });
  /** The identity, ownership, name and description every described resource has. */
  const described = (row: Record<string, unknown>) => ({
    ...owned(row),
    name: text(row.name, 'name', 80),
    description: optionalText(row.description) ?? '',
  });
  for (const { line, table, row } of lines) {
    attempt(invalid, line, table, row, () => {
      switch (table) {
        case 'job_binary_internal': {
          if (typeof row.data !== 'string') throw new RowProblem('data is missing');
          const data = Buffer.from(row.data.replace(/\s+/g, ''), 'base64');
          if (row.datasize != null && Number(row.datasize) !== data.length)
            throw new RowProblem(`datasize ${String(row.datasize)} differs from the data's ${data.length} bytes`);
          planned.push({ kind: 'jbi', line, row: { ...owned(row), name: text(row.name, 'name', 80) }, data });
          return;
        }
        case 'job_binaries':
          planned.push({
            kind: 'binary',
            line,
            row: {
              ...described(row),
              url: text(row.url, 'url', 256),
              extra: jsonObject(row.extra, 'extra') as JobBinaryRecord['extra'],
            },
          });
          return;
        case 'data_sources':
          planned.push({
            kind: 'data-source',
            line,
            row: {
              ...described(row),
              type: oneOf(row.type, 'type', DATA_SOURCE_TYPES),
              url: text(row.url, 'url', 256),
              credentials: jsonObject(row.credentials, 'credentials'),
            },
          });
          return;
        case 'jobs': {
          const templateId = id(row.id);
          const args = (interfaces.get(templateId) ?? [])
            .sort((a, b) => a.order - b.order)
            .map(({ arg }, order) => ({ ...arg, order }));
          planned.push({
            kind: 'template',
            line,
            row: {
              ...described(row),
              type: oneOf(row.type, 'type', JOB_TYPES),
              mains: mains.get(templateId) ?? [],
              libs: libs.get(templateId) ?? [],
              interface: args,
            },
          });
          return;
        }
        case 'job_executions': {
          const info = jsonObject(row.info, 'info');
          const sahara = typeof info.status === 'string' ? info.status : 'PENDING';
          const finished = isTerminal(sahara);
          const executionId = id(row.id);
          if (!finished) closed.push(executionId);
          planned.push({
            kind: 'execution',
            line,
            row: {
              ...owned(row),
              job_id: id(row.job_id, 'job_id'),
              cluster_id: id(row.cluster_id, 'cluster_id'),
              input_id: row.input_id == null ? null : id(row.input_id, 'input_id'),
              output_id: row.output_id == null ? null : id(row.output_id, 'output_id'),
              status: finished ? sahara : 'FAILED',
              info: finished
                ? info
                : {
                    ...info,
                    status: 'FAILED',
                    reason: `imported from Sahara while ${sahara}: Oasis cannot follow a job Sahara started`,
                  },
              engine_job_id: optionalText(row.engine_job_id ?? row.oozie_job_id),
              return_code: row.return_code == null ? null : String(row.return_code),
              job_configs: jsonObject(row.job_configs, 'job_configs'),
              extra: jsonObject(row.extra, 'extra'),
              data_source_urls:
                row.data_source_urls == null
                  ? null
                  : (jsonObject(row.data_source_urls, 'data_source_urls') as Record<string, string>),
              start_time: time(row.start_time, 'start_time'),
              end_time: time(row.end_time, 'end_time') ?? (finished ? null : now.toISOString()),
              lease_owner: null,
              lease_expires_at: null,
              cancel_requested: false,
              delete_requested: false,
            },
          });
          return;
        }
      }
    });
  }
  checkReferences(planned, invalid);
  return { planned, invalid, closed };
}

/** Rows naming other rows (a template's binaries, an internal binary's bytes) must find them. */
function checkReferences(planned: Planned[], invalid: ImportReport['invalid']): void {
  const ids = (kind: Planned['kind']) => new Set(planned.filter((p) => p.kind === kind).map((p) => p.row.id));
  const binaries = ids('binary');
  const jbis = ids('jbi');
  for (const item of planned) {
    if (item.kind === 'template') {
      const missing = [...item.row.mains, ...item.row.libs].filter((binary) => !binaries.has(binary));
      if (missing.length > 0)
        invalid.push({
          line: item.line,
          table: 'jobs',
          id: item.row.id,
          problem: `its binaries ${missing.join(', ')} are not in the export`,
        });
    }
    if (
      item.kind === 'binary' &&
      item.row.url.startsWith('internal-db://') &&
      !jbis.has(item.row.url.slice('internal-db://'.length))
    ) {
      invalid.push({
        line: item.line,
        table: 'job_binaries',
        id: item.row.id,
        problem: `${item.row.url} names no job_binary_internal row of the export`,
      });
    }
  }
}

/** Writes the planned rows in dependency order; rows Oasis already holds are skipped. */
export async function writeImport(store: Store, planned: readonly Planned[], report: ImportReport): Promise<void> {
  const order: Planned['kind'][] = ['jbi', 'binary', 'data-source', 'template', 'execution'];
  for (const kind of order) {
    for (const item of planned.filter((p) => p.kind === kind)) {
      const repository = {
        jbi: store.jobBinaryInternals,
        binary: store.jobBinaries,
        'data-source': store.dataSources,
        template: store.jobTemplates,
        execution: store.jobExecutions,
      }[item.kind];
      if (await repository.get(item.row.id)) {
        report.alreadyPresent += 1;
        continue;
      }
      if (item.kind === 'jbi') await store.jobBinaryInternals.insertWithData(item.row, item.data);
      else if (item.kind === 'binary') await store.jobBinaries.insert(item.row);
      else if (item.kind === 'data-source') await store.dataSources.insert(item.row);
      else if (item.kind === 'template') await store.jobTemplates.insert(item.row);
      else await store.jobExecutions.insert(item.row);
      report.imported[item.kind] = (report.imported[item.kind] ?? 0) + 1;
    }
  }
}

/**
 * Names taken by another row of the same project make the unique (project, name) rule refuse a
 * row: reported before anything is written, like every other problem.
 */
async function checkNames(store: Store, planned: readonly Planned[], invalid: ImportReport['invalid']): Promise<void> {
  for (const item of planned) {
    if (item.kind === 'execution') continue;
    const repository = {
      jbi: store.jobBinaryInternals,
      binary: store.jobBinaries,
      'data-source': store.dataSources,
      template: store.jobTemplates,
    }[item.kind];
    const taken = (await repository.findByName(item.row.tenant_id, item.row.name)).find(
      (row) => row.id !== item.row.id && row.tenant_id === item.row.tenant_id,
    );
    if (taken)
      invalid.push({
        line: item.line,
        table: item.kind,
        id: item.row.id,
        problem: `the name ${JSON.stringify(item.row.name)} is taken in its project by ${taken.id}`,
      });
  }
}

/** The whole import: read, check every row, and write only when no row is bad. */
export async function importSahara(store: Store, file: string): Promise<ImportReport> {
  const read = await readExport(file);
  const plan = planImport(read.lines);
  const invalid = [...read.invalid, ...plan.invalid];
  await checkNames(store, plan.planned, invalid);
  const report: ImportReport = { imported: {}, alreadyPresent: 0, invalid, closed: plan.closed };
  if (invalid.length === 0) await writeImport(store, plan.planned, report);
  return report;
}

function attempt(
  invalid: ImportReport['invalid'],
  line: number,
  table: string,
  row: Record<string, unknown>,
  body: () => void,
): void {
  try {
    body();
  } catch (error) {
    if (!(error instanceof RowProblem)) throw error;
    invalid.push({ line, table, id: typeof row.id === 'string' ? row.id : '?', problem: error.message });
  }
}

function id(value: unknown, what = 'id'): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(value))
    throw new RowProblem(`${what} must be an id, not ${JSON.stringify(value)}`);
  return value;
}

function text(value: unknown, what: string, max: number): string {
  if (typeof value !== 'string' || value === '' || value.length > max || value.includes('\0')) {
    throw new RowProblem(`${what} must be text of 1 to ${max} characters`);
  }
  return value;
}

function optionalText(value: unknown): string | null {
  if (value == null) return null;
  if (typeof value !== 'string' || value.includes('\0')) throw new RowProblem('a text column holds something else');
  return value;
}

function oneOf<T extends string>(value: unknown, what: string, allowed: readonly T[]): T {
  if (!allowed.includes(value as T))
    throw new RowProblem(`${what} ${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
  return value as T;
}

function bool(value: unknown): boolean | null {
  if (value == null) return null;
  if (value === true || value === 1 || value === '1') return true;
  if (value === false || value === 0 || value === '0') return false;
  throw new RowProblem(`${JSON.stringify(value)} is not a boolean`);
}

function integer(value: unknown, what: string): number {
  const number = Number(value);
  if (!Number.isInteger(number)) throw new RowProblem(`${what} must be an integer`);
  return number;
}

/** Sahara's JSON columns arrive as JSON text; null reads as {}. */
function jsonObject(value: unknown, what: string): Record<string, unknown> {
  if (value == null) return {};
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new RowProblem(`${what} is not JSON`);
    }
  }
  if (parsed === null) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new RowProblem(`${what} must be a JSON object`);
  return parsed as Record<string, unknown>;
}

/** Sahara's naive datetimes (`2024-05-01 10:00:00[.ffffff]`), read as UTC. */
function time(value: unknown, what: string): string | null {
  if (value == null) return null;
  const match = typeof value === 'string' ? /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(\.\d+)?Z?$/.exec(value) : null;
  const parsed = match ? new Date(`${match[1]}T${match[2]}Z`) : undefined;
  if (!parsed || Number.isNaN(parsed.getTime()))
    throw new RowProblem(`${what} ${JSON.stringify(value)} is not a date and time`);
  return parsed.toISOString();
}
