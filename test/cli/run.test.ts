import assert from 'node:assert/strict';
import path from 'node:path';
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

async function executionsOf(project: string): Promise<Array<{ id: string; info: { status: string } }>> {
  const response = await fetch(`${oasis.url}/v1.1/${project}/job-executions`);
  return ((await response.json()) as { job_executions: Array<{ id: string; info: { status: string } }> })
    .job_executions;
}

describe('oasis run', () => {
  it('runs a script with its arguments and parameters, prints its output and exits 0', async () => {
    const project = newProject();
    const hello = await script('hello.sh', 'echo "hello $1 from $GREETING"\necho "args: $#" >&2\n');
    const result = await cli(
      ['run', '--param', 'GREETING=oasis', hello, 'world', '--not-an-option'],
      clientEnv(oasis.url, project),
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'hello world from oasis\n');
    assert.match(result.stderr, /args: 2/);
    const [execution] = await executionsOf(project);
    assert.equal(execution?.info.status, 'SUCCEEDED');
  });

  it("exits with a failing script's own exit code, its standard error on stderr", async () => {
    const project = newProject();
    const failing = await script('fail.sh', 'echo partial\necho "broken pipe" >&2\nexit 3\n');
    const result = await cli(['run', '--cluster', 'local', failing], clientEnv(oasis.url, project));
    assert.equal(result.code, 3);
    assert.equal(result.stdout, 'partial\n');
    assert.match(result.stderr, /broken pipe/);
    const [execution] = await executionsOf(project);
    assert.equal(execution?.info.status, 'DONEWITHERROR');
  });

  it('prints output live, while the job is still running', async () => {
    const project = newProject();
    const gate = newGate();
    const gated = await script('gated.sh', gatedScript('first', 'second'));
    const run = startCli(['run', gated, gate.dir], clientEnv(oasis.url, project));
    await waitForText(run.stdout, 'first\n', 'the first line before the job ends');
    // The job waits for the gate: what was printed came while it ran.
    const [execution] = await executionsOf(project);
    assert.ok(['PENDING', 'RUNNING'].includes(execution!.info.status), execution!.info.status);
    assert.equal(run.stdout(), 'first\n');
    await gate.open();
    const result = await run.exited;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'first\nsecond\n');
  });

  it('cancels the execution on Ctrl-C and exits 130 once it is KILLED', async () => {
    const project = newProject();
    const gate = newGate();
    const gated = await script('never.sh', gatedScript('started', 'never printed'));
    const run = startCli(['run', gated, gate.dir], clientEnv(oasis.url, project));
    await waitForText(run.stdout, 'started\n', 'the job to start');
    run.child.kill('SIGINT');
    const result = await run.exited;
    assert.equal(result.code, 130, result.stderr);
    const [execution] = await executionsOf(project);
    assert.equal(execution?.info.status, 'KILLED');
  });

  it('with --detach prints the execution id and leaves the job running; --json prints the final execution', async () => {
    const project = newProject();
    const hello = await script('detached.sh', 'echo detached\n');
    const detached = await cli(['run', '--detach', hello], clientEnv(oasis.url, project));
    assert.equal(detached.code, 0, detached.stderr);
    const id = detached.stdout.trim();
    assert.match(id, /^[0-9a-f-]{36}$/);
    await eventually(
      async () => ((await executionsOf(project))[0]?.info.status === 'SUCCEEDED' ? true : undefined),
      'the detached job to end',
    );

    const json = await cli(['run', '--json', hello], clientEnv(oasis.url, project));
    assert.equal(json.code, 0, json.stderr);
    const execution = JSON.parse(json.stdout) as { info: { status: string }; return_code: string };
    assert.equal(execution.info.status, 'SUCCEEDED');
    assert.equal(execution.return_code, '0');
  });

  it('refuses what it cannot run, clearly and with a non-zero code', async () => {
    const env = clientEnv(oasis.url, newProject());
    const jar = await script('app.jar', 'not a script');
    const wrongType = await cli(['run', jar], env);
    assert.equal(wrongType.code, 2);
    assert.match(wrongType.stderr, /runs shell scripts \(\.sh\)/);

    const hello = await script('nowhere.sh', 'echo hi\n');
    const noCluster = await cli(['run', '--cluster', 'nowhere', hello], env);
    assert.equal(noCluster.code, 125);
    assert.match(noCluster.stderr, /no cluster "nowhere"; this project sees: local/);

    const missing = await cli(['run', path.join(path.dirname(hello), 'missing.sh')], env);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read .*missing\.sh: ENOENT/);
  });
});
