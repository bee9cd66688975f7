import { readFile } from 'node:fs/promises';
import { ApiError } from '../errors.js';

/** Who is calling: the project (tenant) every query is scoped to. */
export interface AuthContext {
  tenantId: string;
  roles: readonly string[];
}

/**
 * The pluggable authentication seam. Keystone can slot in later as another implementation.
 * `pathProject` is the `{project_id}` segment of the URL.
 */
export interface Authenticator {
  authenticate(headers: Record<string, string | string[] | undefined>, pathProject: string): AuthContext;
}

/** Development and single-user mode: the project in the path is the caller's project. */
export const noAuth: Authenticator = {
  authenticate: (_headers, pathProject) => ({ tenantId: pathProject, roles: [] }),
};

interface TokenEntry {
  project_id: string;
  roles?: string[];
}

/** Static tokens from a JSON file: `{"<token>": {"project_id": "...", "roles": ["..."]}}`. */
export async function loadTokenAuth(file: string): Promise<Authenticator> {
  const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${file}: expected an object mapping tokens to {"project_id", "roles"}`);
  }
  const tokens = new Map<string, AuthContext>();
  for (const [token, entry] of Object.entries(parsed as Record<string, TokenEntry>)) {
    if (typeof entry?.project_id !== 'string' || entry.project_id === '') {
      throw new Error(`${file}: token entries need a non-empty "project_id"`);
    }
    tokens.set(token, { tenantId: entry.project_id, roles: Object.freeze([...(entry.roles ?? [])]) });
  }
  return tokenAuth(tokens);
}

export function tokenAuth(tokens: ReadonlyMap<string, AuthContext>): Authenticator {
  return {
    authenticate(headers, pathProject) {
      const raw = headers['x-auth-token'];
      const token = Array.isArray(raw) ? raw[0] : raw;
      const context = token ? tokens.get(token) : undefined;
      if (!context) throw new ApiError('UNAUTHORIZED', 'Authentication required: a valid X-Auth-Token header is needed');
      // Sahara refuses a path project other than the token's; Oasis does so for every project id.
      if (pathProject !== context.tenantId) {
        throw new ApiError('UNAUTHORIZED', 'Token tenant != requested tenant');
      }
      return context;
    },
  };
}
