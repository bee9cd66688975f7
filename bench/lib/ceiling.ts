import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** One answer of Oasis: what the ceiling server replays. */
export interface Recorded {
  status: number;
  contentType: string;
  body: string;
}

export interface Ceiling {
  url: string;
  stop(): Promise<void>;
}

/** What Oasis answers to one request, recorded so the ceiling server can answer the same bytes. */
export async function record(
  base: string,
  method: 'GET' | 'POST',
  pathAndQuery: string,
  body?: unknown,
): Promise<Recorded> {
  const response = await fetch(`${base}${pathAndQuery}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    body: await response.text(),
  };
}

/** Starts the bare node:http server on its own process, answering `answers` keyed `METHOD /path?query`. */
export async function startCeiling(answers: Record<string, Recorded>): Promise<Ceiling> {
  const file = path.join(tmpdir(), `oasis-bench-ceiling-${process.pid}.json`);
  await writeFile(file, JSON.stringify(answers));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(import.meta.dirname, 'ceiling-server.ts'), file],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const [port] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  const exited = once(child, 'exit');
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
