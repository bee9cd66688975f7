import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * The real OpenStack clients (python-saharaclient, the `openstack` CLI) the end-to-end tests drive,
 * from the virtualenv scripts/python-clients.sh builds.
 */
const CLIENTS = path.resolve(import.meta.dirname, '../../.cache/pyclients/bin');

export const run = promisify(execFile);

/** Whether the clients are there; in CI their absence is a failure, not a reason to skip. */
export function pythonClientsInstalled(): boolean {
  const installed = existsSync(path.join(CLIENTS, 'openstack'));
  if (!installed && process.env.CI) throw new Error('python clients missing: run scripts/python-clients.sh');
  return installed;
}

/** Runs `openstack <args>` with only PATH and `env` in its environment, as a user's shell would. */
export function openstack(args: readonly string[], env: Record<string, string> = {}) {
  return run(path.join(CLIENTS, 'openstack'), args, { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 });
}

/** The arguments that point the CLI at Oasis with a static token and no Keystone. */
export function tokenAuth(endpoint: string, token: string): string[] {
  return ['--os-auth-type', 'admin_token', '--os-endpoint', endpoint, '--os-token', token];
}

/**
 * What a command printed, read as JSON: some print a sentence before it ("Job ... has been
 * started successfully."), some print nothing (then the text itself).
 */
export function printedJson(stdout: string): any {
  const start = stdout.search(/^[[{]/m);
  return start === -1 ? stdout : JSON.parse(stdout.slice(start));
}

/** Runs one of the Python scenario scripts beside these tests and reads the JSON it prints. */
export async function pythonScenario(script: string, args: readonly string[]): Promise<any> {
  const { stdout } = await run(path.join(CLIENTS, 'python'), [path.join(import.meta.dirname, script), ...args], {
    timeout: 120_000,
  });
  return JSON.parse(stdout);
}
