import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
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
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'serve'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = once(child, 'exit');
  const ready = new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      logs.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'Oasis is ready' && entry.url) resolve(entry.url);
      } catch {
        // not a log line
      }
    });
    createInterface({ input: child.stderr! }).on('line', (line) => logs.push(line));
    void exited.then(([code]) => reject(new Error(`Oasis exited with ${String(code)} before it was ready:\n${logs.join('\n')}`)));
  });
  const url = await ready;

  const waitExit = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await exited;
  };
  return { url, dataDir, child, logs, stop: () => waitExit('SIGTERM'), kill: () => waitExit('SIGKILL') };
}
