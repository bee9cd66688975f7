import { isUuidLike } from '../store/ids.js';
import { ApiError } from '../errors.js';
import type { ConfigValue, DataSourceRecord, InterfaceArg, JobConfigs } from '../store/types.js';

/**
 * Execution-time checks of a template's interface (docs/compatibility.md#template-interfaces), in Sahara's order:
 * an interface map is required when the template has arguments; unknown names, missing required
 * names, values of the wrong type, and values contradicting `job_configs` are INVALID_DATA;
 * a data_source value that is a UUID must name a visible data source (INVALID_REFERENCE).
 */
export async function checkInterfaceValues(
  args: readonly InterfaceArg[],
  values: Record<string, ConfigValue> | undefined,
  jobConfigs: JobConfigs,
  findDataSource: (id: string) => Promise<DataSourceRecord | undefined>,
): Promise<void> {
  if (args.length === 0 && (values === undefined || Object.keys(values).length === 0)) return;
  if (args.length > 0 && values === undefined) {
    throw new ApiError(
      'INVALID_DATA',
      'An interface was specified with the template for this job. Please pass an interface map with this job (even if empty).',
    );
  }
  const given = values ?? {};
  const byName = new Map(args.map((arg) => [arg.name, arg]));
  const unknown = Object.keys(given).filter((name) => !byName.has(name));
  if (unknown.length > 0) {
    throw new ApiError(
      'INVALID_DATA',
      `Argument names: ${pyList(unknown)} were not found in the interface for this job.`,
    );
  }
  const missing = args.filter((arg) => arg.required && !(arg.name in given)).map((arg) => arg.name);
  if (missing.length > 0) {
    throw new ApiError('INVALID_DATA', `Argument names: ${pyList(missing)} are required for this job.`);
  }
  for (const [name, value] of Object.entries(given)) {
    const arg = byName.get(name)!;
    await checkValue(arg, value, findDataSource);
    if (arg.mapping_type === 'args') continue;
    const section = jobConfigs[arg.mapping_type];
    if (section && arg.location in section && section[arg.location] !== value) {
      throw new ApiError(
        'INVALID_DATA',
        `Argument '${name}' was passed both through the interface and in location '${arg.mapping_type}'.'${arg.location}'. ` +
          'Please pass this through either the interface or the configuration maps, not both.',
      );
    }
  }
}

async function checkValue(
  arg: InterfaceArg,
  value: ConfigValue,
  findDataSource: (id: string) => Promise<DataSourceRecord | undefined>,
): Promise<void> {
  switch (arg.value_type) {
    case 'string':
      if (typeof value !== 'string')
        throw new ApiError('INVALID_DATA', `Value '${String(value)}' of argument '${arg.name}' must be a string.`);
      return;
    case 'number':
      if (!isNumber(value))
        throw new ApiError('INVALID_DATA', `Value '${String(value)}' of argument '${arg.name}' is not a valid number.`);
      return;
    case 'data_source': {
      if (typeof value !== 'string') {
        throw new ApiError(
          'INVALID_DATA',
          `Value '${String(value)}' of argument '${arg.name}' must be a data source id or URL.`,
        );
      }
      if (isUuidLike(value)) {
        if (!(await findDataSource(value)))
          throw new ApiError('INVALID_REFERENCE', `DataSource with id '${value}' doesn't exist`);
        return;
      }
      if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(value)) {
        throw new ApiError(
          'INVALID_DATA',
          `Data source value '${value}' is neither a valid data source ID nor a valid URL.`,
        );
      }
      return;
    }
  }
}

/** Sahara's isdigit(): non-empty and only digits ("2.5" and "-1" are refused). */
function isNumber(value: ConfigValue): boolean {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0;
  return typeof value === 'string' && /^[0-9]+$/.test(value);
}

/**
 * Merges interface values into job_configs (docs/compatibility.md#template-interfaces): each argument takes the execution's
 * value, else its default; for configs/params an explicit job_configs entry wins over a default;
 * positional args are placed by location and prepended to job_configs.args.
 */
export function mergeInterface(
  args: readonly InterfaceArg[],
  values: Record<string, ConfigValue> | undefined,
  jobConfigs: JobConfigs,
): JobConfigs {
  if (args.length === 0) return jobConfigs;
  const given = values ?? {};
  const merged: JobConfigs = { ...jobConfigs };
  const positional: string[] = [];
  for (const arg of [...args].sort((a, b) => a.order - b.order)) {
    const explicit = arg.name in given;
    const value = explicit ? given[arg.name]! : arg.default;
    if (value === null || value === undefined) continue;
    if (arg.mapping_type === 'args') {
      positional[Number(arg.location)] = String(value);
      continue;
    }
    const section = { ...(merged[arg.mapping_type] ?? {}) };
    if (!explicit && arg.location in section) continue;
    section[arg.location] = value;
    merged[arg.mapping_type] = section;
  }
  const placed = positional.filter((value): value is string => value !== undefined);
  if (placed.length > 0) merged.args = [...placed, ...(jobConfigs.args ?? [])];
  return merged;
}

function pyList(items: readonly string[]): string {
  return `[${items.map((item) => `'${item}'`).join(', ')}]`;
}
