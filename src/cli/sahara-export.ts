/**
 * The query that exports Sahara's EDP tables from its MySQL or MariaDB database, one JSON object
 * per line (`{"table": ..., "row": {...}}`), for `oasis import-sahara`. It runs in the stock
 * `mysql` client (docs/migrating-from-sahara.md):
 *
 *   mysql --batch --raw --skip-column-names --default-character-set=utf8mb4 --max-allowed-packet=64M sahara < export.sql > sahara-edp.jsonl
 *
 * JSON_OBJECT (MySQL 5.7.8+, MariaDB 10.2.3+) escapes every value, so a line is one row whatever
 * the text holds; binary data travels as base64. Sahara's JSON columns are text and arrive as
 * strings, which the import parses. `--raw` keeps the mysql client from escaping backslashes.
 */

const COMMON = ['id', 'tenant_id', 'is_public', 'is_protected', 'created_at', 'updated_at'];

const TABLES: readonly { table: string; columns: readonly string[]; binary?: string }[] = [
  { table: 'job_binary_internal', columns: [...COMMON, 'name', 'datasize'], binary: 'data' },
  { table: 'job_binaries', columns: [...COMMON, 'name', 'description', 'url', 'extra'] },
  { table: 'data_sources', columns: [...COMMON, 'name', 'description', 'type', 'url', 'credentials'] },
  { table: 'jobs', columns: [...COMMON, 'name', 'description', 'type'] },
  { table: 'mains_association', columns: ['Job_id', 'JobBinary_id'] },
  { table: 'libs_association', columns: ['Job_id', 'JobBinary_id'] },
  {
    table: 'job_interface_arguments',
    columns: [
      'id',
      'job_id',
      'tenant_id',
      'name',
      'description',
      'mapping_type',
      'location',
      'value_type',
      'required',
      '`order`',
      '`default`',
    ],
  },
  {
    table: 'job_executions',
    columns: [
      ...COMMON,
      'job_id',
      'input_id',
      'output_id',
      'cluster_id',
      'start_time',
      'end_time',
      'info',
      'engine_job_id',
      'return_code',
      'job_configs',
      'extra',
      'data_source_urls',
    ],
  },
];

function selectOf({ table, columns, binary }: (typeof TABLES)[number]): string {
  const pairs = columns.map((column) => `'${column.replaceAll('`', '')}', ${column}`);
  if (binary) pairs.push(`'${binary}', TO_BASE64(${binary})`);
  return `SELECT JSON_OBJECT('table', '${table}', 'row', JSON_OBJECT(${pairs.join(', ')})) FROM ${table};`;
}

export const SAHARA_EXPORT_SQL = `-- Sahara's EDP tables for \`oasis import-sahara\`; run with:
-- mysql --batch --raw --skip-column-names --default-character-set=utf8mb4 --max-allowed-packet=64M <sahara database> < this file > sahara-edp.jsonl
${TABLES.map(selectOf).join('\n')}
`;
