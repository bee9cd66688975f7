// The dashboard's client of the Oasis API: same origin, the token (under tokens auth) kept only
// in this tab's sessionStorage and sent as X-Auth-Token, never in a URL.

const TOKEN_KEY = 'oasis.token';

export function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

export function storeToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** A failed call: Sahara's error message when Oasis sent its error body. */
export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

export class Api {
  /** `onUnauthorized` hears every 401, so that the page can ask for a token again. */
  constructor(project, token, onUnauthorized = () => {}) {
    this.project = project;
    this.token = token;
    this.onUnauthorized = onUnauthorized;
    this.base = `/v1.1/${encodeURIComponent(project)}`;
  }

  headers(extra = {}) {
    return this.token ? { 'X-Auth-Token': this.token, ...extra } : extra;
  }

  async request(path, { method = 'GET', signal, headers } = {}) {
    const response = await fetch(this.base + path, { method, signal, headers: this.headers({ Accept: 'application/json', ...headers }) });
    if (response.status === 401) this.onUnauthorized();
    if (!response.ok) throw await errorOf(response);
    return response;
  }

  async json(path, options) {
    return (await this.request(path, options)).json();
  }

  /** Every execution matching the server-side filters, following Sahara's markers (at most `max`). */
  async executions(filters, max = 2000) {
    const rows = [];
    let marker;
    do {
      const query = new URLSearchParams({ limit: '500' });
      for (const [key, value] of Object.entries(filters)) if (value) query.set(key, value);
      if (marker) query.set('marker', marker);
      const page = await this.json(`/job-executions?${query}`);
      rows.push(...page.job_executions);
      marker = page.markers?.next;
    } while (marker && rows.length < max);
    return rows;
  }

  execution(id) {
    return this.json(`/job-executions/${encodeURIComponent(id)}`).then((body) => body.job_execution);
  }

  template(id) {
    return this.json(`/jobs/${encodeURIComponent(id)}`).then((body) => body.job);
  }

  clusters() {
    return this.json('/clusters').then((body) => body.clusters);
  }

  cancel(id) {
    return this.request(`/job-executions/${encodeURIComponent(id)}/cancel`);
  }

  /**
   * Follows one output stream of an execution: `onText` gets each piece as it arrives; the
   * response ends when the execution is terminal. Abort with `signal`.
   */
  async followLogs(id, stream, onText, signal) {
    const response = await this.request(`/job-executions/${encodeURIComponent(id)}/logs?stream=${stream}&offset=0&follow=true`, {
      signal,
      headers: { Accept: 'text/plain' },
    });
    const decoder = new TextDecoder();
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      onText(decoder.decode(value, { stream: true }));
    }
    const rest = decoder.decode();
    if (rest) onText(rest);
  }

  /**
   * The project's execution events (Server-Sent Events) read through fetch, because EventSource
   * cannot send X-Auth-Token. Reconnects with Last-Event-ID after a drop; `onState` hears
   * 'live', 'reconnecting' and 'off' (no event stream on this Oasis). Answers a function that stops.
   */
  watchEvents(onEvent, onState) {
    const controller = new AbortController();
    let lastId = '';
    let delay = 1000;
    const connect = async () => {
      while (!controller.signal.aborted) {
        try {
          const headers = this.headers({ Accept: 'text/event-stream', ...(lastId ? { 'Last-Event-ID': lastId } : {}) });
          const response = await fetch(`${this.base}/events`, { headers, signal: controller.signal });
          if (response.status === 404 || response.status === 405) return onState('off');
          if (response.status === 401) return this.onUnauthorized();
          if (!response.ok) throw new Error(String(response.status));
          onState('live');
          delay = 1000;
          await readEvents(response.body, (event) => {
            if (event.id) lastId = event.id;
            onEvent(event);
          });
        } catch {
          if (controller.signal.aborted) return;
        }
        onState('reconnecting');
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, 15000);
      }
    };
    connect();
    return () => controller.abort();
  }
}

/** Parses a text/event-stream body: `event`, `id` and `data` fields, an event per blank line. */
async function readEvents(body, dispatch) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let event = { type: 'message', id: '', data: [] };
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += value;
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop();
    for (const line of lines) {
      if (line === '') {
        if (event.data.length > 0) dispatch({ type: event.type, id: event.id, data: event.data.join('\n') });
        event = { type: 'message', id: event.id, data: [] };
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event.type = text;
      else if (field === 'data') event.data.push(text);
      else if (field === 'id') event.id = text;
    }
  }
}

async function errorOf(response) {
  try {
    const body = await response.json();
    if (typeof body.error_message === 'string') return new ApiError(body.error_message, response.status);
  } catch {
    // not Sahara's body
  }
  return new ApiError(`Oasis answered ${response.status}`, response.status);
}

/** Sahara's statuses; the terminal ones end an execution. */
export const STATUSES = ['PENDING', 'RUNNING', 'TOBEKILLED', 'SUCCEEDED', 'DONEWITHERROR', 'FAILED', 'KILLED'];
const TERMINAL = new Set(['SUCCEEDED', 'DONEWITHERROR', 'FAILED', 'KILLED', 'SUSPENDFAILED']);

export const isTerminal = (status) => TERMINAL.has(status);

export const statusOf = (execution) => execution.info?.status ?? 'UNKNOWN';
