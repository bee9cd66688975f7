import type { IncomingMessage, ServerResponse } from 'node:http';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ApiError, echo } from '../errors.js';
import type { AuthContext } from './auth.js';
import type { Api, AppDeps, RouteModule } from './context.js';
import {
  answerClientError,
  answerConnect,
  answerExpectationFailed,
  answerFrameworkError,
  installErrorHandling,
  type RegExpMethods,
} from './error-handler.js';
import { IDEMPOTENCY_HEADER, idempotencyHooks, MAX_KEY_LENGTH } from './idempotency.js';
import { parseJsonBody } from './json-body.js';
import { bodyLimit, LIMITS } from './limits.js';
import { documentErrors, ErrorBody, FORMATS } from './schemas.js';
import { ProjectTurns } from './project-turns.js';
import { checkBodyText } from './text.js';
import { authenticateRequest } from './authenticate.js';
import { registerVersionRoutes, rewriteUrl } from './versions.js';
import { registerJobExecutionRoutes } from './job-executions.js';
import { registerJobRoutes } from './jobs.js';
import { registerJobBinaryRoutes } from './job-binaries.js';
import { registerJobBinaryInternalRoutes } from './job-binary-internals.js';
import { registerDataSourceRoutes } from './data-sources.js';
import { registerJobTypeRoutes } from './job-types.js';
import { registerClusterRoutes } from './clusters.js';
import { registerV2Api } from './v2/index.js';
import { registerLogRoutes } from './logs.js';
import { registerHealthRoutes } from './health.js';
import { registerMetricsRoute } from './metrics.js';
import { registerDashboard } from './ui.js';
import { registerEventRoutes } from './events.js';
import { registerWebhookRoutes } from './webhooks.js';
import { ExecutionEventHub } from '../executions/events.js';

const ROUTE_MODULES: readonly RouteModule[] = [
  registerJobExecutionRoutes,
  registerJobRoutes,
  registerJobBinaryRoutes,
  registerJobBinaryInternalRoutes,
  registerDataSourceRoutes,
  registerJobTypeRoutes,
  registerClusterRoutes,
  registerLogRoutes,
  registerEventRoutes,
  registerWebhookRoutes,
];

/**
 * Where the process stands, for requests that arrive while it cannot serve them: from listen to
 * the end of start-up (`markStarting`, then `markReady`) and at shutdown (`markClosing`) they
 * answer 503. A new app is ready.
 */
export interface Readiness {
  /**
   * Hands the requests of the server main.ts bound (`AppDeps.server`) to the app, whose routes and
   * hooks must be ready by then (after `ready()`); until this call they answer "starting".
   */
  acceptRequests(): void;
  markStarting(): void;
  markReady(): void;
  markClosing(): void;
}

/**
 * Builds the HTTP application without listening: main.ts hands it the server it bound, tests use
 * `app.inject()`.
 * Call `markClosing()` at shutdown to answer 503 while in-flight requests finish.
 */
export async function buildApp(given: AppDeps): Promise<FastifyInstance & Readiness> {
  const events =
    given.events ??
    new ExecutionEventHub({
      store: given.store,
      maxStreamsPerProject: given.config.events?.maxStreamsPerProject ?? DEFAULT_MAX_STREAMS,
    });
  const deps: AppDeps = { ...given, events };
  let handler: RequestHandler | undefined;
  const keepHandler = (appHandler: RequestHandler) => {
    handler = appHandler;
    return deps.server!;
  };
  const logging = typeof deps.logger === 'object' ? { loggerInstance: deps.logger } : { logger: deps.logger ?? false };
  const app = Fastify({
    ...logging,
    logController: new AccessLog(),
    // JSON bodies; the job-binary-internal upload sets its own limit from OASIS_MAX_BODY.
    bodyLimit: bodyLimit(LIMITS.jsonBodyBytes, deps.config.bodyLimitBytes),
    routerOptions: { ignoreTrailingSlash: true },
    rewriteUrl,
    return503OnClosing: false,
    frameworkErrors: answerFrameworkError,
    clientErrorHandler: answerClientError,
    // Node answers an HTTP/1.1 request without Host with its own empty 400; Oasis answers it below.
    http: { requireHostHeader: false },
    // Fastify gets main.ts's server but no request of it yet: see acceptRequests().
    ...(deps.server ? { serverFactory: keepHandler } : {}),
    ajv: {
      customOptions: {
        // Sahara rejects unknown fields and wrong types; never silently drop or coerce them.
        removeAdditional: false,
        coerceTypes: false,
        useDefaults: false,
        allErrors: false,
        verbose: true,
        formats: FORMATS,
      },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Event streams never end by themselves: closing the app ends them, or it would wait forever.
  app.addHook('preClose', (done) => {
    events.close();
    done();
  });
  app.server.on('checkExpectation', answerExpectationFailed);
  app.server.on('connect', answerConnect);

  let state: 'starting' | 'ready' | 'closing' = 'ready';
  const routes: RegExpMethods[] = [];
  const turns = new ProjectTurns();
  const parseBodyHook = bodyParser(turns);
  const idempotency = idempotencyHooks(deps.store, deps.config.idempotencyTtlMs);
  app.addHook('onRoute', (route) => {
    if (route.url === '*' || route.url.startsWith('/documentation')) return;
    if (route.url.startsWith('/v1.1/') || route.url.startsWith('/v2/')) documentErrors(route);
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter((m) => m !== 'HEAD');
    const pattern = new RegExp(`^${route.url.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/:[^/]+/g, '[^/]+')}/?$`);
    routes.push({ pattern, methods });
    if (route.config?.idempotent) {
      // After the body parser below (the check hashes the body) and the route's own pre-checks
      // (a policy refuses before anything is replayed); before the schema and the handler.
      route.preValidation = [...hooksOf(route.preValidation), idempotency.check];
      route.onSend = [...hooksOf(route.onSend), idempotency.remember];
      route.schema = { ...route.schema, headers: IdempotencyHeaders };
    }
    // On the routes that take a body only: a hook on every route costs every GET.
    if (methods.some((method) => BODY_METHODS.has(method))) {
      route.preValidation = [parseBodyHook, ...hooksOf(route.preValidation)];
      route.preHandler = [checkText, ...hooksOf(route.preHandler)];
    }
    if (route.config?.list) {
      route.preHandler = [listTurn(turns), ...hooksOf(route.preHandler)];
      route.onSend = [noteListSize(turns), ...hooksOf(route.onSend)];
    }
  });

  installErrorHandling(app, () => routes);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  // Hooks on the path of every request take `done` rather than returning a promise: an async
  // hook costs a promise and a microtask turn even when it has nothing to do.
  app.addHook('onRequest', (request, _reply, done) => {
    if (state === 'closing') return done(new ApiError('SERVICE_UNAVAILABLE', 'Oasis is shutting down; retry shortly'));
    if (state === 'starting') return done(new ApiError('SERVICE_UNAVAILABLE', 'Oasis is starting; retry shortly'));
    if (request.url.length > LIMITS.urlBytes) {
      return done(new ApiError('REQUEST_URI_TOO_LONG', `The request URL is longer than ${LIMITS.urlBytes} bytes`));
    }
    if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) {
      return done(new ApiError('BAD_REQUEST', 'Malformed HTTP request: an HTTP/1.1 request needs a Host header'));
    }
    done();
  });
  if (deps.metrics) app.addHook('onResponse', deps.metrics.onResponse);

  // Referenced by every route's error responses (documentErrors), once in /openapi.json.
  app.addSchema(ErrorBody);
  await app.register(swagger, {
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Oasis',
        description:
          'Job executions on Spark, YARN and local clusters, wire-compatible with the Sahara EDP APIs v1.1 and v2',
        version: '0.1.0',
      },
    },
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  registerVersionRoutes(app);
  registerHealthRoutes(app, deps.store);
  if (deps.metrics) registerMetricsRoute(app, deps.metrics);
  await registerDashboard(app as unknown as FastifyInstance);

  const authenticate = authenticateRequest(deps.auth);
  await app.register(
    async (api) => {
      api.decorateRequest('auth', null as unknown as AuthContext);
      api.addHook('onRequest', authenticate);
      for (const register of ROUTE_MODULES) register(api as unknown as Api, deps);
    },
    { prefix: '/v1.1/:project_id' },
  );
  await registerV2Api(app, deps, authenticate);

  return Object.assign(app as unknown as FastifyInstance, {
    acceptRequests() {
      if (!deps.server || !handler) return;
      deps.server.removeAllListeners('request');
      deps.server.on('request', handler);
    },
    markStarting() {
      state = 'starting';
    },
    markReady() {
      state = 'ready';
    },
    markClosing() {
      state = 'closing';
    },
  });
}

/** Event streams per project when the config does not say (OASIS_EVENTS_MAX_STREAMS). */
const DEFAULT_MAX_STREAMS = 20;

type RequestHandler = (request: IncomingMessage, response: ServerResponse) => void;

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** Documents the header in /openapi.json; idempotency.ts checks it (a 400 with Sahara's body). */
const IdempotencyHeaders = {
  type: 'object',
  properties: {
    [IDEMPOTENCY_HEADER]: {
      type: 'string',
      maxLength: MAX_KEY_LENGTH,
      description:
        'Makes the request safe to retry: the same key with the same request answers as the first did (docs/idempotency.md)',
    },
  },
};

type Hook = (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => void;

const hooksOf = <T>(hooks: T | T[] | undefined): T[] =>
  hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks];

/**
 * Sahara's body rules (docs/compatibility.md#request-bodies): a missing body is `{}`; JSON or no Content-Type is parsed
 * as JSON (MALFORMED_REQUEST_BODY on failure); any other type is INVALID_DATA, except on routes
 * that take raw bytes. Bodies are read as bytes first (the content-type parser above) so that
 * the size limit always applies. A large body first waits for its project's turn.
 */
function bodyParser(turns: ProjectTurns): Hook {
  return (request, reply, done) => {
    const large = Buffer.isBuffer(request.body) && request.body.length > LARGE_BODY_BYTES;
    const parse = () => {
      try {
        parseBody(request);
      } catch (error) {
        done(error as Error);
        return;
      }
      continueAfter(large, done);
    };
    if (!large) return parse();
    LARGE_BODIES.add(request);
    takeTurn(turns, request, reply).then(parse, done);
  };
}

/** A list of a project whose lists are large waits for the project's turn (project-turns.ts). */
function listTurn(turns: ProjectTurns): Hook {
  return (request, reply, done) => {
    if (!turns.listsAreLarge(projectOf(request))) return done();
    takeTurn(turns, request, reply).then(() => done(), done);
  };
}

/** Lists larger than this are sent as a stream (listing.ts): their project's next list takes a turn. */
function noteListSize(turns: ProjectTurns) {
  return (
    request: FastifyRequest,
    reply: FastifyReply,
    payload: unknown,
    done: (error: null, payload: unknown) => void,
  ) => {
    if (reply.statusCode === 200) turns.listed(projectOf(request), typeof payload !== 'string');
    done(null, payload);
  };
}

/** Routes outside /v1.1/<project> have no project: they share one line. */
const projectOf = (request: FastifyRequest): string => (request.auth as AuthContext | null)?.tenantId ?? '';

/** Waits for the turn of the request's project; the turn ends when the response is done. */
async function takeTurn(turns: ProjectTurns, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const end = await turns.take(projectOf(request));
  // 'close' also comes when the client goes away before the answer.
  if (reply.raw.closed) end();
  else reply.raw.once('close', end);
}

/** After the schema, as Sahara's semantic checks come after its schema; before the handler. */
const checkText: Hook = (request, _reply, done) => {
  if (Buffer.isBuffer(request.body)) return done();
  try {
    checkBodyText(request.body);
  } catch (error) {
    return done(error as Error);
  }
  continueAfter(LARGE_BODIES.has(request), done);
};

/** Bodies above this size are parsed, validated and handled in separate turns of the event loop. */
const LARGE_BODY_BYTES = 64 * 1024;

const LARGE_BODIES = new WeakSet<FastifyRequest>();

/**
 * Each step of a large body (parsing, validating and checking its text, handling it) takes a few
 * milliseconds; run back to back they held every other request up for their sum. A large
 * request hands the event loop over between them; a small one goes straight on.
 */
function continueAfter(large: boolean, done: () => void): void {
  if (large) setImmediate(done);
  else done();
}

/** Parses a POST, PUT or PATCH body by Sahara's rules above. */
function parseBody(request: FastifyRequest): void {
  const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  if (request.routeOptions.config.rawBody) {
    request.body = raw;
    return;
  }
  if (raw.length === 0) {
    request.body = {};
    return;
  }
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== '' && type !== 'application/json') {
    throw new ApiError('INVALID_DATA', `Content type ${echo(type)} isn't supported`);
  }
  request.body = parseJsonBody(raw);
}

/**
 * One access line per request once its response is sent (method, URL, status, milliseconds), in
 * place of Fastify's two. Answers of 4xx and 5xx are logged at info; successful ones at debug
 * (OASIS_LOG_LEVEL=debug shows every request): each line is a synchronous write to stdout, and
 * logging every request at info cost GET /job-executions/{id} about a fifth of its throughput.
 * Fastify's other lines (stream errors and the like) stay.
 */
class AccessLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = {
      method: request.method,
      url: request.url,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 100) / 100,
    };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else if (reply.statusCode >= 400) reply.log.info(line, 'request');
    else reply.log.debug(line, 'request');
  }
}
