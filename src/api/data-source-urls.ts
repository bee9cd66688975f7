import { ApiError, echo } from '../errors.js';
import type { DataSourceType } from '../store/types.js';
import { isUuidLike } from '../store/ids.js';
import { splitUrl } from './url-parts.js';

/** What a data source's URL is checked against: the request merged over the stored row on PUT. */
export interface DataSourceCheck {
  type: DataSourceType;
  url: string;
  credentials?: Record<string, unknown>;
}

const invalid = (message: string) => new ApiError('INVALID_DATA', message);

/** Sahara's limit on the random text one URL may ask for (docs/compatibility.md#data-source-urls-and-substitution). */
const MAX_RANDSTR_TOTAL = 1024;

/**
 * Placeholders are resolved per execution (docs/compatibility.md#data-source-urls-and-substitution): `%JOB_EXEC_ID%` becomes the execution
 * id and `%RANDSTR(n)%` n random lowercase letters. `%JOB_EXEC_ID%` needs no check; every
 * `%RANDSTR(n)%` must ask for a positive length and all of them together for at most 1024.
 */
export function checkPlaceholders(url: string): void {
  let total = 0;
  for (const match of url.matchAll(/%RANDSTR\((-?\d+)\)%/g)) {
    const length = Number(match[1]);
    if (length <= 0) throw invalid('Requested RANDSTR length must be positive.');
    total += length;
  }
  if (total > MAX_RANDSTR_TOTAL) {
    throw invalid(`Requested RANDSTR length is too long, maximum allowed is ${MAX_RANDSTR_TOTAL}.`);
  }
}

/** The whole creation-time URL check of a data source (docs/compatibility.md#data-source-urls-and-substitution). */
export function checkDataSource(data: DataSourceCheck): void {
  checkPlaceholders(data.url);
  CHECKS[data.type](data.url, data.credentials ?? {});
}

type Check = (url: string, credentials: Record<string, unknown>) => void;

const CHECKS: Record<DataSourceType, Check> = {
  hdfs(url) {
    if (url.length === 0) throw invalid('HDFS url must not be empty');
    const parts = splitUrl(url);
    if (parts.scheme === '') return;
    if (parts.scheme !== 'hdfs') throw invalid("URL scheme must be 'hdfs'");
    if (!parts.hostname) throw invalid('HDFS url is incorrect, cannot determine a hostname');
  },

  maprfs(url) {
    if (url.length === 0) throw invalid('MapR FS url must not be empty');
    const parts = splitUrl(url);
    if (parts.scheme !== '' && parts.scheme !== 'maprfs') throw invalid("URL scheme must be 'maprfs'");
  },

  swift(url, credentials) {
    if (url.length === 0) throw invalid('Swift url must not be empty');
    const parts = splitUrl(url);
    if (parts.scheme !== 'swift') throw invalid("URL scheme must be 'swift'");
    // A container may omit the `.sahara` suffix, but a dotted one must carry exactly that suffix.
    if ((parts.netloc.includes('.') && !parts.netloc.endsWith('.sahara')) || parts.path.length <= 1) {
      throw invalid('URL must be of the form swift://container.sahara/object');
    }
    // Oasis has no proxy-user domain, so Swift data sources always carry their own credentials.
    if (!('user' in credentials)) {
      throw new ApiError('INVALID_CREDENTIALS', 'User is not provided in credentials for Swift');
    }
    if (!('password' in credentials)) {
      throw new ApiError('INVALID_CREDENTIALS', 'Password is not provided in credentials for Swift');
    }
  },

  s3(url, credentials) {
    if (url.length === 0) throw invalid('S3 url must not be empty');
    const parts = splitUrl(url);
    if (parts.scheme !== 's3' && parts.scheme !== 's3a') throw invalid("URL scheme must be 's3' or 's3a'");
    if (!parts.hostname) throw invalid('Bucket name must be present');
    if (!parts.path || parts.path === '/') throw invalid('Object name must be present');
    for (const [key, value] of Object.entries(credentials)) {
      if (!S3_CREDENTIAL_KEYS.has(key)) throw invalid(`Unknown field ${echo(key)} in credentials`);
      if ((key === 'bucket_in_path' || key === 'ssl') && typeof value !== 'boolean') {
        throw invalid(`Field ${echo(key)} in credentials must be a boolean`);
      }
    }
  },

  manila(url) {
    if (url.length === 0) throw invalid('Manila url must not be empty');
    const parts = splitUrl(url);
    if (parts.scheme !== 'manila') throw invalid("Manila url scheme must be 'manila'");
    if (!isUuidLike(parts.netloc)) throw invalid('Manila url netloc must be a uuid');
    if (!parts.path) throw invalid('Manila url path must not be empty');
  },

  /** Oasis's own type: a path on a filesystem every node of the cluster shares. */
  file(url) {
    if (url.length === 0) throw invalid('File url must not be empty');
    const parts = splitUrl(url);
    if (parts.scheme !== 'file') throw invalid("URL scheme must be 'file'");
    if (parts.netloc !== '') throw invalid('File url must not name a host: use file:///absolute/path');
    if (!/^file:\/\/\//i.test(url) || parts.path.length <= 1)
      throw invalid('File url must be of the form file:///absolute/path');
    // A `..` could climb out of the directory an operator meant to expose.
    if (parts.path.split('/').includes('..')) throw invalid("File url path must not contain '..' segments");
  },
};

const S3_CREDENTIAL_KEYS = new Set(['accesskey', 'secretkey', 'endpoint', 'bucket_in_path', 'ssl']);
