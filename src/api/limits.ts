import { ApiError } from '../errors.js';
import type { ConfigValue, JobConfigs } from '../store/types.js';

/**
 * Every bound Oasis puts on what a client sends, in one table (docs/limits.md explains each).
 * They sit far above what real Sahara jobs use (tens of configs, a few arguments) and far below
 * what made one project's request stall the node for everyone: 200,000 configs in one execute
 * held every other request for seconds.
 */
export const LIMITS = {
  /** Bytes of a JSON request body (OASIS_MAX_BODY when that is smaller). */
  jsonBodyBytes: 512 * 1024,
  /**
   * Bytes of an execute's body: larger, so that job_configs over their own limit are told so
   * (a 400 naming them) rather than refused unread.
   */
  executeBodyBytes: 2 * 1024 * 1024,
  /** Nesting of arrays and objects in a JSON body; Sahara's own bodies need 5. */
  jsonDepth: 32,
  /** Array elements and object entries in one JSON body, all containers together. */
  jsonMembers: 10_000,
  /** Entries of each map of job_configs (configs, params, job_execution_info) and of a binary's extra. */
  configEntries: 1_000,
  /** Items of job_configs.args. */
  args: 1_000,
  /** Bytes (UTF-8) of every key and value of job_configs and the interface values together. */
  jobConfigsBytes: 256 * 1024,
  /** Arguments of a template's interface, and values of an execution's interface map. */
  interfaceArgs: 100,
  /** Ids in a template's mains, and in its libs. */
  binaries: 100,
  /** Bytes of a request's URL, path and query string. */
  urlBytes: 8 * 1024,
} as const;

/**
 * The total size of an execution's job_configs and interface values: the counts alone (schema)
 * still let 1,000 values of 500 KiB each through. Counted without serialising anything.
 */
export function checkJobConfigsSize(
  jobConfigs: JobConfigs | undefined,
  interfaceValues: Record<string, ConfigValue> | undefined,
): void {
  let bytes = 0;
  const add = (value: unknown) => {
    bytes += typeof value === 'string' ? Buffer.byteLength(value) : String(value).length;
  };
  for (const section of [jobConfigs?.configs, jobConfigs?.params, jobConfigs?.job_execution_info, interfaceValues]) {
    for (const [key, value] of Object.entries(section ?? {})) {
      add(key);
      add(value);
    }
  }
  for (const arg of jobConfigs?.args ?? []) add(arg);
  if (bytes > LIMITS.jobConfigsBytes) {
    throw new ApiError(
      'VALIDATION_ERROR',
      `job_configs: its keys and values (with the interface values) take ${bytes} bytes; at most ${LIMITS.jobConfigsBytes} (${LIMITS.jobConfigsBytes / 1024} KiB) are accepted`,
    );
  }
}

/** A route's body limit: `bytes`, or OASIS_MAX_BODY when that is smaller. */
export function bodyLimit(bytes: number, configured: number): number {
  return configured > 0 ? Math.min(bytes, configured) : bytes;
}
