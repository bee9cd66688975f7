import { createHash, timingSafeEqual } from 'node:crypto';

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

import { ApiError } from '../errors.js';
import { isTerminal } from '../store/statuses.js';
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
  private readonly httpSeconds: RequestHistogram;

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
    this.httpSeconds = new RequestHistogram(
      'oasis_http_request_duration_seconds',
      'HTTP requests by method, route pattern and status, with their latency',
      SECONDS_BUCKETS,
    );
    this.registry.registerMetric(this.httpSeconds as never);
    databaseGauges(sources.store, registers);
    if (sources.sandbox) sandboxGauges(sources, sources.sandbox.kind, registers);
  }

  /** An onResponse hook: one histogram observation, no promise. */
  readonly onResponse = (request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    this.httpSeconds.observe(
      request.method,
      request.routeOptions.url ?? 'unmatched',
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
    done();
  };

  /** Records a status this node wrote: the counter, and the submit and end latencies it completes. */
  recordTransition(engine: string, row: JobExecutionRecord, patch: RowPatch<JobExecutionRecord>): void {
    this.executions.labels(engine, row.status).inc();
    const created = Date.parse(row.created_at);
    if (patch.engine_job_id && row.start_time)
      this.submitSeconds.labels(engine).observe(secondsBetween(created, row.start_time));
    if (isTerminal(row.status) && row.end_time)
      this.terminalSeconds.labels(engine, row.status).observe(secondsBetween(created, row.end_time));
  }
}

interface RequestSeries {
  labels: { method: string; route: string; status: string };
  /** Observations per bucket (not cumulative), the last one past every bound. */
  counts: Float64Array;
  sum: number;
}

/**
 * The HTTP histogram, kept by hand: prom-client's Histogram hashes its labels and validates them
 * on every observation, 5 µs a request, a few percent of GET /job-executions/{id}; so did a key
 * string built per request (1.3 µs). This one finds its series through maps keyed by the route
 * and method strings Fastify hands over unchanged, and the status, and adds to one bucket; the cumulative buckets Prometheus reads are
 * added up when scraped. Registered like any prom-client metric (it offers what the registry reads).
 */
class RequestHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  /** By route, method and status: the route and method strings are the same objects every time, hashed once. */
  private readonly series = new Map<string, Map<string, Map<number, RequestSeries>>>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {}

  observe(method: string, route: string, status: number, seconds: number): void {
    let byMethod = this.series.get(route);
    if (byMethod === undefined) this.series.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (byStatus === undefined) byMethod.set(method, (byStatus = new Map()));
    let series = byStatus.get(status);
    if (series === undefined) {
      series = {
        labels: { method, route, status: String(status) },
        counts: new Float64Array(this.bounds.length + 1),
        sum: 0,
      };
      byStatus.set(status, series);
    }
    let bucket = 0;
    while (bucket < this.bounds.length && seconds > this.bounds[bucket]!) bucket += 1;
    series.counts[bucket]! += 1;
    series.sum += seconds;
  }

  get() {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    const all = [...this.series.values()].flatMap((byMethod) =>
      [...byMethod.values()].flatMap((byStatus) => [...byStatus.values()]),
    );
    for (const { labels, counts, sum } of all) {
      let cumulative = 0;
      for (let bucket = 0; bucket <= this.bounds.length; bucket += 1) {
        cumulative += counts[bucket]!;
        const le = bucket < this.bounds.length ? this.bounds[bucket]! : '+Inf';
        values.push({ labels: { ...labels, le }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels, value: sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: cumulative, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
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
  const observe = (repository: JobExecutionRepository): JobExecutionRepository => ({
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
  });
  return {
    ...store,
    jobExecutions: observe(store.jobExecutions),
    // An execute with an Idempotency-Key stores its row in a transaction: counted there too.
    transaction: (work) => store.transaction((tx) => work({ ...tx, jobExecutions: observe(tx.jobExecutions) })),
  };
}

/** `GET /metrics` in Prometheus's text format, for whoever `access` lets in. */
export function registerMetricsRoute(app: FastifyInstance, metrics: Metrics): void {
  const expected = metrics.access.token === null ? null : digest(metrics.access.token);
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (!allowed(request.headers.authorization, expected, metrics.access.openWithoutToken)) {
      throw new ApiError(
        'UNAUTHORIZED',
        '/metrics needs the operator token: Authorization: Bearer <OASIS_METRICS_TOKEN>',
      );
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
