import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

import { sandboxEnv } from './sandbox.js';

/** A real Oasis process, started the way `npm start` starts it (through the CLI entry). */
export interface OasisProcess {
  url: string;
  dataDir: string;
  child: ChildProcess;
  /** Everything the process logged, for assertions and for diagnosing failures. */
  logs: string[];
  /** Graceful stop (SIGTERM), waiting for the exit. */
  stop(): Promise<void>;
  /** Simulates a crash: SIGKILL, no cleanup. */
  kill(): Promise<void>;
}

const ROOT = path.resolve(import.meta.dirname, '../..');

export interface StartOptions {
  env?: Record<string, string>;
  dataDir?: string;
  tokens?: Record<string, { project_id: string; roles?: string[] }>;
  /**
   * Standard output goes to this file descriptor (e.g. /dev/full) instead of the test: the
   * process is then known ready when its /healthz answers 200, on a port chosen up front.
   */
  stdoutFd?: number;
}

export async function startOasis(options: StartOptions = {}): Promise<OasisProcess> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'oasis-server-')));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? dataDir,
    OASIS_PORT: '0',
    OASIS_DATA_DIR: dataDir,
    OASIS_LOG_LEVEL: 'info',
    ...sandboxEnv(),
    ...options.env,
  };
  if (options.tokens) {
    const file = path.join(dataDir, 'tokens.json');
    await writeFile(file, JSON.stringify(options.tokens));
    env.OASIS_AUTH = 'tokens';
    env.OASIS_TOKENS_FILE = file;
  }
  if (options.stdoutFd !== undefined) env.OASIS_PORT = String(await freePort());
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'serve'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', options.stdoutFd ?? 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = once(child, 'exit');
  const ready = new Promise<string>((resolve, reject) => {
    if (child.stdout) {
      createInterface({ input: child.stdout }).on('line', (line) => {
        logs.push(line);
        try {
          const entry = JSON.parse(line) as { msg?: string; url?: string };
          if (entry.msg === 'Oasis is ready' && entry.url) resolve(entry.url);
        } catch {
          // not a log line
        }
      });
    } else {
      void answering(`http://127.0.0.1:${env.OASIS_PORT}`, exited).then(resolve, () => undefined);
    }
    createInterface({ input: child.stderr! }).on('line', (line) => logs.push(line));
    void exited.then(([code]) =>
      reject(new Error(`Oasis exited with ${String(code)} before it was ready:\n${logs.join('\n')}`)),
    );
  });
  const url = await ready;

  const waitExit = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await exited;
  };
  return { url, dataDir, child, logs, stop: () => waitExit('SIGTERM'), kill: () => waitExit('SIGKILL') };
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * Resolves with `url` once Oasis there is ready (found by polling when its log cannot be read),
 * or rejects when the process exits.
 */
async function answering(url: string, exited: Promise<unknown>): Promise<string> {
  let gone = false;
  void exited.then(() => (gone = true));
  while (!gone) {
    try {
      // The port answers 503 "starting" from the moment it is bound; ready means a 200.
      const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) });
      if (response.ok) return url;
    } catch {
      // Not listening yet.
    }
    await sleep(50);
  }
  throw new Error('exited');
}
