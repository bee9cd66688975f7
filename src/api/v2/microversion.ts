import type { onRequestHookHandler } from 'fastify';
import { ApiError, echo } from '../../errors.js';

/** The only v2 microversion Sahara ever had. */
export const V2_VERSION = '2.0';

const HEADER = 'openstack-api-version';
const SERVICE = 'data-processing';
const BOUNDS = { max_version: V2_VERSION, min_version: V2_VERSION };

/**
 * The microversion a request asks for in `OpenStack-API-Version: data-processing <X.Y>`: none
 * or `latest` is 2.0; a malformed version is 400 BAD_REQUEST and a well-formed one other than
 * 2.0 is 406 NOT_ACCEPTABLE, both with the supported bounds in the body, as Sahara answered.
 * Entries for other services in the same header are ignored.
 */
export function requestedVersion(header: string | string[] | undefined): string {
  const values = header === undefined ? [] : Array.isArray(header) ? header : [header];
  for (const entry of values.flatMap((value) => value.split(','))) {
    const [service, version, ...rest] = entry.trim().split(/\s+/);
    if (service?.toLowerCase() !== SERVICE) continue;
    if (version === undefined || rest.length > 0) {
      throw new ApiError(
        'BAD_REQUEST',
        `Invalid OpenStack-API-Version header: give '${SERVICE} <major>.<minor>'`,
        BOUNDS,
      );
    }
    if (version.toLowerCase() === 'latest') return V2_VERSION;
    if (!/^[1-9]\d{0,3}\.(?:0|[1-9]\d{0,3})$/.test(version)) {
      throw new ApiError(
        'BAD_REQUEST',
        `Invalid API version ${echo(version, 20)}: a version is <major>.<minor>`,
        BOUNDS,
      );
    }
    if (version !== V2_VERSION) {
      throw new ApiError(
        'NOT_ACCEPTABLE',
        `Version ${version} is not supported by the API. Minimum is ${V2_VERSION} and maximum is ${V2_VERSION}.`,
        BOUNDS,
      );
    }
  }
  return V2_VERSION;
}

/** Every v2 answer names its microversion, errors included; caches must key on the request header. */
export const nameMicroversion: onRequestHookHandler = (_request, reply, done) => {
  void reply.header('OpenStack-API-Version', `${SERVICE} ${V2_VERSION}`).header('Vary', 'OpenStack-API-Version');
  done();
};

/** Refuses a microversion other than 2.0; runs after authentication, as Sahara's check did. */
export const checkMicroversion: onRequestHookHandler = (request, _reply, done) => {
  try {
    requestedVersion(request.headers[HEADER]);
  } catch (error) {
    done(error as Error);
    return;
  }
  done();
};
