/**
 * A small client of a running Oasis's v1.1 API over the global fetch. It knows the wire format
 * only: nothing here imports the server.
 */

/** Where and as whom the CLI talks to Oasis. */
export interface Connection {
  /** The service root, e.g. http://127.0.0.1:8386 (no /v1.1). */
  url: string;
  project: string;
  token?: string;
}

/** A failed call: Oasis's own error message when it sent Sahara's error body. */
export class ClientError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly errorName?: string,
  ) {
    super(message);
    this.name = 'ClientError';
  }
}

export interface Execution {
  id: string;
  job_id: string;
  cluster_id: string;
  created_at: string | null;
  start_time: string | null;
  end_time: string | null;
  return_code: string | null;
  engine_job_id: string | null;
  is_public: boolean | null;
  is_protected: boolean | null;
  info: { status?: string; exit_code?: number; reason?: string; [key: string]: unknown };
  job_configs: { configs?: Record<string, unknown>; params?: Record<string, unknown>; args?: string[] };
  [key: string]: unknown;
}

export interface Cluster {
  id: string;
  name: string;
  status: string;
  status_description: string;
  plugin_name: string;
  [key: string]: unknown;
}

export interface Template {
  id: string;
  name: string;
  type: string;
  [key: string]: unknown;
}

export type LogStream = 'stdout' | 'stderr';

/** One chunk of an execution's output and the offset to ask for next. */
export interface LogChunk {
  bytes: Uint8Array;
  nextOffset: number;
}

interface RequestOptions {
  body?: unknown;
  raw?: Uint8Array;
  query?: Record<string, string | undefined>;
  signal?: AbortSignal;
}

/** Pages are followed up to this many rows, so that a huge project cannot exhaust the CLI. */
const MAX_LISTED = 5_000;

export class OasisClient {
  private readonly base: string;

  constructor(private readonly connection: Connection) {
    this.base = `${connection.url.replace(/\/+$/, '')}/v1.1/${encodeURIComponent(connection.project)}`;
  }

  /** Sends one request; answers the response when it is a success, throws a ClientError otherwise. */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const url = new URL(this.base + path);
    for (const [key, value] of Object.entries(options.query ?? {}))
      if (value !== undefined) url.searchParams.set(key, value);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.connection.token) headers['x-auth-token'] = this.connection.token;
    let body: BodyInit | undefined;
    if (options.raw) {
      headers['content-type'] = 'application/octet-stream';
      body = new Blob([options.raw as Uint8Array<ArrayBuffer>]);
    } else if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    let response: Response;
    try {
      response = await fetch(url, { method, headers, body, signal: options.signal });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new ClientError(
        `cannot reach Oasis at ${this.connection.url}: ${cause?.code ?? cause?.message ?? String(error)}`,
      );
    }
    if (!response.ok) throw await errorOf(response);
    return response;
  }

  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    return (await (await this.request(method, path, options)).json()) as T;
  }

  /** Every execution matching `filters`, following Sahara's markers. */
  async listExecutions(filters: Record<string, string | undefined>): Promise<Execution[]> {
    const rows: Execution[] = [];
    let marker: string | undefined;
    do {
      const page = await this.json<{ job_executions: Execution[]; markers?: { next: string | null } }>(
        'GET',
        '/job-executions',
        {
          query: { ...filters, limit: '500', marker },
        },
      );
      rows.push(...page.job_executions);
      marker = page.markers?.next ?? undefined;
    } while (marker && rows.length < MAX_LISTED);
    return rows;
  }

  async getExecution(id: string): Promise<Execution> {
    return (await this.json<{ job_execution: Execution }>('GET', `/job-executions/${encodeURIComponent(id)}`))
      .job_execution;
  }

  async cancelExecution(id: string): Promise<void> {
    await this.request('GET', `/job-executions/${encodeURIComponent(id)}/cancel`);
  }

  async deleteExecution(id: string): Promise<void> {
    await this.request('DELETE', `/job-executions/${encodeURIComponent(id)}`);
  }

  async listClusters(): Promise<Cluster[]> {
    return (await this.json<{ clusters: Cluster[] }>('GET', '/clusters')).clusters;
  }

  async getTemplate(id: string): Promise<Template> {
    return (await this.json<{ job: Template }>('GET', `/jobs/${encodeURIComponent(id)}`)).job;
  }

  /** Uploads a script as a job-binary-internal and registers it as a job binary; answers the binary's id. */
  async uploadBinary(name: string, data: Uint8Array): Promise<string> {
    const internal = await this.json<{ job_binary_internal: { id: string } }>(
      'PUT',
      `/job-binary-internals/${encodeURIComponent(name)}`,
      { raw: data },
    );
    const binary = await this.json<{ job_binary: { id: string } }>('POST', '/job-binaries', {
      body: { name, url: `internal-db://${internal.job_binary_internal.id}` },
    });
    return binary.job_binary.id;
  }

  async createTemplate(body: { name: string; type: string; mains: string[] }): Promise<Template> {
    return (await this.json<{ job: Template }>('POST', '/jobs', { body })).job;
  }

  async execute(templateId: string, body: Record<string, unknown>): Promise<Execution> {
    return (
      await this.json<{ job_execution: Execution }>('POST', `/jobs/${encodeURIComponent(templateId)}/execute`, { body })
    ).job_execution;
  }

  /** The output written so far from `offset` on. */
  async readLogs(id: string, stream: LogStream, offset: number): Promise<LogChunk> {
    const response = await this.request('GET', `/job-executions/${encodeURIComponent(id)}/logs`, {
      query: { stream, offset: String(offset) },
    });
    const bytes = new Uint8Array(await response.arrayBuffer());
    return { bytes, nextOffset: nextOffsetOf(response, offset + bytes.byteLength) };
  }

  /**
   * Follows an execution's output from `offset` until the execution is terminal (Oasis ends the
   * response then), handing every chunk to `write` as it arrives. Answers the next offset.
   */
  async followLogs(
    id: string,
    stream: LogStream,
    offset: number,
    write: (chunk: Uint8Array) => void,
    signal?: AbortSignal,
  ): Promise<number> {
    const response = await this.request('GET', `/job-executions/${encodeURIComponent(id)}/logs`, {
      query: { stream, offset: String(offset), follow: 'true' },
      ...(signal ? { signal } : {}),
    });
    let next = offset;
    if (response.body) {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        next += chunk.byteLength;
        write(chunk);
      }
    }
    return next;
  }
}

function nextOffsetOf(response: Response, fallback: number): number {
  const header = Number(response.headers.get('oasis-log-offset'));
  return Number.isSafeInteger(header) && header >= 0 ? header : fallback;
}

/** Sahara's error body gives the message; anything else is described by its status. */
async function errorOf(response: Response): Promise<ClientError> {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error_message?: unknown; error_name?: unknown };
    if (typeof body.error_message === 'string') {
      return new ClientError(body.error_message, response.status, String(body.error_name ?? response.status));
    }
  } catch {
    // not JSON: fall through
  }
  return new ClientError(`Oasis answered ${response.status} ${response.statusText}`.trim(), response.status);
}
