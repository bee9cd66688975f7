import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TOKEN_PROJECT } from './authenticate.js';

/**
 * Version discovery and Sahara's URL forms.
 *
 * Clients that find Oasis through a Keystone catalog (keystoneauth's discovery) read the versions
 * document at the root, as Sahara served it: v1.1 and v2, with the v2 microversion range. Each
 * version also answers its own document, so that a catalog URL of either form is understood.
 * The documents need no token, as Sahara's did not.
 */

/** The v2 microversions: Sahara only ever had 2.0. */
export const V2_MIN_VERSION = '2.0';
export const V2_MAX_VERSION = '2.0';

interface VersionDocument {
  id: string;
  status: 'CURRENT' | 'SUPPORTED';
  links: { rel: string; href: string }[];
  min_version?: string;
  max_version?: string;
}

function versions(request: FastifyRequest): VersionDocument[] {
  const root = `${request.protocol}://${request.host || 'localhost'}`;
  const link = (version: string) => [{ rel: 'self', href: `${root}/${version}/` }];
  return [
    { id: 'v1.1', status: 'SUPPORTED', links: link('v1.1') },
    { id: 'v2', status: 'CURRENT', links: link('v2'), min_version: V2_MIN_VERSION, max_version: V2_MAX_VERSION },
  ];
}

/** `GET /` (300 Multiple Choices, as Sahara answered), `GET /v1.1` and `GET /v2`. */
export function registerVersionRoutes(app: FastifyInstance): void {
  const hide = { schema: { hide: true } };
  app.get('/', hide, async (request, reply) => reply.code(300).send({ versions: versions(request) }));
  app.get('/v1.1', hide, async (request) => ({ version: versions(request)[0] }));
  app.get('/v2', hide, async (request) => ({ version: versions(request)[1] }));
}

/** The v1.1 resources, for URLs that leave the project id out. */
const PROJECTLESS =
  /^\/v1\.1\/(?:job-executions|jobs|job-binaries|job-binary-internals|data-sources|job-types|clusters)(?:\/|$)/;

/** The API's own URLs (not /openapi.json). */
const VERSIONED = /^\/v(?:1\.1|2)\//;

/** An upload names the binary in the path: `PUT …/job-binary-internals/script.json` keeps its `.json`. */
const UPLOAD = /\/job-binary-internals\/[^/]+$/;

/**
 * Sahara served every route in four forms: with and without the project id after the version,
 * each with and without a `.json` suffix (which changed nothing, JSON being the only format).
 * Oasis routes one form: the suffix is dropped, and a v1.1 URL without a project id is routed
 * with TOKEN_PROJECT in its place, so the caller's project comes from the token. A project whose
 * id is the name of a resource (`jobs`) can therefore not be named in the path; Keystone's ids are
 * hexadecimal.
 */
export function rewriteUrl(request: IncomingMessage): string {
  const url = request.url ?? '/';
  const queryStart = url.indexOf('?');
  const path = queryStart < 0 ? url : url.slice(0, queryStart);
  let rewritten = path;
  if (
    rewritten.endsWith('.json') &&
    VERSIONED.test(rewritten) &&
    !(request.method === 'PUT' && UPLOAD.test(rewritten))
  ) {
    rewritten = rewritten.slice(0, -'.json'.length);
  }
  if (PROJECTLESS.test(rewritten)) rewritten = `/v1.1/${TOKEN_PROJECT}${rewritten.slice('/v1.1'.length)}`;
  return rewritten === path ? url : rewritten + (queryStart < 0 ? '' : url.slice(queryStart));
}
