import { Type } from '@sinclair/typebox';
import type { ServerResponse } from 'node:http';
import { ApiError } from '../errors.js';
import { EventHubClosedError, type OpenStream, type StreamItem, TooManyStreamsError } from '../executions/events.js';
import { tenantOf, type Api, type AppDeps } from './context.js';
import { ProjectParams } from './schemas.js';

/**
 * `GET /v1.1/{project}/events`: the project's execution status changes as Server-Sent Events
 * (docs/events.md is the contract). Each is `event: execution`, its log id as `id:`, and JSON
 * data; a client that reconnects with `Last-Event-ID` gets what it missed, in order.
 */

/** A client that reads slower than this much is buffered for is cut off; it resumes by its last id. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
/** What an EventSource waits before reconnecting, sent with the first bytes of every stream. */
const RECONNECT_MS = 2_000;
/** Event ids are positive integers well within JavaScript's exact range. */
const EVENT_ID = /^\d{1,15}$/;

const EventsQuery = Type.Object(
  {
    last_event_id: Type.Optional(
      Type.String({ description: 'Resume after this event id, for clients that cannot send the Last-Event-ID header' }),
    ),
  },
  { additionalProperties: false },
);

/** The JSON of an `execution` event's data. */
export const ExecutionEventData = Type.Object(
  {
    event_id: Type.Integer({ description: "The event's id, also its SSE `id:`; increases with every event" }),
    execution_id: Type.String(),
    project_id: Type.String(),
    status: Type.String({ description: 'The new status, or DELETED when the execution was deleted' }),
    previous_status: Type.Union([Type.String(), Type.Null()], { description: 'null when the execution was created' }),
    time: Type.String({ description: 'When the status changed, ISO 8601 UTC with milliseconds' }),
  },
  { title: 'ExecutionEvent', additionalProperties: false },
);

/** Renders one item as SSE lines. */
export function formatItem(item: StreamItem): string {
  if (item.kind === 'event') {
    const { event } = item;
    const data = {
      event_id: event.id,
      execution_id: event.execution_id,
      project_id: event.tenant_id,
      status: event.status,
      previous_status: event.previous_status,
      time: event.created_at,
    };
    return `event: execution\nid: ${event.id}\ndata: ${JSON.stringify(data)}\n\n`;
  }
  const message =
    item.reason === 'expired'
      ? `Events after ${item.lastEventId} are older than the retention and were pruned; reload the executions' state`
      : `Event ${item.lastEventId} is unknown to this Oasis; reload the executions' state`;
  const data = { reason: item.reason, last_event_id: item.lastEventId, message };
  return `event: reset\nid: ${item.resumedAfter}\ndata: ${JSON.stringify(data)}\n\n`;
}

function lastEventIdOf(header: string | string[] | undefined, query: string | undefined): number | undefined {
  const raw = (Array.isArray(header) ? header[0] : header) ?? query;
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = raw.trim();
  if (!EVENT_ID.test(value)) {
    throw new ApiError(
      'INVALID_DATA',
      'Last-Event-ID must be the id of an event this stream sent (a non-negative integer)',
    );
  }
  return Number(value);
}

export function registerEventRoutes(api: Api, deps: AppDeps): void {
  const hub = deps.events;
  if (!hub) throw new Error('the event routes need the event hub (buildApp makes one)');
  const heartbeatMs = deps.config.events?.heartbeatMs ?? 15_000;

  api.get(
    '/events',
    {
      schema: {
        summary: "Stream the project's execution status changes (Server-Sent Events)",
        description:
          'text/event-stream of `event: execution` messages, each with `id:` and JSON `data:` (ExecutionEvent). ' +
          'Send `Last-Event-ID` to resume after an event; `event: reset` says events were lost. See docs/events.md.',
        params: ProjectParams,
        querystring: EventsQuery,
        headers: Type.Object({
          'last-event-id': Type.Optional(
            Type.String({ description: 'Resume after this event id: what was missed is replayed first' }),
          ),
        }),
        response: {
          200: {
            description:
              'The event stream; it stays open, with a comment line as heartbeat. The schema is the JSON `data:` of each `event: execution` message',
            content: { 'text/event-stream': { schema: ExecutionEventData } },
          },
          429: {
            $ref: 'SaharaError#',
            description: 'The project already has the most event streams open on this node',
          },
        },
      },
    },
    async (request, reply) => {
      const tenant = tenantOf(request);
      const lastEventId = lastEventIdOf(request.headers['last-event-id'], request.query.last_event_id);
      const response = reply.raw;
      let heartbeat: NodeJS.Timeout | undefined;
      let started = false;
      let ended = false;
      const end = () => {
        ended = true;
        if (heartbeat) clearInterval(heartbeat);
        // Before the stream started, Fastify still owns the response: it ends once started.
        if (started && !response.writableEnded) response.end();
      };
      const write = (text: string) => {
        if (response.writableEnded || response.destroyed) return;
        response.write(text);
        // A reader that has stopped reading is cut off rather than buffered without end.
        if (response.writableLength > MAX_BUFFERED_BYTES) stream?.close();
      };
      let stream: OpenStream | undefined;
      try {
        stream = await hub.open(tenant, lastEventId, { send: (item) => write(formatItem(item)), end });
      } catch (error) {
        if (error instanceof TooManyStreamsError)
          throw new ApiError('TOO_MANY_REQUESTS', `${error.message}; close one first`);
        if (error instanceof EventHubClosedError) throw new ApiError('SERVICE_UNAVAILABLE', error.message);
        throw error;
      }
      reply.hijack();
      started = true;
      startStream(response);
      write(`retry: ${RECONNECT_MS}\n: oasis execution events\n\n`);
      if (ended) {
        response.end();
        return;
      }
      heartbeat = setInterval(() => write(': heartbeat\n\n'), heartbeatMs);
      heartbeat.unref();
      const opened = stream;
      response.once('close', () => opened.close());
      // The client may have gone while the stream was being opened: its 'close' has passed.
      if (response.destroyed || request.raw.socket.destroyed) opened.close();
      opened.run().catch((error: unknown) => {
        request.log.warn(
          { err: error, project: tenant },
          'event stream replay failed; the client resumes by its last id',
        );
      });
    },
  );
}

function startStream(response: ServerResponse): void {
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    // nginx buffers responses unless told not to.
    'x-accel-buffering': 'no',
  });
  response.flushHeaders();
}
