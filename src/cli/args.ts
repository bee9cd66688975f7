/**
 * Command-line parsing for the client commands: options anywhere before the first positional
 * argument of `run` (the script), anywhere at all for the others; `--` ends the options.
 */

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** A string option that may be given several times. */
  multiple?: boolean;
}

export type OptionSpecs = Record<string, OptionSpec>;

export interface Parsed {
  options: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** A mistake in how the command was called: answered with its usage and exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The options every client command takes. */
export const CONNECTION_OPTIONS: OptionSpecs = {
  url: { type: 'string' },
  project: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/**
 * Parses `argv` against `specs`. With `stopAtPositional`, everything from the first positional
 * argument on is positional, so that `oasis run ./job.sh --verbose` passes `--verbose` to the job.
 */
export function parse(argv: readonly string[], specs: OptionSpecs, stopAtPositional = false): Parsed {
  const options: Parsed['options'] = {};
  const positionals: string[] = [];
  const byShort = new Map(
    Object.entries(specs).flatMap(([name, spec]) => (spec.short ? [[spec.short, name] as const] : [])),
  );
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      if (stopAtPositional) {
        positionals.push(...argv.slice(i));
        break;
      }
      positionals.push(arg);
      continue;
    }
    const equals = arg.indexOf('=');
    const key = arg.startsWith('--') ? arg.slice(2, equals > 0 ? equals : undefined) : byShort.get(arg.slice(1));
    const spec = key === undefined ? undefined : specs[key];
    if (key === undefined || spec === undefined) throw new UsageError(`unknown option ${arg.split('=')[0]}`);
    if (spec.type === 'boolean') {
      if (equals > 0) throw new UsageError(`--${key} takes no value`);
      options[key] = true;
      continue;
    }
    let value: string | undefined;
    if (equals > 0 && arg.startsWith('--')) value = arg.slice(equals + 1);
    else if (i + 1 < argv.length) value = argv[++i];
    if (value === undefined) throw new UsageError(`--${key} needs a value`);
    if (spec.multiple) options[key] = [...((options[key] as string[] | undefined) ?? []), value];
    else options[key] = value;
  }
  return { options, positionals };
}

/** `KEY=VALUE` pairs (--param) as an object. */
export function pairs(values: readonly string[] | undefined, option: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const value of values ?? []) {
    const equals = value.indexOf('=');
    if (equals <= 0) throw new UsageError(`--${option} takes KEY=VALUE, not ${JSON.stringify(value)}`);
    result[value.slice(0, equals)] = value.slice(equals + 1);
  }
  return result;
}
