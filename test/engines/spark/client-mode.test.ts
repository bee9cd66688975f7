import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { Engine, EngineStatus } from '../../../src/engines/engine.js';
import { createSparkEngine } from '../../../src/engines/spark/index.js';
import type { ClusterRecord } from '../../../src/store/types.js';
import {
  SKIP_REASON,
  SMALL_APP,
  buildFixtures,
  clusterRecord,
  expectedCounts,
  jobFile,
  jobSpec,
  masterJson,
  pollUntil,
  readCounts,
  refOf,
  sparkCluster,
  untilTerminal,
  type Fixtures,
} from './support.js';
import { exchangeSubdir, jobSandbox } from '../../support/sandbox.js';

const cluster = sparkCluster();

describe(
  'spark engine: Python applications and Shell jobs in client mode',
  { skip: cluster ? false : SKIP_REASON },
  () => {
    let engine: Engine;
    let record: ClusterRecord;
    let fixtures: Fixtures;
    let scratch: string;
    const pushed: { executionId: string; status: EngineStatus }[] = [];

    before(async () => {
      if (!cluster) return;
      scratch = await mkdtemp(path.join(tmpdir(), 'oasis-spark-client-'));
      engine = createSparkEngine({
        workDir: path.join(scratch, 'work'),
        nodeId: 'node-a',
        killGraceMs: 3_000,
        sandbox: jobSandbox(),
      });
      engine.onStatusChange?.((executionId, status) => pushed.push({ executionId, status }));
      record = clusterRecord(cluster);
      fixtures = await buildFixtures(cluster);
    });

    after(async () => {
      await engine?.close();
      if (scratch) await rm(scratch, { recursive: true, force: true });
    });

    it('runs a Python word count with a py-files lib on the cluster executors', async () => {
      const text = 'to be or not to be\nthat is the question\n'.repeat(40);
      // The driver lists the input itself, so the data lies where sandboxed jobs may look.
      const data = exchangeSubdir('spark-words-');
      const input = path.join(data, 'words.txt');
      const output = path.join(data, 'counts');
      await writeFile(input, text);
      const job = jobSpec({
        mains: [jobFile(fixtures.python('wordcount.py'))],
        libs: [jobFile(fixtures.python('oasis_words.py'))],
        // The executors (the workers' user) write what the driver (the sandbox's user) then commits.
        configs: { ...SMALL_APP, 'spark.hadoop.fs.permissions.umask-mode': '000' },
        args: [`file://${input}`, `file://${output}`],
      });
      engine.validate(job, record);
      const submission = await engine.submit(job, record);
      assert.match(submission.engineJobId, /^\d+@node-a$/);
      assert.equal(submission.extra.mode, 'client');

      const ref = refOf(job, submission);
      const final = await untilTerminal(() => engine.status(ref, record));
      assert.equal(final.status, 'SUCCEEDED', JSON.stringify(final.info));
      assert.equal(final.returnCode, 0);
      assert.match(String(final.info?.app_id), /^app-/);
      assert.deepEqual(await readCounts(output), expectedCounts(text));
      // The end was pushed too, without waiting for a poll.
      await pollUntil(
        async () => pushed,
        (all) => all.some((entry) => entry.executionId === job.executionId),
      );

      await engine.cleanup(ref, record);
      await assert.rejects(stat(String(submission.extra.workdir)));
    });

    it('ends a failing Python application DONEWITHERROR with the Python error as the reason', async () => {
      const job = jobSpec({ mains: [jobFile(fixtures.python('fail.py'))], configs: SMALL_APP });
      const ref = refOf(job, await engine.submit(job, record));
      const final = await untilTerminal(() => engine.status(ref, record));
      assert.equal(final.status, 'DONEWITHERROR');
      assert.notEqual(final.returnCode, 0);
      assert.match(String(final.info?.reason), /RuntimeError: oasis python fixture failure/);
    });

    it('cancels a long Python application: KILLED, and the application leaves the master', async () => {
      const job = jobSpec({ mains: [jobFile(fixtures.python('sleeper.py'))], configs: SMALL_APP, args: ['600'] });
      const ref = refOf(job, await engine.submit(job, record));
      const running = await pollUntil(
        () => engine.status(ref, record),
        (status) => typeof status.info?.app_id === 'string',
      );
      const appId = String(running.info?.app_id);
      await pollUntil(
        () => masterJson(cluster!),
        (master) => master.activeapps.some((app) => app.id === appId),
      );

      const cancelled = (await engine.cancel(ref, record)) ?? (await untilTerminal(() => engine.status(ref, record)));
      assert.equal(cancelled.status, 'KILLED');
      await pollUntil(
        () => masterJson(cluster!),
        (master) => !master.activeapps.some((app) => app.id === appId),
      );
    });

    it("runs Shell jobs as Sahara's Spark plugin did: the script, its args, params as environment", async () => {
      const script = path.join(scratch, 'job.sh');
      const result = path.join(exchangeSubdir('spark-shell-'), 'shell-result.txt');
      await writeFile(script, 'printf "%s %s %s\\n" "$GREETING" "$1" "$2" > "$3"\n');
      const job = jobSpec({
        jobType: 'Shell',
        mains: [jobFile(script)],
        params: { GREETING: 'hello' },
        args: ['spark', 'shell; not a command', result],
      });
      const ref = refOf(job, await engine.submit(job, record));
      const final = await untilTerminal(() => engine.status(ref, record));
      assert.equal(final.status, 'SUCCEEDED', JSON.stringify(final.info));
      assert.equal(await readFile(result, 'utf8'), 'hello spark shell; not a command\n');
    });
  },
);
