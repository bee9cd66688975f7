import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

import { Type } from '@sinclair/typebox';

import { TransientEngineError, type LogChunk, type LogStream, type Engines } from '../engines/engine.js';
import { ApiError, echo } from '../errors.js';
import { isTerminal } from '../store/statuses.js';
import type { JobExecutionRecord, Store } from '../store/types.js';
import { tenantOf, type Api, type AppDeps } from './context.js';
import { IdParams } from './schemas.js';
import { getVisible } from '../store/visibility.js';

/** The most one answer carries; the client asks again from `Oasis-Log-Offset` for more. */
export const LOG_CHUNK_BYTES = 1024 * 1024;
/** The largest piece a followed response reads (and sends) at once. */
const FOLLOW_READ_BYTES = 64 * 1024;
/** How often a followed execution is looked at for new output: local files are cheap to read. */
const FOLLOW_POLL_MS = { local: 250, remote: 1_000 } as const;
/** The largest offset accepted: beyond any file Oasis keeps, and exact as a JavaScript number. */
const MAX_OFFSET_DIGITS = 15;

export const LOG_OFFSET_HEADER = 'Oasis-Log-Offset';
/** Followed responses open at once, per project and on this node: each holds a connection and a poll. */
export const MAX_FOLLOWS = { project: 32, node: 1_000 } as const;

const LogQuery = Type.Object(
  {
    stream: Type.Optional(Type.String({ description: '`stdout` (default) or `stderr`' })),
    offset: Type.Optional(Type.String({ description: 'Byte offset to read from, a non-negative integer (default 0)' })),
    follow: Type.Optional(
      Type.String({
        description: '`true` keeps the response open and streams new output until the execution has ended',
      }),
    ),
  },
  { additionalProperties: true },
);

const LogText = {
  description: `The stream's bytes from \`offset\`, at most ${LOG_CHUNK_BYTES} without follow; \`${LOG_OFFSET_HEADER}\` is the offset to ask from next (with follow: the offset the body starts at, and a trailer of the same name gives the offset after it)`,
  headers: {
    [LOG_OFFSET_HEADER]: { type: 'integer', description: 'Offset after the body (with follow: where it starts)' },
  },
  content: { 'text/plain': { schema: { type: 'string' } } },
};

interface LogQueryValues {
  stream: LogStream;
  offset: number;
  follow: boolean;
}

/** `GET /job-executions/:id/logs`: an execution's output, visible to whoever sees the execution. */
export function registerLogRoutes(api: Api, deps: AppDeps): void {
  const { store, engines } = deps;
  // Followed responses end when Oasis shuts down, or closing would wait on them forever.
  const following = new Set<AbortController>();
  const followsOf = new Map<string, number>();
  api.addHook('preClose', (done) => {
    for (const controller of following) controller.abort();
    done();
  });

  api.get(
    '/job-executions/:id/logs',
    { schema: { params: IdParams, querystring: LogQuery, response: { 200: LogText } } },
    async (request, reply) => {
      const query = parseLogQuery(request.query);
      const row = await getVisible(store.jobExecutions, request.params.id, tenantOf(request));
      const source = await logSourceOf(store, engines, row);
      reply.type('text/plain; charset=utf-8').header('cache-control', 'no-store');
      if (!query.follow) {
        const chunk = await source.read(row, query.stream, query.offset, LOG_CHUNK_BYTES);
        return reply.header(LOG_OFFSET_HEADER, String(chunk.nextOffset)).send(chunk.data);
      }
      const tenant = tenantOf(request);
      const open = followsOf.get(tenant) ?? 0;
      if (open >= MAX_FOLLOWS.project || following.size >= MAX_FOLLOWS.node) {
        throw new ApiError(
          'SERVICE_UNAVAILABLE',
          `Too many followed logs are open (at most ${MAX_FOLLOWS.project} per project); close one, or read without follow`,
        );
      }
      const controller = new AbortController();
      following.add(controller);
      followsOf.set(tenant, open + 1);
      reply.raw.once('close', () => {
        controller.abort();
        following.delete(controller);
        const left = (followsOf.get(tenant) ?? 1) - 1;
        if (left > 0) followsOf.set(tenant, left);
        else followsOf.delete(tenant);
      });
      const position = { offset: query.offset };
      // The connection ends with the stream: left open for keep-alive, a stream that ended at
      // shutdown would hold the server's close until the keep-alive timeout.
      reply.header(LOG_OFFSET_HEADER, String(query.offset)).header('connection', 'close');
      reply.trailer(LOG_OFFSET_HEADER, async () => String(position.offset));
      const body = Readable.from(follow(store, source, row.id, query.stream, position, controller.signal), {
        objectMode: false,
      });
      return reply.send(body);
    },
  );
}

function parseLogQuery(query: { stream?: string; offset?: string; follow?: string }): LogQueryValues {
  const stream = query.stream ?? 'stdout';
  if (stream !== 'stdout' && stream !== 'stderr') {
    throw new ApiError('INVALID_DATA', `Invalid stream ${echo(stream)}: it must be 'stdout' or 'stderr'`);
  }
  const offset = query.offset ?? '0';
  if (!/^[0-9]+$/.test(offset) || offset.length > MAX_OFFSET_DIGITS) {
    throw new ApiError(
      'INVALID_DATA',
      `Invalid offset ${echo(offset)}: it must be a non-negative integer below 10^${MAX_OFFSET_DIGITS}`,
    );
  }
  const follow = query.follow ?? 'false';
  if (follow !== 'true' && follow !== 'false') {
    throw new ApiError('INVALID_DATA', `Invalid follow ${echo(follow)}: it must be 'true' or 'false'`);
  }
  return { stream, offset: Number(offset), follow: follow === 'true' };
}

/** Where an execution's output is read: its cluster's engine, when it reads logs. */
interface LogSource {
  read(row: JobExecutionRecord, stream: LogStream, offset: number, maxBytes: number): Promise<LogChunk>;
  local: boolean;
}

async function logSourceOf(store: Store, engines: Engines, row: JobExecutionRecord): Promise<LogSource> {
  const cluster = await store.clusters.get(row.cluster_id);
  const engine = cluster && engines.get(cluster.engine);
  return {
    local: cluster?.engine === 'local',
    /**
     * An execution its engine never accepted has no output yet (an empty answer); a cluster that
     * cannot be reached is a 503 to retry.
     */
    async read(current, stream, offset, maxBytes) {
      if (!cluster || !engine?.readLogs) return { data: Buffer.alloc(0), nextOffset: offset };
      const target = {
        executionId: current.id,
        engineJobId: current.engine_job_id,
        extra: current.extra,
        info: current.info,
      };
      try {
        return await engine.readLogs(target, cluster, { stream, offset, maxBytes });
      } catch (error) {
        if (error instanceof TransientEngineError) {
          throw new ApiError(
            'SERVICE_UNAVAILABLE',
            `The logs of job execution ${current.id} cannot be read now: ${error.message}`,
          );
        }
        throw error;
      }
    },
  };
}

/**
 * The stream's bytes as they are written. The status is read before each round of reads, so
 * that once it is terminal one last round sends everything the job wrote before it ended.
 * A cluster briefly unreachable only delays the next round.
 */
async function* follow(
  store: Store,
  source: LogSource,
  id: string,
  stream: LogStream,
  position: { offset: number },
  signal: AbortSignal,
): AsyncGenerator<Buffer> {
  const pollMs = source.local ? FOLLOW_POLL_MS.local : FOLLOW_POLL_MS.remote;
  while (!signal.aborted) {
    const row = await store.jobExecutions.get(id);
    if (!row) return;
    const ended = isTerminal(row.status);
    for (;;) {
      let chunk: LogChunk;
      try {
        chunk = await source.read(row, stream, position.offset, FOLLOW_READ_BYTES);
      } catch (error) {
        if (error instanceof ApiError && error.errorName === 'SERVICE_UNAVAILABLE' && !ended) break;
        throw error;
      }
      if (chunk.data.length === 0 || signal.aborted) break;
      position.offset = chunk.nextOffset;
      yield chunk.data;
    }
    if (ended) return;
    await sleep(pollMs, undefined, { signal }).catch(() => undefined);
  }
}
