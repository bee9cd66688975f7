import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';

import { InvalidJob } from '../../../src/engines/errors.js';
import { JobStartError, type EngineStatus } from '../../../src/engines/engine.js';
import {
  binary,
  cluster,
  engineFixture,
  eventually,
  finalStatus,
  output,
  processGone,
  shellJob,
  type EngineFixture,
} from './helpers.js';
import { UnconfinedSandbox } from '../../../src/engines/sandbox/unconfined.js';
import { processesRunning } from '../../support/sandbox.js';

describe('local engine: Shell jobs', () => {
  let fx: EngineFixture;
  beforeEach(async () => {
    fx = await engineFixture();
  });
  afterEach(async () => {
    await fx.dispose();
  });

  it('runs the main script with args as positional parameters and params as environment', async () => {
    const job = shellJob(
      'echo "args:$#:$1:$2"\necho "param:$GREETING"\necho "lib:$(cat helper.txt)"\necho oops >&2\n',
      {
        args: ['first', 'second arg'],
        params: { GREETING: 'hello world' },
        libs: [binary('helper.txt', 'from the lib')],
      },
    );
    const ref = await fx.submit(job);
    assert.match(ref.engineJobId, /^\d+@test-node$/);
    assert.equal(ref.extra.node, 'test-node');

    const status = await finalStatus(fx.engine, ref);
    assert.equal(status.status, 'SUCCEEDED');
    assert.equal(status.returnCode, 0);
    const { stdout, stderr } = await output(fx.workDir, job.executionId);
    assert.equal(stdout, 'args:2:first:second arg\nparam:hello world\nlib:from the lib\n');
    assert.equal(stderr, 'oops\n');
  });

  it('gives the job a minimal environment, its own working directory as cwd and HOME, and keeps its files private', async () => {
    process.env.OASIS_SECRET_FOR_TEST = 'must-not-leak';
    try {
      const job = shellJob('pwd\necho "home=$HOME"\necho "secret=${OASIS_SECRET_FOR_TEST:-unset}"\n');
      const ref = await fx.submit(job);
      assert.equal((await finalStatus(fx.engine, ref)).status, 'SUCCEEDED');
      const dir = path.join(fx.workDir, job.executionId);
      assert.equal((await stat(dir)).mode & 0o777, 0o700);
      const { stdout } = await output(fx.workDir, job.executionId);
      assert.equal(stdout, '/job\nhome=/job\nsecret=unset\n');
    } finally {
      delete process.env.OASIS_SECRET_FOR_TEST;
    }
  });

  it('reports a non-zero exit as DONEWITHERROR with the exit code', async () => {
    const ref = await fx.submit(shellJob('echo failing\nexit 7\n'));
    const status = await finalStatus(fx.engine, ref);
    assert.equal(status.status, 'DONEWITHERROR');
    assert.equal(status.returnCode, 7);
    assert.equal(status.info?.exit_code, 7);
  });

  it('reports the end through onStatusChange', async () => {
    const seen: Array<[string, EngineStatus]> = [];
    fx.engine.onStatusChange?.((executionId, status) => seen.push([executionId, status]));
    const job = shellJob('exit 3\n');
    await fx.submit(job);
    const [executionId, status] = await eventually(() => seen[0], 'the status listener');
    assert.equal(executionId, job.executionId);
    assert.equal(status.status, 'DONEWITHERROR');
    assert.equal(status.returnCode, 3);
    assert.equal(seen.length, 1);
  });

  it('passes shell metacharacters in args and params literally, executing nothing', async () => {
    const marker = path.join(fx.workDir, 'pwned');
    const hostile = [
      `$(touch ${marker})`,
      `; touch ${marker}; rm -rf /nonexistent`,
      `\`touch ${marker}\``,
      '*',
      '"\'\\',
    ];
    const job = shellJob('for a in "$@"; do printf "%s\\n" "$a"; done\nprintf "%s\\n" "$EVIL"\n', {
      args: hostile,
      params: { EVIL: `$(touch ${marker}) \`touch ${marker}\`` },
    });
    const ref = await fx.submit(job);
    assert.equal((await finalStatus(fx.engine, ref)).status, 'SUCCEEDED');
    const { stdout } = await output(fx.workDir, job.executionId);
    assert.equal(stdout, [...hostile, `$(touch ${marker}) \`touch ${marker}\``].map((line) => `${line}\n`).join(''));
    assert.equal(existsSync(marker), false);
  });

  it('cancels a running job: the whole process group dies and the status is KILLED', async () => {
    const sleep = ['sleep', `600.${process.pid}`];
    const job = shellJob(`${sleep.join(' ')} &\nwait\n`);
    const ref = await fx.submit(job);
    const grandchild = await eventually(() => processesRunning(sleep)[0], 'the grandchild sleep');
    assert.equal((await fx.engine.status(ref, cluster)).status, 'RUNNING');

    const seen: EngineStatus[] = [];
    fx.engine.onStatusChange?.((_, status) => seen.push(status));
    const cancelled = await fx.engine.cancel(ref, cluster);
    assert.equal(cancelled?.status ?? 'KILLED', 'KILLED');
    const final = await finalStatus(fx.engine, ref);
    assert.equal(final.status, 'KILLED');
    // SIGTERM sufficed: the launcher outlived the job and recorded its death by signal 15.
    assert.equal(final.returnCode, 143);
    await eventually(() => (processGone(grandchild) ? true : undefined), 'the grandchild sleep to die');
    await eventually(() => (processGone(Number(ref.extra.pid)) ? true : undefined), 'the launcher to die');
    assert.equal((await eventually(() => seen[0], 'the KILLED notification')).status, 'KILLED');
  });

  it('SIGKILLs a job that ignores SIGTERM once the grace time has passed', async () => {
    const job = shellJob("trap '' TERM\necho ready\nwhile :; do sleep 1; done\n");
    const ref = await fx.submit(job);
    await eventually(async () => ((await output(fx.workDir, job.executionId)).stdout ? true : undefined), 'the trap');
    await fx.engine.cancel(ref, cluster);
    const status = await finalStatus(fx.engine, ref);
    assert.equal(status.status, 'KILLED');
    // SIGKILL took the launcher too, so no exit code was recorded.
    assert.equal(status.returnCode, null);
    await eventually(() => (processGone(Number(ref.extra.pid)) ? true : undefined), 'the job to die');
  });

  it('answers the real status when cancelling a job that already ended', async () => {
    const ref = await fx.submit(shellJob('exit 0\n'));
    await finalStatus(fx.engine, ref);
    const status = await fx.engine.cancel(ref, cluster);
    assert.equal(status?.status, 'SUCCEEDED');
  });

  it('cleanup kills what runs and removes the working directory, twice without harm', async () => {
    const job = shellJob('sleep 600\n');
    const ref = await fx.submit(job);
    const dir = path.join(fx.workDir, job.executionId);
    assert.ok(existsSync(dir));
    await fx.engine.cleanup(ref, cluster);
    assert.equal(existsSync(dir), false);
    await eventually(() => (processGone(Number(ref.extra.pid)) ? true : undefined), 'the job to die');
    await fx.engine.cleanup(ref, cluster);
  });
});

describe('local engine: validation and staging', () => {
  let fx: EngineFixture;
  beforeEach(async () => {
    fx = await engineFixture();
  });
  afterEach(async () => {
    await fx.dispose();
  });

  const invalidData = (error: unknown): boolean => error instanceof InvalidJob;

  it('runs Shell and Java and nothing else', () => {
    assert.deepEqual(fx.engine.supportedJobTypes(cluster), ['Shell', 'Java']);
    assert.throws(() => fx.engine.validate(shellJob('', { jobType: 'Pig' }), cluster), invalidData);
  });

  it('accepts only internal-db:// binaries', () => {
    const job = shellJob('', { mains: [{ ...binary('main.sh', ''), url: 'swift://container/main.sh' }] });
    assert.throws(
      () => fx.engine.validate(job, cluster),
      (error: unknown) => invalidData(error) && /only internal-db:\/\/ binaries/.test((error as Error).message),
    );
  });

  it('refuses binary names that could leave the working directory', async () => {
    for (const name of ['../x', 'a/b', '..', '.', '', 'stdout', 'result']) {
      const job = shellJob('echo hi\n', { libs: [binary(name, 'x')] });
      assert.throws(() => fx.engine.validate(job, cluster), invalidData, `validate '${name}'`);
      await assert.rejects(fx.submit(job), JobStartError, `submit '${name}'`);
      assert.equal(existsSync(path.join(fx.workDir, job.executionId)), false);
    }
    assert.equal(existsSync(path.join(path.dirname(fx.workDir), 'x')), false);
  });

  it('refuses params that are not environment variable names', () => {
    const job = shellJob('', { params: { 'BAD-NAME': 'x' } });
    assert.throws(() => fx.engine.validate(job, cluster), invalidData);
    fx.engine.validate(shellJob('', { params: { _Good_1: 'x' } }), cluster);
  });

  it('reports the cluster Active', async () => {
    assert.equal((await fx.engine.checkCluster(cluster)).status, 'Active');
  });
});

describe('local engine: jobs that end at once', () => {
  let fx: EngineFixture;
  beforeEach(async () => {
    // Unconfined, a trivial job ends within the submit that starts it: the case to prove.
    fx = await engineFixture(500, new UnconfinedSandbox());
  });
  afterEach(async () => {
    await fx.dispose();
  });

  it('reports the end of every job, even one that ended before its submit returned', async () => {
    const reported = new Map<string, EngineStatus>();
    fx.engine.onStatusChange!((executionId, status) => reported.set(executionId, status));
    const jobs = Array.from({ length: 30 }, () => shellJob('exit 0\n'));
    for (const job of jobs) await fx.submit(job);
    // Only the end report is waited for: the engine's status poll skips its own children.
    await eventually(() => jobs.every((job) => reported.has(job.executionId)), 'an end report for every job');
    for (const job of jobs) assert.equal(reported.get(job.executionId)?.status, 'SUCCEEDED');
  });
});
