import { createHash } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { ApiError } from '../errors.js';
import { type AuthContext, type Authenticator, checkPathProject, type RequestHeaders, tokenOf } from './auth.js';
import type { KeystoneConfig } from '../config.js';

/** How Oasis reaches Keystone and how long it trusts an answer: see docs/deployment.md. */
export type KeystoneSettings = KeystoneConfig;

/** What Keystone said about a token: who it is, or why it is refused (a 401). */
type Validation = { context: AuthContext; expiresAt: number } | { refused: string };

interface CacheEntry {
  validation: Validation;
  until: number;
}

/** A token longer than this is no Keystone token (fernet tokens are about 200 bytes): 401 at once. */
const MAX_TOKEN_LENGTH = 8192;

/** Oasis's own token is renewed this long before it expires, so a request never carries a stale one. */
const SERVICE_TOKEN_MARGIN_MS = 60_000;

const UNAUTHORIZED = 'Authentication required: a valid X-Auth-Token header is needed';

/**
 * `OASIS_AUTH=keystone`: every X-Auth-Token is validated with Keystone v3, as keystonemiddleware's
 * auth_token does (`GET /v3/auth/tokens` with the token in `X-Subject-Token`, authenticated with
 * Oasis's own service token). The project and the roles come from the token.
 *
 * Validations are remembered for `cacheTimeMs` (and never past the token's expiry) so that a
 * client polling an execution costs Keystone nothing; a revoked token therefore stops working
 * within that time. Refusals are remembered too, so a client retrying a bad token cannot make
 * Oasis ask Keystone at its own pace. A cached answer is given synchronously.
 */
export class KeystoneAuth implements Authenticator {
  private readonly identityUrl: string;
  private readonly cache = new Map<string, CacheEntry>();
  /** Validations under way, so that many requests with one new token ask Keystone once. */
  private readonly pending = new Map<string, Promise<Validation>>();
  private serviceToken: { value: string; renewAt: number } | null = null;
  private serviceTokenPending: Promise<string> | null = null;

  constructor(
    private readonly settings: KeystoneSettings,
    private readonly logger: FastifyBaseLogger,
    private readonly now: () => number = Date.now,
  ) {
    const base = settings.url.replace(/\/+$/, '');
    this.identityUrl = /\/v3$/.test(base) ? base : `${base}/v3`;
  }

  authenticate(headers: RequestHeaders, pathProject: string | undefined): AuthContext | Promise<AuthContext> {
    const token = tokenOf(headers);
    if (!token || token.length > MAX_TOKEN_LENGTH) throw new ApiError('UNAUTHORIZED', UNAUTHORIZED);
    const key = createHash('sha256').update(token).digest('base64');
    const cached = this.cached(key);
    if (cached) return answer(cached, pathProject);
    return this.validateOnce(key, token).then((validation) => answer(validation, pathProject));
  }

  /** Validations currently remembered (expired ones go when next looked up or evicted). */
  get cachedCount(): number {
    return this.cache.size;
  }

  private cached(key: string): Validation | undefined {
    const entry = this.cache.get(key);
    if (!entry) return undefined;
    this.cache.delete(key);
    if (entry.until <= this.now()) return undefined;
    // Re-inserted last: the Map's order is the least recently used first.
    this.cache.set(key, entry);
    return entry.validation;
  }

  private remember(key: string, validation: Validation): void {
    if (this.settings.cacheTimeMs <= 0) return;
    const ttlEnd = this.now() + this.settings.cacheTimeMs;
    const until = 'context' in validation ? Math.min(ttlEnd, validation.expiresAt) : ttlEnd;
    this.cache.delete(key);
    this.cache.set(key, { validation, until });
    while (this.cache.size > this.settings.cacheSize) {
      this.cache.delete(this.cache.keys().next().value!);
    }
  }

  private validateOnce(key: string, token: string): Promise<Validation> {
    let validation = this.pending.get(key);
    if (!validation) {
      validation = this.validate(token)
        .then((result) => {
          this.remember(key, result);
          return result;
        })
        .finally(() => this.pending.delete(key));
      this.pending.set(key, validation);
    }
    return validation;
  }

  /** Asks Keystone about `token`; a rejected service token is renewed once. */
  private async validate(token: string): Promise<Validation> {
    for (let attempt = 0; ; attempt += 1) {
      const serviceToken = await this.currentServiceToken();
      const response = await this.call('token validation', `${this.identityUrl}/auth/tokens?nocatalog`, {
        method: 'GET',
        headers: { 'X-Auth-Token': serviceToken, 'X-Subject-Token': token, Accept: 'application/json' },
      });
      if (response.status === 200) return this.parseToken(await readJson(response));
      await response.body?.cancel();
      if (response.status === 401 && attempt === 0) {
        // Oasis's own token expired early or was revoked: get a new one and ask again.
        this.serviceToken = null;
        continue;
      }
      if (response.status === 401 || response.status === 403) {
        this.logger.error(
          { status: response.status },
          'Keystone refuses to validate tokens for the Oasis service user (it needs the service or admin role)',
        );
        throw unavailable();
      }
      if (response.status >= 500) throw unavailable(`Keystone answered ${response.status}`);
      // 404: unknown, expired or revoked; any other 4xx: not a token Keystone can read.
      return { refused: UNAUTHORIZED };
    }
  }

  private parseToken(body: unknown): Validation {
    const token = (body as { token?: KeystoneToken } | null)?.token;
    const expiresAt = Date.parse(token?.expires_at ?? '');
    if (!token || Number.isNaN(expiresAt)) throw unavailable('Keystone answered a token validation without a token');
    if (expiresAt <= this.now()) return { refused: UNAUTHORIZED };
    const projectId = token.project?.id;
    if (typeof projectId !== 'string' || projectId === '') {
      return { refused: 'The token is not scoped to a project: authenticate with a project scope' };
    }
    const roles = (token.roles ?? [])
      .map((role) => role?.name)
      .filter((name): name is string => typeof name === 'string');
    return { context: { tenantId: projectId, roles: Object.freeze(roles) }, expiresAt };
  }

  private currentServiceToken(): Promise<string> {
    if (this.serviceToken && this.serviceToken.renewAt > this.now()) return Promise.resolve(this.serviceToken.value);
    this.serviceTokenPending ??= this.issueServiceToken().finally(() => {
      this.serviceTokenPending = null;
    });
    return this.serviceTokenPending;
  }

  private async issueServiceToken(): Promise<string> {
    const { username, password, projectName, userDomainName, projectDomainName } = this.settings;
    const response = await this.call('service token', `${this.identityUrl}/auth/tokens?nocatalog`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({
        auth: {
          identity: {
            methods: ['password'],
            password: { user: { name: username, domain: { name: userDomainName }, password } },
          },
          scope: { project: { name: projectName, domain: { name: projectDomainName } } },
        },
      }),
    });
    const value = response.headers.get('x-subject-token');
    if (response.status !== 201 || !value) {
      await response.body?.cancel();
      if (response.status >= 500) throw unavailable(`Keystone answered ${response.status}`);
      this.logger.error(
        { status: response.status, user: username, project: projectName },
        'Keystone refused the Oasis service credentials',
      );
      throw unavailable();
    }
    const expiresAt = Date.parse(
      ((await readJson(response)) as { token?: KeystoneToken } | null)?.token?.expires_at ?? '',
    );
    const lifetime = Number.isNaN(expiresAt) ? SERVICE_TOKEN_MARGIN_MS : expiresAt - this.now();
    // A short-lived token is renewed half way through rather than on every request.
    const renewAt = this.now() + Math.max(lifetime - SERVICE_TOKEN_MARGIN_MS, lifetime / 2);
    this.serviceToken = { value, renewAt };
    return value;
  }

  /** One request to Keystone, bounded in time; no answer at all is a 503. */
  private async call(what: string, url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(this.settings.timeoutMs) });
    } catch (error) {
      this.logger.warn({ err: error, url: this.identityUrl }, `Keystone did not answer (${what})`);
      throw unavailable();
    }
  }
}

interface KeystoneToken {
  expires_at?: string;
  project?: { id?: unknown };
  roles?: { name?: unknown }[];
}

function answer(validation: Validation, pathProject: string | undefined): AuthContext {
  if ('refused' in validation) throw new ApiError('UNAUTHORIZED', validation.refused);
  checkPathProject(validation.context, pathProject);
  return validation.context;
}

function unavailable(detail = 'the identity service is unavailable'): ApiError {
  return new ApiError('SERVICE_UNAVAILABLE', `Cannot check the token: ${detail}; retry shortly`);
}

/** Keystone's bodies are small; one that is not JSON is Keystone misbehaving. */
async function readJson(response: Response): Promise<unknown> {
  try {
    return await response.json();
  } catch {
    throw unavailable('Keystone answered with a body that is not JSON');
  }
}
