import type { SelectType } from 'kysely';
import type { Database } from './database.js';
import type {
  ClusterRecord,
  DataSourceRecord,
  JobBinaryInternalRecord,
  JobBinaryRecord,
  JobExecutionRecord,
  JobTemplateRecord,
} from './types.js';

/**
 * How records are stored: one TableSpec per resource table says which columns exist and how a
 * column value maps to a record field. JSON fields are stored as text and booleans as the
 * dialect's boolean (SQLite 0/1), so the same SQL runs on both dialects.
 *
 * The lists are runtime values, checked against the schema in database.ts: a column added there
 * and missing here (or a JSON, boolean or number column left out of its list) fails to compile,
 * and so does a record (types.ts) whose fields are not its table's columns.
 */

/** The tables of the API's resources, which share the generic repository functions (rows.ts). */
export type ResourceTable =
  'job_binary_internals' | 'job_binaries' | 'data_sources' | 'job_templates' | 'clusters' | 'job_executions';

export interface TableSpec<N extends ResourceTable = ResourceTable> {
  table: N;
  /** Every stored column; filters and sorts may only name these (or a source's joined names). */
  columns: readonly string[];
  json: readonly string[];
  booleans: readonly string[];
  numbers: readonly string[];
}

type ColumnOf<N extends ResourceTable> = keyof Database[N] & string;

/** A spec whose lists name only columns of its table. */
type SpecOf<N extends ResourceTable> = TableSpec<N> & {
  columns: readonly ColumnOf<N>[];
  json: readonly ColumnOf<N>[];
  booleans: readonly ColumnOf<N>[];
  numbers: readonly ColumnOf<N>[];
};

const OWNED = ['id', 'tenant_id', 'is_public', 'is_protected', 'created_at', 'updated_at'] as const;
const OWNED_BOOLEANS = ['is_public', 'is_protected'] as const;

export const JOB_BINARY_INTERNALS = {
  table: 'job_binary_internals',
  columns: [...OWNED, 'name', 'datasize'],
  json: [],
  booleans: OWNED_BOOLEANS,
  numbers: ['datasize'],
} as const satisfies SpecOf<'job_binary_internals'>;

export const JOB_BINARIES = {
  table: 'job_binaries',
  columns: [...OWNED, 'name', 'description', 'url', 'extra'],
  json: ['extra'],
  booleans: OWNED_BOOLEANS,
  numbers: [],
} as const satisfies SpecOf<'job_binaries'>;

export const DATA_SOURCES = {
  table: 'data_sources',
  columns: [...OWNED, 'name', 'description', 'type', 'url', 'credentials'],
  json: ['credentials'],
  booleans: OWNED_BOOLEANS,
  numbers: [],
} as const satisfies SpecOf<'data_sources'>;

/** mains and libs live in job_template_binaries, in order. */
export const JOB_TEMPLATES = {
  table: 'job_templates',
  columns: [...OWNED, 'name', 'description', 'type', 'interface'],
  json: ['interface'],
  booleans: OWNED_BOOLEANS,
  numbers: [],
} as const satisfies SpecOf<'job_templates'>;

export const CLUSTERS = {
  table: 'clusters',
  columns: [
    ...OWNED,
    'name',
    'description',
    'plugin_name',
    'hadoop_version',
    'engine',
    'status',
    'status_description',
    'cluster_configs',
  ],
  json: ['cluster_configs'],
  booleans: OWNED_BOOLEANS,
  numbers: [],
} as const satisfies SpecOf<'clusters'>;

export const JOB_EXECUTIONS = {
  table: 'job_executions',
  columns: [
    ...OWNED,
    'job_id',
    'cluster_id',
    'input_id',
    'output_id',
    'status',
    'info',
    'engine_job_id',
    'return_code',
    'job_configs',
    'extra',
    'data_source_urls',
    'start_time',
    'end_time',
    'lease_owner',
    'lease_expires_at',
    'cancel_requested',
    'delete_requested',
  ],
  json: ['info', 'job_configs', 'extra', 'data_source_urls'],
  booleans: [...OWNED_BOOLEANS, 'cancel_requested', 'delete_requested'],
  numbers: [],
} as const satisfies SpecOf<'job_executions'>;

// Fails to compile when a spec above and its table in database.ts disagree.
type _SpecsMatchTheSchema = Assert<
  [
    ...Covers<typeof JOB_BINARY_INTERNALS>,
    ...Covers<typeof JOB_BINARIES>,
    ...Covers<typeof DATA_SOURCES>,
    ...Covers<typeof JOB_TEMPLATES>,
    ...Covers<typeof CLUSTERS>,
    ...Covers<typeof JOB_EXECUTIONS>,
  ]
>;

type Row = Record<string, unknown>;

/** Record fields → column values; fields that are not columns of the table are left out. */
export function encodeRow(spec: TableSpec, record: Row): Row {
  const row: Row = {};
  for (const column of spec.columns) {
    if (!(column in record)) continue;
    const value = record[column];
    if (value === undefined) continue;
    row[column] = spec.json.includes(column) && value !== null ? JSON.stringify(value) : value;
  }
  return row;
}

/** Column values → a record: JSON parsed, 0/1 turned into booleans, pg's numeric strings into numbers. */
export function decodeRow<T>(spec: TableSpec, row: Row): T {
  const record: Row = {};
  for (const [column, kind] of columnKinds(spec)) {
    const value = row[column];
    if (value === null || value === undefined) record[column] = null;
    else if (kind === 'json') record[column] = JSON.parse(value as string);
    else if (kind === 'boolean') record[column] = Boolean(value);
    else if (kind === 'number') record[column] = Number(value);
    else record[column] = value;
  }
  return record as T;
}

type ColumnKind = 'json' | 'boolean' | 'number' | 'text';

/** Each column with how it decodes, worked out once per table rather than for every row read. */
function columnKinds(spec: TableSpec): readonly (readonly [string, ColumnKind])[] {
  let kinds = KINDS.get(spec);
  if (!kinds) {
    kinds = spec.columns.map((column) => {
      const kind: ColumnKind = spec.json.includes(column)
        ? 'json'
        : spec.booleans.includes(column)
          ? 'boolean'
          : spec.numbers.includes(column)
            ? 'number'
            : 'text';
      return [column, kind] as const;
    });
    KINDS.set(spec, kinds);
  }
  return kinds;
}

const KINDS = new WeakMap<TableSpec, readonly (readonly [string, ColumnKind])[]>();

export const nowIso = (): string => new Date().toISOString();

// ---------------------------------------------------------------------------------------------
// Compile-time checks of the specs and records against database.ts (types only: no runtime cost)

// A record's fields are its table's columns, apart from those stored elsewhere (a template's
// mains and libs are rows of job_template_binaries).
type _RecordsMatchTheSchema = Assert<
  [
    Exactly<ColumnOf<'job_binary_internals'>, (keyof JobBinaryInternalRecord)[]>,
    Exactly<ColumnOf<'job_binaries'>, (keyof JobBinaryRecord)[]>,
    Exactly<ColumnOf<'data_sources'>, (keyof DataSourceRecord)[]>,
    Exactly<ColumnOf<'job_templates'>, Exclude<keyof JobTemplateRecord, 'mains' | 'libs'>[]>,
    Exactly<ColumnOf<'clusters'>, (keyof ClusterRecord)[]>,
    Exactly<ColumnOf<'job_executions'>, (keyof JobExecutionRecord)[]>,
  ]
>;

type Assert<T extends readonly true[]> = T;

/** A spec's lists against its table: every column, and exactly the JSON, boolean and number ones. */
type Covers<S extends TableSpec> = S['table'] extends infer N extends ResourceTable
  ? [
      Exactly<ColumnOf<N>, S['columns']>,
      Exactly<JsonColumns<N>, S['json']>,
      Exactly<BooleanColumns<N>, S['booleans']>,
      Exactly<NumberColumns<N>, S['numbers']>,
    ]
  : never;

/** `true` when `Listed` names exactly the columns `Expected`, else what it misses and what it has too many. */
type Exactly<Expected extends string, Listed extends readonly string[]> = [
  Exclude<Expected, Listed[number]>,
  Exclude<Listed[number], Expected>,
] extends [never, never]
  ? true
  : { missing: Exclude<Expected, Listed[number]>; extra: Exclude<Listed[number], Expected> };

/** Columns by their type in database.ts: JsonText, a boolean (SQLite's 0/1 included), a number. */
type JsonColumns<N extends ResourceTable> = {
  [C in ColumnOf<N>]: Database[N][C] extends { __json__: true } ? C : never;
}[ColumnOf<N>];
type BooleanColumns<N extends ResourceTable> = {
  [C in ColumnOf<N>]: boolean extends SelectType<Database[N][C]> ? C : never;
}[ColumnOf<N>];
type NumberColumns<N extends ResourceTable> = {
  [C in ColumnOf<N>]: SelectType<Database[N][C]> extends number | null ? C : never;
}[ColumnOf<N>];
