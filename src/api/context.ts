import type { Server } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyRequest,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { Config } from '../config.js';
import type { Engines } from '../engines/engine.js';
import type { ApiError } from '../errors.js';
import type { ExecutionEventHub } from '../executions/events.js';
import type { Executions } from '../executions/executions.js';
import type { Store } from '../store/types.js';
import type { AuthContext, Authenticator } from './auth.js';
import type { Metrics } from './metrics.js';

/** What the route modules share: the app's dependencies, the typed Fastify instance, the caller. */

export interface AppDeps {
  config: Pick<Config, 'bodyLimitBytes'> & Partial<Pick<Config, 'events' | 'webhooks' | 'idempotencyTtlMs'>>;
  store: Store;
  engines: Engines;
  executions: Executions;
  auth: Authenticator;
  /** Serves /metrics and times every request; left out, neither happens. */
  metrics?: Metrics;
  /** The execution event streams; buildApp makes one over `store` when none is given. */
  events?: ExecutionEventHub;
  /**
   * A server already listening, which the app takes over (main.ts binds its port before it opens
   * anything else); without one the app makes its own, and tests call `inject()`.
   */
  server?: Server;
  logger?: FastifyBaseLogger | boolean;
}

/** The Fastify instance as route modules see it: TypeBox schemas give typed requests. */
export type Api = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** A route module: registers one resource's routes under `/v1.1/:project_id`. */
export type RouteModule = (api: Api, deps: AppDeps) => void;

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; set for every /v1.1 route before its handler runs. */
    auth: AuthContext;
  }
  interface FastifyContextConfig {
    /** The route takes the raw request bytes as its body (job-binary-internal upload). */
    rawBody?: boolean;
    /** The error to answer when the body exceeds the route's limit. */
    tooLargeError?: ApiError;
    /** The route lists rows: while its project's lists are large, it takes the project's turn. */
    list?: boolean;
    /** The route creates a row and honours `Idempotency-Key` (idempotency.ts); it writes through createOnce. */
    idempotent?: boolean;
  }
}

/** The caller's tenant, for route handlers. */
export function tenantOf(request: FastifyRequest): string {
  return request.auth.tenantId;
}
