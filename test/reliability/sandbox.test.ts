import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import type { Engine } from '../../src/engines/engine.js';
import { createLocalEngine } from '../../src/engines/local/index.js';
import { createSandbox } from '../../src/engines/sandbox/index.js';
import { isTerminal } from '../../src/store/statuses.js';
import { LOCAL_CLUSTER_ID } from '../../src/store/index.js';
import { openTestStore, testDialects, type TestDatabase } from '../support/databases.js';
import { processesRunning, sandboxOptions } from '../support/sandbox.js';
import { startOasis, type OasisProcess } from '../support/server.js';
import { cluster, finalStatus, output, shellJob } from '../engines/local/helpers.js';
import { eventually, http } from './support.js';

/**
 * The sandbox seen from inside a real job, as an attacker holding one project's token would try
 * it: every forbidden read, write and signal must fail, and nothing the job starts may outlive it.
 */
const PROBE = `
try() { if "$@" >/dev/null 2>&1; then echo "allowed: $1 $2"; else echo "denied: $1 $2"; fi; }
echo "uid=$(id -u)"
try cat "$DB"
try cat "$TOKENS"
try cat "$VICTIM_OUTPUT"
echo "data-entries=$(ls -A "$DATA_DIR" 2>/dev/null | wc -l)"
try cat "/proc/$TARGET_PID/environ"
try kill -0 "$TARGET_PID"
try sh -c "echo x >> '$DB'"
try touch /usr/oasis-probe
try touch /etc/oasis-probe
try cat "$VISIBLE"
echo "processes=$(ls -d /proc/[0-9]* | wc -l)"
echo "oasis-variables=$(env | grep -c '^OASIS_')"
`;

let naps = 0;
const nap = (): string => `600.${process.pid}${(naps += 1)}`;

const SANDBOXES = [
  ...testDialects().map((dialect) => ({ dialect, sandbox: 'bubblewrap' as const })),
  // The fallback without bubblewrap: the same attacks must fail.
  { dialect: 'sqlite' as const, sandbox: 'unshare' as const },
];

for (const { dialect, sandbox } of SANDBOXES) {
  describe(`the job sandbox (${sandbox}) against an attacker's job (${dialect})`, () => {
    let root: string;
    let oasis: OasisProcess;
    let database: TestDatabase | undefined;
    const tokens = { 'token-a': { project_id: 'attacker' }, 'token-b': { project_id: 'victim' } };
    const api = (project: 'attacker' | 'victim', method: string, route: string, body?: unknown) =>
      http(oasis.url, method, `/v1.1/${project}${route}`, body, {
        'x-auth-token': project === 'attacker' ? 'token-a' : 'token-b',
      });

    const run = async (project: 'attacker' | 'victim', script: string, params: Record<string, string> = {}) => {
      const upload = await http(oasis.url, 'PUT', `/v1.1/${project}/job-binary-internals/s${(naps += 1)}.sh`, script, {
        'content-type': 'application/octet-stream',
        'x-auth-token': project === 'attacker' ? 'token-a' : 'token-b',
      });
      assert.equal(upload.status, 202, upload.text);
      const binary = await api(project, 'POST', '/job-binaries', {
        name: `b${naps}.sh`,
        url: `internal-db://${upload.json.job_binary_internal.id}`,
      });
      const template = await api(project, 'POST', '/jobs', {
        name: `t${naps}`,
        type: 'Shell',
        mains: [binary.json.job_binary.id],
      });
      const executed = await api(project, 'POST', `/jobs/${template.json.job.id}/execute`, {
        cluster_id: LOCAL_CLUSTER_ID,
        job_configs: { params },
      });
      assert.equal(executed.status, 202, executed.text);
      return executed.json.job_execution.id as string;
    };
    const execution = async (project: 'attacker' | 'victim', id: string) =>
      (await api(project, 'GET', `/job-executions/${id}`)).json?.job_execution;
    const ended = (project: 'attacker' | 'victim', id: string) =>
      eventually(async () => {
        const found = await execution(project, id);
        return found && isTerminal(found.info.status) ? found : undefined;
      }, `${id} to end`);

    before(async () => {
      // The data dir lies inside a path jobs are given, the hardest case: it must still be hidden.
      root = await mkdtemp(path.join(tmpdir(), 'oasis-sandbox-'));
      await chmod(root, 0o755);
      await writeFile(path.join(root, 'visible.txt'), 'an operator shares this\n', { mode: 0o644 });
      await mkdir(path.join(root, 'data'), { mode: 0o700 });
      database = dialect === 'postgres' ? await openTestStore('postgres') : undefined;
      oasis = await startOasis({
        dataDir: path.join(root, 'data'),
        tokens,
        env: {
          OASIS_SANDBOX: sandbox,
          OASIS_SANDBOX_PATHS: root,
          ...(database?.url ? { OASIS_DATABASE_URL: database.url } : {}),
        },
      });
    });
    after(async () => {
      await oasis?.stop();
      await database?.drop();
      await rm(root, { recursive: true, force: true });
    });

    test('the start log says which isolation is in force', () => {
      assert.ok(
        oasis.logs.some((line) => line.includes(`job sandbox: ${sandbox}`)),
        oasis.logs.join('\n'),
      );
    });

    test("a job reads, writes and signals nothing of Oasis's or another project's", async () => {
      const victim = await run('victim', `echo "victim's secret"\nsleep ${nap()}\n`);
      await eventually(
        async () => ((await execution('victim', victim))?.info.status === 'RUNNING' ? true : undefined),
        'the victim to run',
      );
      const dataDir = path.join(root, 'data');
      const attacker = await run('attacker', PROBE, {
        DB: path.join(dataDir, 'oasis.db'),
        TOKENS: path.join(dataDir, 'tokens.json'),
        VICTIM_OUTPUT: path.join(dataDir, 'executions', victim, 'stdout'),
        DATA_DIR: dataDir,
        TARGET_PID: String(oasis.child.pid),
        VISIBLE: path.join(root, 'visible.txt'),
      });
      const done = await ended('attacker', attacker);
      assert.equal(done.info.status, 'SUCCEEDED', JSON.stringify(done.info));
      const stdout = await readFile(path.join(dataDir, 'executions', attacker, 'stdout'), 'utf8');

      if (process.getuid?.() === 0) assert.match(stdout, /^uid=65534$/m, 'a job never runs as root');
      for (const forbidden of ['cat', 'kill', 'sh', 'touch']) {
        for (const line of stdout.split('\n').filter((entry) => entry.startsWith(`allowed: ${forbidden} `))) {
          assert.ok(line.includes('visible.txt'), `the job could: ${line}\n${stdout}`);
        }
      }
      assert.match(stdout, /^allowed: cat .*visible\.txt$/m, 'paths the operator shares stay readable');
      // Every forbidden attempt ran and failed: reads, the signal, the writes.
      assert.equal(stdout.split('\n').filter((line) => line.startsWith('denied: ')).length, 8, stdout);
      assert.match(stdout, /^oasis-variables=0$/m);
      assert.match(stdout, /^data-entries=0$/m, 'the data dir looks empty from inside');
      const processes = Number(/^processes=(\d+)$/m.exec(stdout)?.[1]);
      assert.ok(processes > 0 && processes < 8, `the job saw ${processes} processes`);
      await api('victim', 'DELETE', `/job-executions/${victim}`);
    });

    test('daemons and setsid children die with the job: on exit, cancel and delete', async () => {
      const naps = { exit: nap(), cancel: nap(), delete: nap() };
      const exits = await run(
        'attacker',
        `setsid sleep ${naps.exit} &\nnohup sleep ${naps.exit} >/dev/null 2>&1 &\necho started\n`,
      );
      assert.equal((await ended('attacker', exits)).info.status, 'SUCCEEDED');
      await eventually(
        () => (processesRunning(['sleep', naps.exit]).length === 0 ? true : undefined),
        'the daemons of an ended job to die',
      );

      const cancelled = await run('attacker', `setsid sleep ${naps.cancel} &\nsleep ${naps.cancel}\n`);
      await eventually(
        () => (processesRunning(['sleep', naps.cancel]).length === 2 ? true : undefined),
        'both sleeps to run',
      );
      await api('attacker', 'GET', `/job-executions/${cancelled}/cancel`);
      assert.equal((await ended('attacker', cancelled)).info.status, 'KILLED');
      await eventually(
        () => (processesRunning(['sleep', naps.cancel]).length === 0 ? true : undefined),
        'a cancelled job to leave nothing',
      );

      const deleted = await run('attacker', `setsid sleep ${naps.delete} &\nsleep ${naps.delete}\n`);
      await eventually(
        () => (processesRunning(['sleep', naps.delete]).length === 2 ? true : undefined),
        'both sleeps to run',
      );
      const removed = await api('attacker', 'DELETE', `/job-executions/${deleted}`);
      assert.equal(removed.status, 204);
      await eventually(
        () => (processesRunning(['sleep', naps.delete]).length === 0 ? true : undefined),
        'a deleted job to leave nothing',
      );
    });

    test("the data dir, the database and every execution's files are Oasis's alone", async () => {
      const dataDir = path.join(root, 'data');
      const id = await run('attacker', 'echo private\n');
      await ended('attacker', id);
      const mode = async (file: string) => (await stat(file)).mode & 0o777;
      assert.equal(await mode(dataDir), 0o700);
      assert.equal(await mode(path.join(dataDir, 'executions')), 0o700);
      assert.equal(await mode(path.join(dataDir, 'executions', id)), 0o700);
      assert.equal(await mode(path.join(dataDir, 'executions', id, 'stdout')), 0o600);
      if (dialect === 'sqlite') {
        const files = (await readdir(dataDir)).filter((name) => name.startsWith('oasis.db'));
        assert.ok(files.includes('oasis.db-wal'), files.join(', '));
        for (const file of files) assert.equal(await mode(path.join(dataDir, file)), 0o600, file);
      }
    });
  });
}

for (const kind of ['bubblewrap', 'unshare'] as const)
  describe(`the job sandbox (${kind}): per-job limits end the job with the reason`, () => {
    const limits = { OASIS_JOB_MAX_OUTPUT: '4MiB', OASIS_JOB_MAX_DISK: '2MiB', OASIS_JOB_MAX_MEMORY: '64MiB' };
    let workDir: string;
    let engine: Engine;
    let offline: Engine;
    let listener: Server;
    let port: number;

    before(async () => {
      workDir = await mkdtemp(path.join(tmpdir(), 'oasis-limits-'));
      const env = { OASIS_SANDBOX: kind, OASIS_JOB_MAX_PROCESSES: '32', OASIS_JOB_MAX_OPEN_FILES: '32', ...limits };
      const sandbox = createSandbox(sandboxOptions(env));
      engine = await createLocalEngine({
        workDir: path.join(workDir, 'on'),
        nodeId: 'limits',
        killGraceMs: 500,
        sandbox,
      });
      const closed = createSandbox(sandboxOptions({ ...env, OASIS_JOB_NETWORK: 'off' }));
      offline = await createLocalEngine({
        workDir: path.join(workDir, 'off'),
        nodeId: 'limits',
        killGraceMs: 500,
        sandbox: closed,
      });
      listener = createServer((socket) => socket.end('hello from the host\n'));
      await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
      port = (listener.address() as { port: number }).port;
    });
    after(async () => {
      await engine.close();
      await offline.close();
      listener.close();
      await rm(workDir, { recursive: true, force: true });
    });

    const ends = async (script: string, through = engine) => {
      const job = shellJob(script);
      const submission = await through.submit(job, cluster);
      const status = await finalStatus(through, {
        executionId: job.executionId,
        engineJobId: submission.engineJobId,
        extra: submission.extra,
      });
      return { status, job };
    };

    test('output beyond OASIS_JOB_MAX_OUTPUT stops the job, and the file stops at the limit', async () => {
      const { status, job } = await ends('head -c 6000000 /dev/zero\necho never\n');
      assert.equal(status.status, 'DONEWITHERROR');
      assert.match(String(status.info?.reason), /OASIS_JOB_MAX_OUTPUT, 4 MiB/);
      assert.equal((await stat(path.join(workDir, 'on', job.executionId, 'stdout'))).size, 4 * 1024 * 1024);
    });

    test('a full working directory (OASIS_JOB_MAX_DISK) is the reason', async () => {
      const { status } = await ends('head -c 3000000 /dev/zero > big\n');
      assert.equal(status.status, 'DONEWITHERROR');
      assert.match(String(status.info?.reason), /OASIS_JOB_MAX_DISK/);
    });

    test('memory beyond OASIS_JOB_MAX_MEMORY is the reason', async () => {
      const { status } = await ends(`perl -e '$x = "a" x (256 * 1024 * 1024); print length $x'\n`);
      assert.equal(status.status, 'DONEWITHERROR');
      assert.match(String(status.info?.reason), /OASIS_JOB_MAX_MEMORY/);
    });

    test('a fork bomb stops at OASIS_JOB_MAX_PROCESSES', async () => {
      const { status } = await ends('for i in $(seq 100); do sleep 3 & done\nwait\n');
      assert.equal(status.status, 'DONEWITHERROR');
      assert.match(String(status.info?.reason), /OASIS_JOB_MAX_PROCESSES, 32/);
    });

    test('open files beyond OASIS_JOB_MAX_OPEN_FILES are the reason', async () => {
      const { status } = await ends(
        `perl -e 'for (1..100) { open(my $f, "<", "/etc/passwd") or die "open: $!\\n"; push @f, $f }'\n`,
      );
      assert.equal(status.status, 'DONEWITHERROR');
      assert.match(String(status.info?.reason), /OASIS_JOB_MAX_OPEN_FILES, 32/);
    });

    test('the network is on by default, and off when the operator turns it off', async () => {
      const connect = `perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new("127.0.0.1:${port}") or die "connect: $!\\n"; print <$s>'\n`;
      const online = await ends(connect);
      assert.equal(online.status.status, 'SUCCEEDED');
      assert.equal((await output(path.join(workDir, 'on'), online.job.executionId)).stdout, 'hello from the host\n');
      const cut = await ends(connect, offline);
      assert.equal(cut.status.status, 'DONEWITHERROR');
    });
  });
