import { readFile } from 'node:fs/promises';
import type { preValidationHookHandler } from 'fastify';
import { ApiError } from '../errors.js';

/** Who is calling: the project (tenant) every query is scoped to, and the caller's roles in it. */
export interface AuthContext {
  tenantId: string;
  roles: readonly string[];
}

export type RequestHeaders = Record<string, string | string[] | undefined>;

/**
 * The pluggable authentication seam: static tokens answer at once, Keystone (keystone.ts) when it
 * has answered, or at once from its cache; the policy below stays as it is. `pathProject` is the
 * `{project_id}` segment of the URL, undefined for Sahara's URLs without one (the token's project
 * is then the caller's). Refusals are thrown (or rejected) as ApiErrors.
 */
export interface Authenticator {
  authenticate(headers: RequestHeaders, pathProject: string | undefined): AuthContext | Promise<AuthContext>;
}

/** An authenticator that always answers at once. */
export interface SyncAuthenticator extends Authenticator {
  authenticate(headers: RequestHeaders, pathProject: string | undefined): AuthContext;
}

/** The role that may register, change and delete clusters (Keystone's conventional admin role). */
export const ADMIN_ROLE = 'admin';

/**
 * `noauth` has no identities to tell apart: whoever reaches the port acts for any project by
 * naming it in the path. It is meant for one trusted user on 127.0.0.1, and that user holds every
 * role, so that registering Spark and YARN clusters works as it does for an admin.
 */
const TRUSTED_ROLES: readonly string[] = Object.freeze([ADMIN_ROLE]);

/**
 * Development and single-user mode: the project in the path is the caller's project. A path
 * without one (Sahara's /v2 routes allow it) takes the project from `X-Project-Id` (or Sahara's
 * `X-Tenant-Id`), the headers Keystone's middleware sets; without either there is no project.
 */
export const noAuth: SyncAuthenticator = {
  authenticate: (headers, pathProject) => ({ tenantId: pathProject ?? projectHeader(headers), roles: TRUSTED_ROLES }),
};

function projectHeader(headers: RequestHeaders): string {
  for (const name of ['x-project-id', 'x-tenant-id']) {
    const raw = headers[name];
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (!value) continue;
    // As long as a path segment may be (the router's maxParamLength): a project id, not a payload.
    if (value.length > 100) throw new ApiError('UNAUTHORIZED', `The ${name} header is longer than 100 characters`);
    return value;
  }
  throw new ApiError(
    'UNAUTHORIZED',
    'No project: name it in the path (/v1.1/<project_id>/...) or in an X-Project-Id header',
  );
}

/** The X-Auth-Token header, if any. */
export function tokenOf(headers: RequestHeaders): string | undefined {
  const raw = headers['x-auth-token'];
  return Array.isArray(raw) ? raw[0] : raw;
}

/**
 * Sahara refuses a path project other than the token's; Oasis does so for every project id.
 * Without one in the path, the token names the project.
 */
export function checkPathProject(context: AuthContext, pathProject: string | undefined): void {
  if (pathProject !== undefined && pathProject !== context.tenantId) {
    throw new ApiError('UNAUTHORIZED', 'Token tenant != requested tenant');
  }
}

/**
 * Oasis's policy: the rules that need a role, each with the role it needs. Rules named here are
 * Sahara's (`data-processing:clusters:*`); every rule not named allows any caller of the project,
 * as Sahara's defaults do, and Sahara's tenant rules (src/store/visibility.ts) apply on top.
 *
 * Clusters are guarded because their settings reach the Oasis host: a registration makes Oasis
 * connect to any host and port, and `spark_home`, `python`, `hadoop_classpath`, `hadoop_conf_dir`,
 * `shared_dir` and the Hadoop `user` name programs, paths and identities on the host itself.
 */
const POLICY = {
  'data-processing:clusters:create': ADMIN_ROLE,
  'data-processing:clusters:modify': ADMIN_ROLE,
  'data-processing:clusters:delete': ADMIN_ROLE,
} as const satisfies Record<string, string>;

export type PolicyRule = keyof typeof POLICY;

/** Whether the caller may act under `rule`. Role names compare case-insensitively, as oslo.policy's `role:` check does. */
export function isAllowed(context: AuthContext, rule: PolicyRule): boolean {
  const needed = POLICY[rule];
  return context.roles.some((role) => role.toLowerCase() === needed);
}

/** Throws Sahara's policy denial (403 FORBIDDEN) unless the caller may act under `rule`. */
export function authorize(context: AuthContext, rule: PolicyRule): void {
  if (!isAllowed(context, rule)) {
    throw new ApiError(
      'FORBIDDEN',
      `You are not authorized to complete this action (${rule} needs the ${POLICY[rule]} role)`,
    );
  }
}

/**
 * `authorize` as a route's preValidation hook. Sahara checks policy after parsing the body and
 * before looking up the path's id or validating the body (docs/compatibility.md#request-bodies), so a denied caller
 * learns nothing about which ids exist or which bodies would pass.
 */
export function requirePolicy(rule: PolicyRule): preValidationHookHandler {
  return (request, _reply, done) => {
    try {
      authorize(request.auth, rule);
    } catch (error) {
      done(error as Error);
      return;
    }
    done();
  };
}

interface TokenEntry {
  project_id: string;
  roles?: unknown;
}

/** Static tokens from a JSON file: `{"<token>": {"project_id": "...", "roles": ["..."]}}`. */
export async function loadTokenAuth(file: string): Promise<SyncAuthenticator> {
  const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${file}: expected an object mapping tokens to {"project_id", "roles"}`);
  }
  const tokens = new Map<string, AuthContext>();
  for (const [token, entry] of Object.entries(parsed as Record<string, TokenEntry>)) {
    if (typeof entry?.project_id !== 'string' || entry.project_id === '') {
      throw new Error(`${file}: token entries need a non-empty "project_id"`);
    }
    // A string would spread into letters ("admin" → a, d, m, i, n) and silently grant nothing.
    const roles = entry.roles ?? [];
    if (!Array.isArray(roles) || !roles.every((role) => typeof role === 'string')) {
      throw new Error(`${file}: "roles" must be a list of role names, e.g. ["${ADMIN_ROLE}"]`);
    }
    tokens.set(token, { tenantId: entry.project_id, roles: Object.freeze([...roles]) });
  }
  return tokenAuth(tokens);
}

export function tokenAuth(tokens: ReadonlyMap<string, AuthContext>): SyncAuthenticator {
  return {
    authenticate(headers, pathProject) {
      const token = tokenOf(headers);
      const context = token ? tokens.get(token) : undefined;
      if (!context)
        throw new ApiError('UNAUTHORIZED', 'Authentication required: a valid X-Auth-Token header is needed');
      checkPathProject(context, pathProject);
      return context;
    },
  };
}
