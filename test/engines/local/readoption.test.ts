import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { TransientEngineError, type EngineStatus } from '../../../src/engines/engine.js';
import { createLocalEngine } from '../../../src/engines/local/index.js';
import { readExitCode } from '../../../src/engines/processes/workdir.js';
import {
  cluster,
  engineFixture,
  eventually,
  finalStatus,
  output,
  processGone,
  shellJob,
  type EngineFixture,
} from './helpers.js';
import { exchangeDir, jobSandbox } from '../../support/sandbox.js';

let gates = 0;
/** A job that runs until the test opens its gate (see `open`), then exits 5. */
function gatedJob(): { job: ReturnType<typeof shellJob>; script: string; open: () => Promise<void> } {
  gates += 1;
  const gate = path.join(exchangeDir(), `go-${process.pid}-${gates}`);
  const script = `echo started\nwhile [ ! -e '${gate}' ]; do sleep 0.1; done\necho finishing\nexit 5\n`;
  return { job: shellJob(script), script, open: () => writeFile(gate, '') };
}

describe('local engine: a restarted Oasis re-adopts its jobs', () => {
  let fx: EngineFixture;
  beforeEach(async () => {
    fx = await engineFixture();
  });
  afterEach(async () => {
    await fx.dispose();
  });

  it('finds the exit code a job recorded while no engine instance was running', async () => {
    const { job, open } = gatedJob();
    const ref = await fx.submit(job);
    const dir = path.join(fx.workDir, job.executionId);
    const record = JSON.parse(await readFile(path.join(dir, 'job.json'), 'utf8'));
    assert.equal(record.pid, ref.extra.pid);
    assert.equal(record.starttime, ref.extra.starttime);
    assert.equal(record.node, 'test-node');
    // The job's own argv comes last, as the job sees it: its working directory is /job.
    assert.deepEqual(record.command.slice(-2), ['/bin/sh', '/job/main.sh']);

    await fx.engine.close();
    await open();
    await eventually(
      async () => ((await readExitCode(dir)) === undefined ? undefined : true),
      'the recorded exit code',
    );

    const restarted = await fx.newEngine();
    const status = await restarted.status(ref, cluster);
    assert.equal(status.status, 'DONEWITHERROR');
    assert.equal(status.returnCode, 5);
    assert.equal((await output(fx.workDir, job.executionId)).stdout, 'started\nfinishing\n');
  });

  it('survives a kill -9 of the Oasis process that started it', async () => {
    const { job, script: jobScript, open } = gatedJob();
    const script = fileURLToPath(new URL('../../fixtures/local/submit-then-hang.ts', import.meta.url));
    const oasis = spawn(
      process.execPath,
      ['--import', 'tsx', script, fx.workDir, 'test-node', job.executionId, jobScript],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let printed = '';
    oasis.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    const ref = await eventually(() => (printed.includes('\n') ? JSON.parse(printed) : undefined), 'the ref');
    const exited = once(oasis, 'exit');
    oasis.kill('SIGKILL');
    await exited;

    await eventually(async () => ((await output(fx.workDir, job.executionId)).stdout ? true : undefined), 'output');
    await open();
    const restarted = await fx.newEngine();
    const status = await finalStatus(restarted, ref);
    assert.equal(status.status, 'DONEWITHERROR');
    assert.equal(status.returnCode, 5);
    assert.equal((await output(fx.workDir, job.executionId)).stdout, 'started\nfinishing\n');
    await restarted.cleanup(ref, cluster);
  });

  it('watches a re-adopted job and reports its end through onStatusChange', async () => {
    const { job, open } = gatedJob();
    const ref = await fx.submit(job);
    await fx.engine.close();

    const restarted = await fx.newEngine();
    const seen: Array<[string, EngineStatus]> = [];
    restarted.onStatusChange?.((executionId, status) => seen.push([executionId, status]));
    assert.equal((await restarted.status(ref, cluster)).status, 'RUNNING');
    await open();
    const [executionId, status] = await eventually(() => seen[0], 'the end of the re-adopted job');
    assert.equal(executionId, job.executionId);
    assert.equal(status.status, 'DONEWITHERROR');
    assert.equal(status.returnCode, 5);
  });

  it('cancels a job started by an earlier engine instance, from the ref alone', async () => {
    const job = shellJob('sleep 600\n');
    const ref = await fx.submit(job);
    await fx.engine.close();

    const restarted = await fx.newEngine();
    await restarted.cancel(ref, cluster);
    assert.equal((await finalStatus(restarted, ref)).status, 'KILLED');
    await eventually(() => (processGone(Number(ref.extra.pid)) ? true : undefined), 'the job to die');
  });

  it('reads the identity from job.json when the ref carries only the engine job id', async () => {
    const job = shellJob('exit 0\n');
    const ref = await fx.submit(job);
    await finalStatus(fx.engine, ref);
    const restarted = await fx.newEngine();
    const bare = { executionId: ref.executionId, engineJobId: ref.engineJobId, extra: {} };
    assert.equal((await restarted.status(bare, cluster)).status, 'SUCCEEDED');
  });

  it('reports FAILED when the process is gone without an exit code (as after a reboot)', async () => {
    const job = shellJob('exit 0\n');
    const ref = await fx.submit(job);
    await finalStatus(fx.engine, ref);
    await rm(path.join(fx.workDir, job.executionId, 'result'));
    const status = await (await fx.newEngine()).status(ref, cluster);
    assert.equal(status.status, 'FAILED');
    assert.match(String(status.info?.reason), /without recording an exit code/);
  });

  it('never mistakes a recycled pid for the job', async () => {
    const { job, open } = gatedJob();
    const ref = await fx.submit(job);
    // The same pid with another start time is another process: the job is over, not RUNNING.
    const forged = { ...ref, extra: { ...ref.extra, starttime: '1' } };
    assert.notEqual((await fx.engine.status(forged, cluster)).status, 'RUNNING');
    assert.equal((await fx.engine.status(ref, cluster)).status, 'RUNNING');
    await open();
    assert.equal((await finalStatus(fx.engine, ref)).returnCode, 5);
  });

  it('leaves jobs of another node to that node', async () => {
    const job = shellJob('exit 0\n');
    const ref = await fx.submit(job);
    const other = await createLocalEngine({
      workDir: fx.workDir,
      nodeId: 'other-node',
      killGraceMs: 500,
      sandbox: jobSandbox(),
    });
    await assert.rejects(other.status(ref, cluster), TransientEngineError);
    await other.close();
  });
});
