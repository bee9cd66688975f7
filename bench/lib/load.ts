import autocannon, { type Result } from 'autocannon';

export interface LoadOptions {
  url: string;
  method?: 'GET' | 'POST';
  body?: unknown;
  connections?: number;
  /** Seconds; or a fixed number of requests with `amount`. */
  duration?: number;
  amount?: number;
}

export interface LoadResult {
  /** Completed requests per second over the run. */
  rps: number;
  p50: number;
  p99: number;
  requests: number;
}

/**
 * One autocannon run. Any error, timeout or non-2xx answer fails the benchmark: a fast wrong
 * answer is not a throughput figure.
 */
export async function load(options: LoadOptions): Promise<LoadResult> {
  const started = performance.now();
  let lastResponse = started;
  const result = await new Promise<Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        method: options.method ?? 'GET',
        connections: options.connections ?? 16,
        timeout: 30,
        ...(options.amount !== undefined ? { amount: options.amount } : { duration: options.duration ?? 3 }),
        ...(options.body === undefined
          ? {}
          : { body: JSON.stringify(options.body), headers: { 'content-type': 'application/json' } }),
      },
      (error, done) => (error ? reject(error) : resolve(done)),
    );
    instance.on('response', () => {
      lastResponse = performance.now();
    });
  });
  if (result.errors > 0 || result.timeouts > 0 || result.non2xx > 0) {
    throw new Error(
      `${options.method ?? 'GET'} ${options.url}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx`,
    );
  }
  const total = result['2xx'];
  // autocannon ends fixed-amount runs on its 1 s tick and rounds its duration to whole seconds:
  // the time of the last response is the run's real length.
  const seconds = (lastResponse - started) / 1000;
  return { rps: total / seconds, p50: result.latency.p50, p99: result.latency.p99, requests: total };
}
