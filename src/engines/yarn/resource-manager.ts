import { errorMessage } from '../../errors.js';
import { TransientEngineError } from '../engine.js';

const REQUEST_TIMEOUT_MS = 10_000;

/** The fields of an RM application report (`/ws/v1/cluster/apps/<id>`) the engine reads. */
export interface YarnApplication {
  id: string;
  state: string;
  finalStatus: string;
  trackingUrl?: string;
  diagnostics?: string;
  applicationTags?: string;
  startedTime?: number;
  finishedTime?: number;
}

/** The ResourceManager's REST API answered that it does not know the application. */
export class UnknownApplicationError extends Error {
  constructor(readonly applicationId: string) {
    super(`the ResourceManager does not know application ${applicationId}`);
    this.name = 'UnknownApplicationError';
  }
}

/**
 * A ResourceManager's REST API. Every failure to reach it (refused, timed out, 5xx) is a
 * TransientEngineError: an unreachable RM never turns a job into a failure.
 */
export class ResourceManagerClient {
  constructor(private readonly baseUrl: string) {}

  async clusterInfo(): Promise<{ state: string; haState?: string; hadoopVersion?: string }> {
    const body = (await this.request('GET', '/ws/v1/cluster/info')) as { clusterInfo?: Record<string, string> };
    const info = body.clusterInfo ?? {};
    return { state: info.state ?? 'UNKNOWN', haState: info.haState, hadoopVersion: info.hadoopVersion };
  }

  async application(id: string): Promise<YarnApplication> {
    const body = (await this.request('GET', `/ws/v1/cluster/apps/${encodeURIComponent(id)}`, undefined, id)) as {
      app?: YarnApplication;
    };
    if (!body.app) throw new UnknownApplicationError(id);
    return body.app;
  }

  /** Applications carrying a tag, newest first. YARN stores tags lower-cased. */
  async applicationsTagged(tag: string): Promise<YarnApplication[]> {
    const query = new URLSearchParams({ applicationTags: tag.toLowerCase() });
    const body = (await this.request('GET', `/ws/v1/cluster/apps?${query}`)) as {
      apps?: { app?: YarnApplication | YarnApplication[] } | null;
    };
    const found = body.apps?.app;
    // Some YARN JSON writers render a one-element list as a bare object.
    const apps = found === undefined ? [] : Array.isArray(found) ? found : [found];
    return apps.sort((a, b) => (b.startedTime ?? 0) - (a.startedTime ?? 0));
  }

  /** Asks the RM to kill the application; resolves once the RM has accepted the request. */
  async kill(id: string): Promise<void> {
    await this.request('PUT', `/ws/v1/cluster/apps/${encodeURIComponent(id)}/state`, { state: 'KILLED' }, id);
  }

  private async request(method: string, path: string, body?: unknown, applicationId?: string): Promise<unknown> {
    const url = `${this.baseUrl}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: { accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      throw new TransientEngineError(`the ResourceManager at ${this.baseUrl} does not answer: ${errorMessage(error)}`, {
        cause: error,
      });
    }
    const text = await response.text().catch(() => '');
    if (response.status === 404 && applicationId) throw new UnknownApplicationError(applicationId);
    if (!response.ok) {
      const reason = `${method} ${url} answered ${response.status}: ${text.slice(0, 300)}`;
      // 5xx (and proxies in front of a restarting RM) are passing trouble; 4xx are real answers.
      if (response.status >= 500) throw new TransientEngineError(reason);
      throw new Error(reason);
    }
    try {
      return text ? (JSON.parse(text) as unknown) : {};
    } catch (error) {
      throw new TransientEngineError(`the ResourceManager at ${this.baseUrl} answered something else than JSON`, {
        cause: error,
      });
    }
  }
}
