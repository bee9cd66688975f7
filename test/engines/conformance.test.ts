import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { EngineJobRef, EngineStatus, JobSpec, Submission } from '../../src/engines/engine.js';
import { isTerminal } from '../../src/store/statuses.js';
import { eventually } from '../support/eventually.js';
import {
  localSubject,
  sparkClientSubject,
  sparkClusterSubject,
  yarnSubject,
  type ConformanceSubject,
} from './conformance-support.js';
import { SKIP_REASON as NO_SPARK, sparkCluster } from './spark/support.js';
import { hadoopCluster } from './yarn/support.js';

/**
 * Every engine, on its real cluster, held to the same Engine contract (src/engines/engine.ts):
 * submit is idempotent per execution, cancel and cleanup can be repeated and come after the
 * end, and a succeeding, a failing and a cancelled job end with the statuses their mapping
 * promises. Small jobs, every case of every engine at once.
 */
const spark = sparkCluster();
const hadoop = await hadoopCluster();
const NO_HADOOP = 'no Hadoop test cluster (source scripts/hadoop.sh)';
const JOB_DEADLINE_MS = 240_000;

const SUBJECTS: { name: string; skip: string | false; open: () => Promise<ConformanceSubject> }[] = [
  { name: 'local', skip: false, open: localSubject },
  { name: 'spark (client mode)', skip: spark ? false : NO_SPARK, open: () => sparkClientSubject(spark!) },
  { name: 'spark (cluster mode)', skip: spark ? false : NO_SPARK, open: () => sparkClusterSubject(spark!) },
  { name: 'yarn', skip: hadoop ? false : NO_HADOOP, open: () => yarnSubject(hadoop!) },
];

const refOf = (job: JobSpec, submission: Submission): EngineJobRef => ({
  executionId: job.executionId,
  engineJobId: submission.engineJobId,
  extra: submission.extra,
});

function theEnd(subject: ConformanceSubject, ref: EngineJobRef): Promise<EngineStatus> {
  return eventually(
    async () => {
      const status = await subject.engine.status(ref, subject.cluster);
      return isTerminal(status.status) ? status : undefined;
    },
    `the end of ${subject.name} job ${ref.engineJobId}`,
    JOB_DEADLINE_MS,
  );
}

/** Cancel's answer, or the status it leads to when the kill is still under way. */
async function cancelled(subject: ConformanceSubject, ref: EngineJobRef): Promise<EngineStatus> {
  return (await subject.engine.cancel(ref, subject.cluster)) ?? theEnd(subject, ref);
}

describe('engine conformance', { concurrency: true }, () => {
  for (const entry of SUBJECTS) {
    describe(entry.name, { skip: entry.skip }, () => {
      let subject: ConformanceSubject;

      before(async () => {
        subject = await entry.open();
      });

      after(async () => {
        await subject?.dispose();
      });

      it('a succeeding job ends SUCCEEDED; submit, cancel and cleanup after the end change nothing', async () => {
        const { engine, cluster } = subject;
        const job = await subject.succeeding();
        const submission = await engine.submit(job, cluster);
        const ref = refOf(job, submission);
        const end = await theEnd(subject, ref);
        assert.equal(end.status, 'SUCCEEDED', JSON.stringify(end.info));

        const again = await engine.submit(job, cluster);
        assert.equal(again.engineJobId, submission.engineJobId, 'a finished job is found again, not run twice');
        assert.equal(again.status.status, 'SUCCEEDED');
        assert.equal((await cancelled(subject, ref)).status, 'SUCCEEDED', 'cancel after the end reports the end');
        await engine.cleanup(ref, cluster);
        await engine.cleanup(ref, cluster);
      });

      it("a failing job ends with its engine's failure status", async () => {
        const { engine, cluster } = subject;
        const job = await subject.failing();
        const ref = refOf(job, await engine.submit(job, cluster));
        const end = await theEnd(subject, ref);
        assert.equal(end.status, subject.failedStatus, JSON.stringify(end.info));
        await engine.cleanup(ref, cluster);
      });

      it('submit is idempotent per execution; a cancelled job ends KILLED; cancel and cleanup repeat', async () => {
        const { engine, cluster } = subject;
        const job = await subject.long();
        const first = await engine.submit(job, cluster);
        const ref = refOf(job, first);
        try {
          const second = await engine.submit(job, cluster);
          assert.equal(second.engineJobId, first.engineJobId, 'the same execution is one job');
          assert.equal(isTerminal(second.status.status), false, JSON.stringify(second.status));

          assert.equal((await cancelled(subject, ref)).status, 'KILLED');
          assert.equal((await cancelled(subject, ref)).status, 'KILLED', 'a second cancel reports the same end');
          assert.equal((await engine.status(ref, cluster)).status, 'KILLED');
        } finally {
          await engine.cleanup(ref, cluster);
          await engine.cleanup(ref, cluster);
        }
      });
    });
  }
});
