import { ApiError, echo } from '../errors.js';
import type { InterfaceArg, JobType } from '../store/types.js';
import { isUuidLike } from '../store/ids.js';
import { splitUrl } from './url-parts.js';

const invalid = (message: string) => new ApiError('INVALID_DATA', message);

export type MappingType = InterfaceArg['mapping_type'];

/** Where each job type may map interface arguments (docs/compatibility.md#job-types-and-binaries, JOB_TYPES_ACCEPTABLE_CONFIGS). */
export const INTERFACE_MAPPING_TYPES: Readonly<Record<JobType, readonly MappingType[]>> = {
  Hive: ['configs', 'params'],
  Java: ['configs', 'args'],
  MapReduce: ['configs'],
  'MapReduce.Streaming': ['configs'],
  Pig: ['configs', 'params', 'args'],
  Shell: ['configs', 'params', 'args'],
  Spark: ['configs', 'args'],
  Storm: ['args'],
  'Storm.Pyleus': [],
};

const SCRIPT_TYPES: readonly JobType[] = ['Pig', 'Hive', 'Shell'];
const APPLICATION_TYPES: readonly JobType[] = ['Spark', 'Storm', 'Storm.Pyleus'];

/**
 * Which binaries a template of each type takes (docs/compatibility.md#job-types-and-binaries). Checked before the binaries are
 * looked up, in Sahara's order, so the messages match.
 */
export function checkMainsAndLibs(type: JobType, mains: readonly string[], libs: readonly string[]): void {
  if (SCRIPT_TYPES.includes(type) || APPLICATION_TYPES.includes(type)) {
    if (mains.length === 0) {
      throw invalid(
        APPLICATION_TYPES.includes(type)
          ? `${type} job requires main application jar`
          : `${type} flow requires main script`,
      );
    }
    if (mains.some((id) => libs.includes(id))) throw invalid("'mains' and 'libs' overlap");
    return;
  }
  // Java and MapReduce need libs; MapReduce.Streaming runs the mapper and reducer it is given.
  if (type !== 'MapReduce.Streaming' && libs.length === 0) throw invalid(`${type} flow requires libs`);
  if (mains.length > 0) throw invalid(`${type} flow does not use mains`);
}

/** An interface argument as the request gives it (value_type and description are optional). */
export interface InterfaceArgInput {
  name: string;
  description?: string | null;
  mapping_type: MappingType;
  location: string;
  value_type?: InterfaceArg['value_type'];
  required: boolean;
  default?: string | null;
}

const UNBROKEN = 'Locations of positional arguments must be an unbroken integer sequence ascending from 0.';

/**
 * The template-time interface rules (docs/compatibility.md#template-interfaces), in Sahara's order. Returns the arguments
 * as stored: `value_type` defaults to `string`, `order` is the position in the list.
 * `dataSourceVisible` answers whether a data-source id is visible to the caller.
 */
export async function checkTemplateInterface(
  type: JobType,
  args: readonly InterfaceArgInput[],
  dataSourceVisible: (id: string) => Promise<boolean>,
): Promise<Omit<InterfaceArg, 'id'>[]> {
  if (new Set(args.map((arg) => arg.name)).size !== args.length) {
    throw invalid('Name must be unique within the interface for any job.');
  }
  const allowed = INTERFACE_MAPPING_TYPES[type];
  if (args.some((arg) => !allowed.includes(arg.mapping_type))) {
    throw invalid(`Only mapping types [${allowed.map((t) => `'${t}'`).join(', ')}] are allowed for job type ${type}.`);
  }

  const positional = args.filter((arg) => arg.mapping_type === 'args');
  if (!positional.every((arg) => /^\d+$/.test(arg.location))) throw invalid(UNBROKEN);
  const locations = new Set(positional.map((arg) => Number(arg.location)));
  for (let index = 0; index < locations.size; index++) {
    if (!locations.has(index)) throw invalid(UNBROKEN);
  }
  if (positional.some((arg) => !arg.required && !arg.default)) {
    throw invalid('Positional arguments must be given default values if they are not required.');
  }
  if (new Set(args.map((arg) => `${arg.mapping_type}\u0000${arg.location}`)).size !== args.length) {
    throw invalid('The combination of mapping type and location must be unique within the interface for any job.');
  }

  const stored: Omit<InterfaceArg, 'id'>[] = [];
  for (const [order, arg] of args.entries()) {
    const valueType = arg.value_type ?? 'string';
    const fallback = arg.default ?? null;
    if (fallback !== null) await checkInterfaceValue(valueType, fallback, dataSourceVisible);
    stored.push({
      name: arg.name,
      description: arg.description ?? null,
      mapping_type: arg.mapping_type,
      location: arg.location,
      value_type: valueType,
      required: arg.required,
      default: fallback,
      order,
    });
  }
  return stored;
}

/**
 * One interface value against its value_type (docs/compatibility.md#template-interfaces): numbers are all digits, data
 * sources are the id of a visible data source or a URL with a scheme.
 */
export async function checkInterfaceValue(
  valueType: InterfaceArg['value_type'],
  value: unknown,
  dataSourceVisible: (id: string) => Promise<boolean>,
): Promise<void> {
  if (typeof value !== 'string') throw invalid(`Value ${echo(String(value))} is not a valid ${valueType}.`);
  if (valueType === 'number' && !/^\d+$/.test(value)) throw invalid(`Value ${echo(value)} is not a valid number.`);
  if (valueType !== 'data_source') return;
  if (isUuidLike(value)) {
    if (!(await dataSourceVisible(value))) {
      throw new ApiError('INVALID_REFERENCE', `DataSource with id ${echo(value)} doesn't exist`);
    }
  } else if (splitUrl(value).scheme === '') {
    throw invalid(`Data source value ${echo(value)} is neither a valid data source ID nor a valid URL.`);
  }
}
