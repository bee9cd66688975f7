import { eventually } from './eventually.js';

/** One Server-Sent Events message as a client sees it. */
export interface SseMessage {
  event: string;
  id: string | undefined;
  data: string;
}

export interface EventStreamClient {
  status: number;
  headers: Headers;
  /** Every message received so far, in order. */
  messages: SseMessage[];
  /** Comment lines received (heartbeats), without the colon. */
  comments: string[];
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  /** Waits until `predicate` holds over the messages received; returns them. */
  waitFor(predicate: (messages: SseMessage[]) => boolean, what: string): Promise<SseMessage[]>;
  close(): void;
}

/**
 * A real SSE client over fetch, parsing the stream as EventSource does (event, id, data, comment
 * lines; a blank line ends a message). A non-200 answer is returned with its body in `error`.
 */
export async function openEventStream(
  url: string,
  headers: Record<string, string> = {},
): Promise<EventStreamClient & { error?: string }> {
  const abort = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const messages: SseMessage[] = [];
  const comments: string[] = [];
  const client = {
    status: response.status,
    headers: response.headers,
    messages,
    comments,
    close: () => abort.abort(),
    waitFor: (predicate: (received: SseMessage[]) => boolean, what: string) =>
      eventually(() => (predicate(messages) ? messages : undefined), what),
  };
  if (response.status !== 200) {
    return { ...client, ended: Promise.resolve(), error: await response.text() };
  }
  const ended = (async () => {
    const decoder = new TextDecoder();
    let pending = '';
    let current: SseMessage = { event: 'message', id: undefined, data: '' };
    let dataLines: string[] = [];
    try {
      for await (const chunk of response.body!) {
        pending += decoder.decode(chunk as Uint8Array, { stream: true });
        let newline: number;
        while ((newline = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, newline).replace(/\r$/, '');
          pending = pending.slice(newline + 1);
          if (line === '') {
            if (dataLines.length > 0 || current.event !== 'message') {
              messages.push({ ...current, data: dataLines.join('\n') });
            }
            current = { event: 'message', id: undefined, data: '' };
            dataLines = [];
          } else if (line.startsWith(':')) {
            comments.push(line.slice(1).trim());
          } else {
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'event') current.event = value;
            else if (field === 'id') current.id = value;
            else if (field === 'data') dataLines.push(value);
          }
        }
      }
    } catch (error) {
      if (!abort.signal.aborted) throw error;
    }
  })();
  // Only a failed read rejects; a test that never awaits `ended` must not see it as unhandled.
  ended.catch(() => undefined);
  return { ...client, ended };
}

/** The parsed data of `execution` messages. */
export function executionEvents(messages: SseMessage[]): (Record<string, any> & { sseId: string })[] {
  return messages
    .filter((message) => message.event === 'execution')
    .map((message) => ({ ...(JSON.parse(message.data) as Record<string, any>), sseId: message.id! }));
}
