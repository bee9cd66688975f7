import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eventually } from '../support/eventually.js';
import { exchangeSubdir } from '../support/sandbox.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

let scripts: string | undefined;

/** Writes a job script where the user's `oasis run` would find it, and returns its path. */
export async function script(name: string, text: string): Promise<string> {
  if (!scripts) {
    const dir = mkdtempSync(path.join(tmpdir(), 'oasis-cli-scripts-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    scripts = dir;
  }
  const file = path.join(scripts, name);
  await writeFile(file, text);
  return file;
}

/** A running `oasis` client command: its output so far, and its end. */
export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Starts `oasis <args>` as a user would, configured through OASIS_URL, OASIS_PROJECT, OASIS_TOKEN. */
export function startCli(args: readonly string[], env: Record<string, string | undefined> = {}): CliProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = once(child, 'close').then(([code]) => ({ code: code as number | null, stdout, stderr }));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Runs `oasis <args>` to its end. */
export function cli(args: readonly string[], env: Record<string, string | undefined> = {}) {
  return startCli(args, env).exited;
}

/** The client environment for a project of a running Oasis. */
export function clientEnv(url: string, project: string, token?: string): Record<string, string> {
  return { OASIS_URL: url, OASIS_PROJECT: project, ...(token ? { OASIS_TOKEN: token } : {}) };
}

/**
 * A gate a job waits for: the job polls for a file in a directory it shares with the test,
 * so that a test decides when a running job goes on, without sleeping.
 */
export interface Gate {
  dir: string;
  open(): Promise<void>;
}

export function newGate(): Gate {
  const dir = exchangeSubdir('cli-gate-');
  return { dir, open: () => writeFile(path.join(dir, 'go'), '') };
}

/** A shell script that prints `before`, waits for the gate given as its first argument, prints `after`, exits `code`. */
export function gatedScript(before: string, after: string, code = 0): string {
  return `echo ${before}\nwhile [ ! -e "$1/go" ]; do sleep 0.05; done\necho ${after}\nexit ${code}\n`;
}

/** Waits until `read` holds `text`. */
export function waitForText(read: () => string, text: string, what: string): Promise<true> {
  return eventually(() => (read().includes(text) ? true : undefined), what);
}
