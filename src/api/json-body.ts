import { ApiError } from '../errors.js';
import { LIMITS } from './limits.js';

const MAX_JSON_DEPTH = LIMITS.jsonDepth;
const MAX_JSON_MEMBERS = LIMITS.jsonMembers;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

const malformed = (message: string) => new ApiError('MALFORMED_REQUEST_BODY', `Malformed message body: ${message}`);

/**
 * Parses a JSON request body after a scan of its bytes that bounds what parsing and everything
 * after it can cost: a body nested 10,000 deep overflowed the stack of every recursive walk over
 * it (validation, error messages), and 60,000 small keys took 20 ms to parse and far longer to
 * validate and store. The scan is one pass with no recursion, and it stops at the first limit
 * crossed, so a hostile body costs no more than a well-formed one of the same size.
 */
export function parseJsonBody(raw: Buffer): unknown {
  checkShape(raw);
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw malformed((error as Error).message);
  }
}

/**
 * Depth and member count outside strings. Strings are skipped with indexOf, so long values cost
 * next to nothing; anything that is not JSON is left for JSON.parse to report.
 */
function checkShape(raw: Buffer): void {
  let depth = 0;
  let members = 0;
  for (let i = 0; i < raw.length; i += 1) {
    const byte = raw[i];
    if (byte === QUOTE) {
      i = closingQuote(raw, i);
      if (i === -1) return;
    } else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) {
      // An opening bracket stands for its first member; each comma for one more.
      members += 1;
      depth += 1;
      if (depth > MAX_JSON_DEPTH) throw malformed(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
    } else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) {
      depth -= 1;
    } else if (byte === COMMA) {
      members += 1;
    }
    if (members > MAX_JSON_MEMBERS) {
      throw malformed(`more than ${MAX_JSON_MEMBERS} array elements and object entries`);
    }
  }
}

/** The index of the quote closing the string opened at `open`, or -1 when there is none. */
function closingQuote(raw: Buffer, open: number): number {
  let at = open;
  for (;;) {
    at = raw.indexOf(QUOTE, at + 1);
    if (at === -1) return -1;
    let backslashes = 0;
    for (let j = at - 1; raw[j] === BACKSLASH; j -= 1) backslashes += 1;
    if (backslashes % 2 === 0) return at;
  }
}
