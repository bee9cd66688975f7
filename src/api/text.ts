import { ApiError, clip, echo } from '../errors.js';

declare global {
  interface String {
    /** ES2024, in Node since 20: false when the string holds an unpaired surrogate. */
    isWellFormed(): boolean;
  }
}

/**
 * Text Oasis takes from clients must be Unicode without NUL characters. PostgreSQL cannot store a
 * NUL (it failed the request with a 500 where SQLite stored it), a process can take none in its
 * arguments or environment, and an unpaired surrogate is no Unicode at all: both databases
 * silently stored U+FFFD in its place. One check, applied to path parameters, query strings and
 * every string of a JSON body (keys included) before any handler runs, so both databases see
 * only text they store alike.
 */
export function isValidText(value: string): boolean {
  // One scan for the common case: text with neither a NUL nor any surrogate.
  if (!SUSPECT.test(value)) return true;
  return !value.includes('\0') && value.isWellFormed();
}

const SUSPECT = /[\0\ud800-\udfff]/;

const problem = (value: string) =>
  value.includes('\0') ? 'contains a NUL character' : 'is not valid Unicode text (it holds an unpaired surrogate)';

/** Refuses path parameters or query parameters (keys and every value) holding invalid text. */
export function checkParameters(parameters: unknown, what: 'path parameter' | 'query parameter'): void {
  if (typeof parameters !== 'object' || parameters === null) return;
  // On the path of every request: no arrays built for single values.
  const record = parameters as Record<string, unknown>;
  for (const key in record) {
    if (!isValidText(key)) throw new ApiError('INVALID_DATA', `The ${what} name ${echo(key)} ${problem(key)}`);
    const raw = record[key];
    if (typeof raw === 'string') {
      if (!isValidText(raw))
        throw new ApiError('INVALID_DATA', `The ${what} ${echo(key)}: ${echo(raw)} ${problem(raw)}`);
    } else if (Array.isArray(raw)) {
      for (const value of raw) {
        if (typeof value === 'string' && !isValidText(value)) {
          throw new ApiError('INVALID_DATA', `The ${what} ${echo(key)}: ${echo(value)} ${problem(value)}`);
        }
      }
    }
  }
}

/**
 * Refuses a parsed JSON body holding invalid text in any key or string value; the message names
 * the place as Sahara's validation messages do (`job_configs[configs]`). Recursion is bounded by
 * the body's nesting limit (json-body.ts).
 */
export function checkBodyText(body: unknown): void {
  const path: string[] = [];
  const visit = (value: unknown): void => {
    if (typeof value === 'string') {
      if (!isValidText(value)) throw new ApiError('INVALID_DATA', `${placeOf(path)}${echo(value)} ${problem(value)}`);
    } else if (Array.isArray(value)) {
      for (let index = 0; index < value.length; index += 1) {
        path.push(String(index));
        visit(value[index]);
        path.pop();
      }
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, member] of Object.entries(value)) {
        if (!isValidText(key))
          throw new ApiError('INVALID_DATA', `${placeOf(path)}the key ${echo(key)} ${problem(key)}`);
        path.push(key);
        visit(member);
        path.pop();
      }
    }
  };
  visit(body);
}

/** `job_configs[configs][key]: `, the way Sahara writes where a value is; '' at the root. */
function placeOf(path: readonly string[]): string {
  if (path.length === 0) return '';
  const [first, ...rest] = path.map((part) => clip(part, 50));
  return `${first}${rest.map((part) => `[${part}]`).join('')}: `;
}
