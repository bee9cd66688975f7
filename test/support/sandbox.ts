import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { loadConfig } from '../../src/config.js';
import { createSandbox, type Sandbox, type SandboxOptions } from '../../src/engines/sandbox/index.js';

let shared: Sandbox | undefined;
let exchange: string | undefined;
let buildDir: string | undefined;

/**
 * A directory tests share with the jobs they run: markers a job leaves, gates it waits for. Jobs
 * see nothing else of the host's files, so this is the only way in or out besides the output.
 */
export function exchangeDir(): string {
  // A test's child processes (an Oasis it kills, say) share their parent's.
  exchange ??= process.env.OASIS_TEST_EXCHANGE_DIR;
  if (!exchange) {
    const dir = mkdtempSync(path.join(tmpdir(), 'oasis-test-exchange-'));
    // Jobs run as another user when the tests run as root.
    chmodSync(dir, 0o1777);
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    process.env.OASIS_TEST_EXCHANGE_DIR = dir;
    exchange = dir;
  }
  return exchange;
}

/** A fresh, empty directory inside the exchange directory. */
export function exchangeSubdir(prefix: string): string {
  const dir = mkdtempSync(path.join(exchangeDir(), prefix));
  chmodSync(dir, 0o1777);
  return dir;
}

/**
 * The sandbox tests run jobs in: bubblewrap with the default limits, as `npm start` has it
 * (scripts/test.sh installs bubblewrap), plus the exchange directory. A host without bubblewrap
 * fails here rather than testing jobs unconfined.
 */
export function jobSandbox(): Sandbox {
  shared ??= createSandbox(sandboxOptions(sandboxEnv()));
  return shared;
}

/** The sandbox settings an Oasis with this environment has, hiding nothing (tests have no data dir). */
export function sandboxOptions(env: Record<string, string>): SandboxOptions {
  if (!buildDir) {
    const dir = mkdtempSync(path.join(tmpdir(), 'oasis-test-sandbox-build-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    buildDir = dir;
  }
  return { ...loadConfig(env).sandbox, hiddenPaths: [], buildDir };
}

/** The environment that gives an Oasis process the tests' sandbox. */
export function sandboxEnv(): Record<string, string> {
  return { OASIS_SANDBOX: 'bubblewrap', OASIS_SANDBOX_WRITABLE_PATHS: exchangeDir() };
}

/** Host pids of the live processes whose argv is exactly `argv` (a job's, seen from outside). */
export function processesRunning(argv: readonly string[]): number[] {
  const wanted = `${argv.join('\0')}\0`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8') !== wanted) continue;
      if (/\) [ZX] /.test(readFileSync(`/proc/${entry}/stat`, 'utf8'))) continue;
      pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
