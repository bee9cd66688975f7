import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { createSandbox, type Sandbox } from '../../../src/engines/sandbox/index.js';
import { buildJobInit } from '../../../src/engines/sandbox/job-init.js';
import { sandboxOptions } from '../../support/sandbox.js';

const LIMITS = { OASIS_JOB_MAX_OUTPUT: '3MiB', OASIS_JOB_MAX_MEMORY: '96MiB' };
const LIMITS_ENV = {
  OASIS_SANDBOX: 'bubblewrap',
  OASIS_JOB_MAX_PROCESSES: '77',
  OASIS_JOB_MAX_OPEN_FILES: '99',
  ...LIMITS,
};

/** What a job sees of its own rights and limits, one `name value` a line. */
const INSPECT = [
  'echo "uid $(id -u) gid $(id -g) groups $(id -G)"',
  'echo "uid_map $(tr -s " " < /proc/self/uid_map)"',
  "sed -n 's/^\\(CapEff\\|CapPrm\\|CapInh\\|CapAmb\\|NoNewPrivs\\):[[:space:]]*/\\1 /p' /proc/self/status",
  'echo "fsize $(ulimit -f) data $(ulimit -d) nproc $(ulimit -p) nofile $(ulimit -n) core $(ulimit -c)"',
  'readlink /proc/self/ns/user',
].join('\n');

let root: string;

function run(sandbox: Sandbox, script: string): { status: number | null; stdout: string; stderr: string } {
  const workDir = mkdtempSync(path.join(root, 'work-'));
  const [command, ...args] = sandbox.wrap({ workDir, files: [], command: ['/bin/sh', '-c', script] });
  const result = spawnSync(command!, args, { encoding: 'utf8', timeout: 20_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function fields(stdout: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const words = line.trim().split(/\s+/);
    for (let i = 0; i + 1 < words.length; i += 2) values.set(words[i]!, words[i + 1]!);
  }
  return values;
}

/** The confinement both ways of starting a job must give it alike. */
function assertConfined(stdout: string, sandbox: Sandbox): void {
  const seen = fields(stdout);
  const expectedUid = String(sandbox.jobOwner?.uid ?? process.getuid!());
  assert.equal(seen.get('uid'), expectedUid, stdout);
  assert.notEqual(seen.get('uid'), '0', stdout);
  assert.equal(seen.get('uid_map'), expectedUid, `only the job's own user is mapped:\n${stdout}`);
  for (const set of ['CapEff', 'CapPrm', 'CapInh', 'CapAmb']) assert.equal(seen.get(set), '0000000000000000', set);
  assert.equal(seen.get('NoNewPrivs'), '1');
  assert.equal(seen.get('fsize'), String((3 * 1024 * 1024) / 512), 'ulimit -f counts 512-byte blocks');
  assert.equal(seen.get('data'), String(96 * 1024), 'ulimit -d counts KiB');
  assert.equal(seen.get('nproc'), '77');
  assert.equal(seen.get('nofile'), '99');
  assert.equal(seen.get('core'), '0');
}

before(() => {
  root = mkdtempSync(path.join(tmpdir(), 'oasis-job-init-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

describe('oasis-job-init, the last step of the bubblewrap sandbox', () => {
  test('a job started through it runs as the job user, without capabilities, in a user namespace of its own, with its limits', () => {
    const sandbox = createSandbox(sandboxOptions(LIMITS_ENV));
    assert.match(sandbox.description, /jobs start through oasis-job-init$/);
    const first = run(sandbox, INSPECT);
    assert.equal(first.status, 0, first.stderr);
    assertConfined(first.stdout, sandbox);
    const second = run(sandbox, INSPECT);
    const namespaces = [first.stdout, second.stdout].map((out) => /user:\[\d+\]/.exec(out)?.[0]);
    assert.ok(namespaces[0] && namespaces[1], first.stdout);
    assert.notEqual(namespaces[0], namespaces[1], 'each job has a user namespace of its own');
  });

  test('where it cannot be built, jobs start through setpriv, unshare and prlimit, as confined, and the start log says why', () => {
    const blocker = path.join(root, 'not-a-directory');
    writeFileSync(blocker, '');
    const sandbox = createSandbox({ ...sandboxOptions(LIMITS_ENV), buildDir: path.join(blocker, 'build') });
    assert.match(
      sandbox.description,
      /jobs start through setpriv, unshare and prlimit \(building oasis-job-init failed: /,
    );
    const result = run(sandbox, INSPECT);
    assert.equal(result.status, 0, result.stderr);
    assertConfined(result.stdout, sandbox);
  });

  test('it is built once per version of its source, into the directory it is given', () => {
    const dir = path.join(root, 'build');
    const first = buildJobInit(dir);
    assert.ok('path' in first, JSON.stringify(first));
    const built = statSync(first.path);
    const again = buildJobInit(dir);
    assert.deepEqual(again, first);
    assert.equal(statSync(first.path).mtimeMs, built.mtimeMs, 'not rebuilt');
    assert.match(path.basename(first.path), /^oasis-job-init-[0-9a-f]{16}$/);
    assert.equal(built.mode & 0o777, 0o755);
  });

  test('it refuses root and anything but whole numbers before the job starts, and says why a command cannot run', () => {
    const built = buildJobInit(path.join(root, 'build'));
    if (!('path' in built)) throw new Error(built.problem);
    const binary = built.path;
    const limits = ['1048576', '1073741824', '64', '64'];
    const attempts: [string[], number, RegExp][] = [
      [['0', '0', ...limits, '/bin/true'], 125, /never run as root/],
      [['1000', '0', ...limits, '/bin/true'], 125, /never run as root/],
      [['-', '-', '12x', '1', '64', '64', '/bin/true'], 125, /FSIZE is not a number: 12x/],
      [['-', '-', '1', '-1', '64', '64', '/bin/true'], 125, /DATA is not a number/],
      [['-', '-', '1', '', '64', '64', '/bin/true'], 125, /DATA is not a number/],
      [['-', '-', ...limits], 125, /usage/],
      [['-', '-', ...limits, '/nonexistent/program'], 127, /cannot run \/nonexistent\/program: errno 2/],
      [['-', '-', ...limits, 'no-such-program-on-path'], 127, /cannot run no-such-program-on-path: errno 2/],
      [['-', '-', ...limits, '/etc'], 126, /cannot run \/etc: errno 13/],
      // A name without a slash is looked up on PATH, as a shell would; the job's own status passes through.
      [['-', '-', ...limits, 'sh', '-c', 'exit 7'], 7, /^$/],
    ];
    for (const [args, code, message] of attempts) {
      const result = spawnSync(binary, args, { encoding: 'utf8' });
      assert.equal(result.status, code, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
  });
});
