import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../support/eventually.js';
import { newProject } from '../support/resources.js';
import { type OasisProcess, startOasis } from '../support/server.js';
import { cli, clientEnv, gatedScript, newGate, script, startCli, waitForText } from './support.js';

let oasis: OasisProcess;

before(async () => {
  oasis = await startOasis();
});
after(() => oasis.stop());

/** A port nothing listens on: one the system just handed out and took back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Row {
  id: string;
  created_at: string;
  info: { status: string };
  return_code: string | null;
  job_configs: { args: string[] };
}

/** An execution's status read straight from the API (undefined once it is gone). */
async function statusOf(env: Record<string, string>, id: string): Promise<string | undefined> {
  const response = await fetch(`${env.OASIS_URL}/v1.1/${env.OASIS_PROJECT}/job-executions/${id}`);
  if (response.status === 404) return undefined;
  return ((await response.json()) as { job_execution: Row }).job_execution.info.status;
}

/** Runs a script to its end through `oasis run --json` and answers its execution. */
async function ran(env: Record<string, string>, file: string, ...args: string[]): Promise<Row> {
  const result = await cli(['run', '--json', file, ...args], env);
  return JSON.parse(result.stdout) as Row;
}

/** Starts a gated job in the background and answers its execution id once it runs. */
async function running(env: Record<string, string>, file: string, gateDir: string): Promise<string> {
  const result = await cli(['run', '--detach', file, gateDir], env);
  assert.equal(result.code, 0, result.stderr);
  const id = result.stdout.trim();
  await eventually(async () => ((await statusOf(env, id)) === 'RUNNING' ? true : undefined), 'the job to run');
  return id;
}

describe('oasis list', () => {
  it('lists the project’s executions newest first, filtered by status and cluster, as a table or JSON', async () => {
    const env = clientEnv(oasis.url, newProject());
    const ok = await ran(env, await script('ok.sh', 'echo ok\n'));
    const failed = await ran(env, await script('ko.sh', 'exit 4\n'));

    const table = await cli(['list'], env);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trim().split('\n');
    assert.match(lines[0]!, /^ID\s+STATUS\s+RC\s+JOB\s+CLUSTER\s+STARTED\s+ENDED$/);
    assert.equal(lines.length, 3);
    // Newest first; the API's times have whole seconds, so two jobs of one second may come either way.
    const failedLine = lines.findIndex((line) => line.startsWith(failed.id));
    const okLine = lines.findIndex((line) => line.startsWith(ok.id));
    assert.match(lines[failedLine]!, /^\S+\s+DONEWITHERROR\s+4\s+ko-[0-9a-f]{8}\s+local/);
    assert.match(lines[okLine]!, /^\S+\s+SUCCEEDED\s+0\s+ok-[0-9a-f]{8}\s+local/);
    if (failed.created_at.slice(0, 19) !== ok.created_at.slice(0, 19)) assert.ok(failedLine < okLine, 'newest first');

    const succeeded = JSON.parse((await cli(['list', '--json', '--status', 'succeeded'], env)).stdout) as Row[];
    assert.deepEqual(
      succeeded.map((row) => row.id),
      [ok.id],
    );
    const onLocal = JSON.parse((await cli(['list', '--json', '--cluster', 'local'], env)).stdout) as Row[];
    assert.equal(onLocal.length, 2);
    // --limit keeps the first rows of the list (newest first; see the table above for ties).
    const limited = JSON.parse((await cli(['list', '--json', '--limit', '1'], env)).stdout) as Row[];
    assert.deepEqual(
      limited.map((row) => row.id),
      [onLocal[0]!.id],
    );
    if (failed.created_at.slice(0, 19) !== ok.created_at.slice(0, 19)) assert.equal(limited[0]!.id, failed.id);

    const unknown = await cli(['list', '--cluster', 'nowhere'], env);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no cluster named "nowhere"/);
  });

  it('fits the table to a narrow terminal by leaving columns out', async () => {
    const { table } = await import('../../src/cli/output.js');
    const rows = [{ id: 'a'.repeat(36), job: 'a-rather-long-template-name', started: '2026-01-01T00:00:00' }];
    const columns = [
      { title: 'ID', value: (r: (typeof rows)[0]) => r.id },
      { title: 'JOB', value: (r: (typeof rows)[0]) => r.job, shrinks: true },
      { title: 'STARTED', value: (r: (typeof rows)[0]) => r.started, drop: 1 },
    ];
    const wide = table(rows, columns, 200);
    assert.match(wide, /STARTED/);
    const narrow = table(rows, columns, 60);
    assert.doesNotMatch(narrow, /STARTED/);
    assert.ok(
      narrow.split('\n').every((line) => line.length <= 60),
      narrow,
    );
    assert.match(narrow, /a-rather-long-templ[a-z]*…$/);
  });
});

describe('oasis show, logs, cancel and delete', () => {
  it('shows an execution as text and as JSON', async () => {
    const env = clientEnv(oasis.url, newProject());
    const execution = await ran(env, await script('show.sh', 'exit 0\n'), 'one', 'two');
    const text = await cli(['show', execution.id], env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^id:\\s+${execution.id}$`, 'm'));
    assert.match(text.stdout, /^status:\s+SUCCEEDED$/m);
    assert.match(text.stdout, /^return code:\s+0$/m);
    assert.match(text.stdout, /^template:\s+show-[0-9a-f]{8} \(Shell, /m);
    assert.match(text.stdout, /^cluster:\s+local \(/m);
    assert.match(text.stdout, /^args:\s+\["one","two"\]$/m);
    const json = JSON.parse((await cli(['show', '--json', execution.id], env)).stdout) as Row;
    assert.deepEqual(json.job_configs.args, ['one', 'two']);
  });

  it('prints a finished job’s stdout or stderr, and follows a running job’s to its end', async () => {
    const env = clientEnv(oasis.url, newProject());
    const execution = await ran(env, await script('logs.sh', 'echo out-line\necho err-line >&2\n'));
    assert.deepEqual(await cli(['logs', execution.id], env), { code: 0, stdout: 'out-line\n', stderr: '' });
    assert.deepEqual(await cli(['logs', '--stderr', execution.id], env), { code: 0, stdout: 'err-line\n', stderr: '' });

    const gate = newGate();
    const id = await running(env, await script('follow.sh', gatedScript('early', 'late')), gate.dir);
    const follow = startCli(['logs', '-f', id], env);
    await waitForText(follow.stdout, 'early\n', 'the running job’s first line');
    await gate.open();
    const result = await follow.exited;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'early\nlate\n');
  });

  it('cancels a running execution, which ends KILLED', async () => {
    const env = clientEnv(oasis.url, newProject());
    const id = await running(env, await script('cancel.sh', gatedScript('waiting', 'never')), newGate().dir);
    const result = await cli(['cancel', id], env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^${id} (TOBEKILLED|KILLED)\\n$`));
    await eventually(
      async () => ((await statusOf(env, id)) === 'KILLED' ? true : undefined),
      'the cancelled job to end KILLED',
    );
  });

  it('deletes an execution; afterwards it is not found, with Sahara’s message and exit code 1', async () => {
    const env = clientEnv(oasis.url, newProject());
    const execution = await ran(env, await script('delete.sh', 'exit 0\n'));
    assert.deepEqual(await cli(['delete', execution.id], env), {
      code: 0,
      stdout: `${execution.id} deleted\n`,
      stderr: '',
    });
    await eventually(
      async () => ((await statusOf(env, execution.id)) === undefined ? true : undefined),
      'the row to go',
    );
    const gone = await cli(['show', execution.id], env);
    assert.match(gone.stderr, /^oasis show: Object with \{'id': '[0-9a-f-]+'\} not found/);
  });
});

describe('oasis command line', () => {
  it('has --help for every command', async () => {
    const top = await cli(['--help']);
    assert.equal(top.code, 0);
    const commands = ['run', 'list', 'show', 'logs', 'cancel', 'delete'];
    const helps = await Promise.all(commands.map((command) => cli([command, '--help'])));
    commands.forEach((command, i) => {
      assert.match(top.stdout, new RegExp(`^  ${command}\\s`, 'm'));
      assert.equal(helps[i]!.code, 0, helps[i]!.stderr);
      assert.match(helps[i]!.stdout, new RegExp(`^usage: oasis ${command} `));
      assert.match(helps[i]!.stdout, /OASIS_PROJECT/);
    });
  });

  it('says what is wrong and exits non-zero: usage, no project, an unreachable Oasis, an unknown command', async () => {
    const noProject = await cli(['list'], { OASIS_URL: oasis.url });
    assert.equal(noProject.code, 2);
    assert.match(noProject.stderr, /no project: set OASIS_PROJECT or pass --project/);

    const badOption = await cli(['list', '--bogus'], clientEnv(oasis.url, 'p'));
    assert.equal(badOption.code, 2);
    assert.match(badOption.stderr, /unknown option --bogus/);

    const closed = await closedPort();
    const unreachable = await cli(['list', '--url', `http://127.0.0.1:${closed}`, '--project', 'p']);
    assert.equal(unreachable.code, 1);
    assert.match(
      unreachable.stderr,
      new RegExp(`cannot reach Oasis at http://127\\.0\\.0\\.1:${closed}: ECONNREFUSED`),
    );

    const unknown = await cli(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
  });
});
