import { ApiError, echo } from '../errors.js';
import type { ConfigValue } from '../store/types.js';
import { isUuidLike } from '../store/ids.js';
import { splitUrl } from './url-parts.js';

/** The kinds of job binary, chosen by the URL's scheme (docs/compatibility.md#job-binary-urls, plus Oasis's hdfs). */
export type JobBinaryKind = 'internal-db' | 'swift' | 's3' | 'manila' | 'hdfs';

const KINDS: readonly JobBinaryKind[] = ['internal-db', 'swift', 's3', 'manila', 'hdfs'];

export const INTERNAL_DB_PREFIX = 'internal-db://';

/** The JBI id an `internal-db://` URL points at, or undefined for any other URL. */
export function internalId(url: string): string | undefined {
  return url.startsWith(INTERNAL_DB_PREFIX) ? url.slice(INTERNAL_DB_PREFIX.length) : undefined;
}

/**
 * Sahara's `valid_job_location` format: the scheme picks the kind (no scheme or an unknown one
 * is INVALID_DATA), then the kind's shape check failing is a schema error on `url`.
 */
export function jobBinaryKind(url: string): JobBinaryKind {
  const { scheme } = splitUrl(url);
  if (scheme === '') throw new ApiError('INVALID_DATA', 'Job binary url must have a scheme');
  const kind = KINDS.find((candidate) => candidate === scheme);
  if (!kind) throw new ApiError('INVALID_DATA', 'Invalid job binary');
  if (!SHAPES[kind](url)) {
    throw new ApiError('VALIDATION_ERROR', `url: ${echo(url)} is not a 'valid_job_location'`);
  }
  return kind;
}

const SHAPES: Record<JobBinaryKind, (url: string) => boolean> = {
  'internal-db': (url) => url.startsWith(INTERNAL_DB_PREFIX) && isUuidLike(url.slice(INTERNAL_DB_PREFIX.length)),
  swift: (url) => splitUrl(url).netloc !== '',
  s3: (url) => splitUrl(url).netloc !== '',
  manila: (url) => {
    const parts = splitUrl(url);
    return isUuidLike(parts.netloc) && parts.path.length > 1;
  },
  hdfs: (url) => {
    const parts = splitUrl(url);
    const hostAndPort = parts.netloc.slice(parts.netloc.lastIndexOf('@') + 1);
    return /^[^:]+(?::\d+)?$/.test(hostAndPort) && parts.path.length > 1;
  },
};

/**
 * The credential checks Sahara runs when a binary is created (skipped on update). Oasis has no
 * proxy-user domain, so Swift binaries always carry their own user and password.
 */
export function checkJobBinaryExtra(
  kind: JobBinaryKind,
  url: string,
  extra: Record<string, ConfigValue> | undefined,
): void {
  if (kind === 'swift') {
    if (!extra || !('user' in extra) || !('password' in extra)) {
      throw new ApiError(
        'BAD_JOB_BINARY',
        'You must supply a user and password (extra.user, extra.password) for a Swift job binary',
      );
    }
  } else if (kind === 's3') {
    if (!url.startsWith('s3://')) throw new ApiError('BAD_JOB_BINARY', 'S3 job binary url must start with s3://');
    if (splitUrl(url).path.length <= 1) {
      throw new ApiError('BAD_JOB_BINARY', 'URL for binary in S3 must specify an object not a bucket');
    }
    const keys = Object.keys(extra ?? {}).sort();
    if (keys.join(',') !== 'accesskey,endpoint,secretkey') {
      throw new ApiError('INVALID_DATA', "Configs 'accesskey', 'secretkey', and 'endpoint' must be provided.");
    }
  }
}
