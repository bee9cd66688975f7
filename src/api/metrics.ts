import { createHash, timingSafeEqual } from 'node:crypto';

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

import { ApiError } from '../errors.js';
import { isTerminal } from '../executions/statuses.js';
import { LOCAL_CLUSTER_ID } from '../store/index.js';
import type { JobExecutionRecord, JobExecutionRepository, RowPatch, Store } from '../store/types.js';

/** Who may scrape /metrics, which spans every project (see docs/metrics.md). */
export interface MetricsAccess {
  /** The bearer token Prometheus presents (`Authorization: Bearer <token>`), when set. */
  token: string | null;
  /** Without a token: whether /metrics is open (noauth) or refused (tokens). */
  openWithoutToken: boolean;
}

export interface MetricsSources {
  store: Store;
  /** This node: its sandboxed jobs are the local jobs it runs. */
  nodeId: string;
  /** The job sandbox in force on this host, when there is one. */
  sandbox?: { kind: string };
}

type HttpChild = { observe(value: number): void };

const SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const JOB_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600];

/**
 * Oasis's Prometheus metrics, one registry per process. Execution metrics count what this node
 * did (Prometheus sums the nodes); nothing here reads the executions table when scraped.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly executions: Counter<'engine' | 'status'>;
  private readonly submitSeconds: Histogram<'engine'>;
  private readonly terminalSeconds: Histogram<'engine' | 'status'>;
  private readonly httpSeconds: Histogram<'method' | 'route' | 'status'>;
  /** The histogram's child per method, route and status: labels() hashes its labels every call. */
  private readonly httpChildren = new Map<string, HttpChild>();

  constructor(
    readonly access: MetricsAccess,
    sources: MetricsSources,
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'oasis_' });
    this.executions = new Counter({
      name: 'oasis_job_executions_total',
      help: 'Job executions this node moved into each status (PENDING when created), by engine',
      labelNames: ['engine', 'status'],
      registers,
    });
    this.submitSeconds = new Histogram({
      name: 'oasis_job_submit_seconds',
      help: 'Time from execute to the engine accepting the job (its start_time)',
      labelNames: ['engine'],
      buckets: JOB_BUCKETS,
      registers,
    });
    this.terminalSeconds = new Histogram({
      name: 'oasis_job_execution_seconds',
      help: 'Time from execute to a terminal status, by engine and terminal status',
      labelNames: ['engine', 'status'],
      buckets: JOB_BUCKETS,
      registers,
    });
    this.httpSeconds = new Histogram({
      name: 'oasis_http_request_duration_seconds',
      help: 'HTTP requests by method, route pattern and status, with their latency',
      labelNames: ['method', 'route', 'status'],
      buckets: SECONDS_BUCKETS,
      registers,
    });
    databaseGauges(sources.store, registers);
    if (sources.sandbox) sandboxGauges(sources, sources.sandbox.kind, registers);
  }

  /** An onResponse hook: one histogram observation, no promise, no label hashing once warm. */
  readonly onResponse = (request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    const route = request.routeOptions.url ?? 'unmatched';
    const key = `${request.method} ${reply.statusCode} ${route}`;
    let child = this.httpChildren.get(key);
    if (child === undefined) {
      child = this.httpSeconds.labels(request.method, route, String(reply.statusCode));
      this.httpChildren.set(key, child);
    }
    child.observe(reply.elapsedTime / 1000);
    done();
  };

  /** Records a status this node wrote: the counter, and the submit and end latencies it completes. */
  recordTransition(engine: string, row: JobExecutionRecord, patch: RowPatch<JobExecutionRecord>): void {
    this.executions.labels(engine, row.status).inc();
    const created = Date.parse(row.created_at);
    if (patch.engine_job_id && row.start_time) this.submitSeconds.labels(engine).observe(secondsBetween(created, row.start_time));
    if (isTerminal(row.status) && row.end_time) this.terminalSeconds.labels(engine, row.status).observe(secondsBetween(created, row.end_time));
  }
}

const secondsBetween = (from: number, to: string): number => Math.max(0, (Date.parse(to) - from) / 1000);

function databaseGauges(store: Store, registers: Registry[]): void {
  if (store.dialect === 'postgres') {
    new Gauge({
      name: 'oasis_database_pool_connections',
      help: 'PostgreSQL pool connections: total open, idle, and requests waiting for one',
      labelNames: ['state'],
      registers,
      collect() {
        const stats = store.databaseStats();
        if (stats.dialect !== 'postgres') return;
        this.labels('total').set(stats.connections);
        this.labels('idle').set(stats.idle);
        this.labels('waiting').set(stats.waiting);
      },
    });
    return;
  }
  new Gauge({
    name: 'oasis_database_size_bytes',
    help: 'Size of the SQLite database on disk, its write-ahead log included',
    registers,
    collect() {
      const stats = store.databaseStats();
      if (stats.dialect === 'sqlite') this.set(stats.bytes);
    },
  });
}

function sandboxGauges(sources: MetricsSources, kind: string, registers: Registry[]): void {
  new Gauge({
    name: 'oasis_job_sandbox_info',
    help: 'The job sandbox in force on this host (bubblewrap, unshare, off or unavailable)',
    labelNames: ['kind'],
    registers,
    collect() {
      this.labels(kind).set(1);
    },
  });
  new Gauge({
    name: 'oasis_job_sandbox_running_jobs',
    help: 'Local jobs running in the sandbox on this node',
    registers,
    async collect() {
      // An indexed count of this node's started, unfinished local executions: a few rows.
      try {
        this.set(await sources.store.jobExecutions.countActive(sources.nodeId, ['local']));
      } catch {
        // The database is down: the gauge is left out of this scrape rather than failing it.
        this.reset();
      }
    },
  });
}

/**
 * The store as the lifecycle and the API use it, with every status write observed. Every status
 * change goes through `insert` (PENDING) or `updateIf` (a compare-and-set on the status), so
 * these two see them all; a write that only refreshes `info` keeps its status and is not counted.
 */
export function observeExecutions(store: Store, metrics: Metrics): Store {
  const repository = store.jobExecutions;
  const engines = new Map<string, string>([[LOCAL_CLUSTER_ID, 'local']]);
  const engineOf = async (clusterId: string): Promise<string> => {
    let engine = engines.get(clusterId);
    if (engine === undefined) {
      engine = (await store.clusters.get(clusterId))?.engine ?? 'unknown';
      engines.set(clusterId, engine);
    }
    return engine;
  };
  const record = (row: JobExecutionRecord, patch: RowPatch<JobExecutionRecord>) => {
    // Never in the way of the write it observes.
    engineOf(row.cluster_id).then(
      (engine) => metrics.recordTransition(engine, row, patch),
      () => metrics.recordTransition('unknown', row, patch),
    );
  };
  const observed: JobExecutionRepository = {
    ...repository,
    async insert(row) {
      const created = await repository.insert(row);
      record(created, created);
      return created;
    },
    async updateIf(id, guard, patch) {
      const updated = await repository.updateIf(id, guard, patch);
      const unchanged = guard.statusIn?.length === 1 && guard.statusIn[0] === patch.status;
      if (updated && patch.status !== undefined && !unchanged) record(updated, patch);
      return updated;
    },
  };
  return { ...store, jobExecutions: observed };
}

/** `GET /metrics` in Prometheus's text format, for whoever `access` lets in. */
export function registerMetricsRoute(app: FastifyInstance, metrics: Metrics): void {
  const expected = metrics.access.token === null ? null : digest(metrics.access.token);
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (!allowed(request.headers.authorization, expected, metrics.access.openWithoutToken)) {
      throw new ApiError('UNAUTHORIZED', '/metrics needs the operator token: Authorization: Bearer <OASIS_METRICS_TOKEN>');
    }
    const body = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).header('cache-control', 'no-store').send(body);
  });
}

function allowed(header: string | undefined, expected: Buffer | null, openWithoutToken: boolean): boolean {
  if (expected === null) return openWithoutToken;
  const presented = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
  // Digests of equal length, so the comparison takes the same time whatever was presented.
  return presented !== undefined && timingSafeEqual(digest(presented), expected);
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
