import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { TransientEngineError, type Engine, type JobSpec, type Submission } from '../../src/engines/engine.js';
import { createSparkEngine } from '../../src/engines/spark/index.js';
import type { ClusterRecord } from '../../src/store/types.js';
import { eventually } from '../support/eventually.js';
import { jobSandbox } from '../support/sandbox.js';
import { startRestProxy, type ProxyMode } from '../engines/spark/rest-proxy.js';
import {
  SKIP_REASON,
  SMALL_APP,
  buildFixtures,
  clusterRecord,
  driversOfExecution,
  jobFile,
  jobSpec,
  masterJson,
  pollUntil,
  refOf,
  sparkCluster,
  untilTerminal,
  type Fixtures,
} from '../engines/spark/support.js';

const cluster = sparkCluster();
const MAIN_CLASS = 'org.oasis.fixtures.Sleeper';
const SUBMIT_TIMEOUT_MS = 1_000;

/** What the lifecycle does with a submit that throws TransientEngineError: ask again later. */
async function submitUntilAccepted(engine: Engine, job: JobSpec, record: ClusterRecord): Promise<Submission> {
  return eventually(
    async () => {
      try {
        return await engine.submit(job, record);
      } catch (error) {
        if (error instanceof TransientEngineError) return undefined;
        throw error;
      }
    },
    `execution ${job.executionId} to be accepted`,
    120_000,
  );
}

describe(
  'spark engine: a cluster-mode submit whose answer is lost or late starts one driver',
  { skip: cluster ? false : SKIP_REASON },
  () => {
    let fixtures: Fixtures;
    let scratch: string;
    const engines: Engine[] = [];
    const engineAt = (workDir: string): Engine => {
      const engine = createSparkEngine({
        workDir,
        nodeId: 'node-a',
        killGraceMs: 2_000,
        sandbox: jobSandbox(),
        submitTimeoutMs: SUBMIT_TIMEOUT_MS,
      });
      engines.push(engine);
      return engine;
    };

    before(async () => {
      if (!cluster) return;
      scratch = await mkdtemp(path.join(tmpdir(), 'oasis-spark-idempotent-'));
      fixtures = await buildFixtures(cluster);
    });

    after(async () => {
      for (const engine of engines) await engine.close();
      if (scratch) await rm(scratch, { recursive: true, force: true });
    });

    /**
     * Submits through a proxy that loses (or delays) the master's answer, then submits the same
     * execution again with `second` (the same engine, or a restarted one) straight to the master.
     */
    const loseFirstAnswer = async (mode: ProxyMode, restart: boolean) => {
      const workDir = path.join(scratch, `${mode}-${restart ? 'restart' : 'same'}`);
      const first = engineAt(workDir);
      const direct = clusterRecord(cluster!);
      const proxy = await startRestProxy(cluster!.restUrl, { mode, holdMs: SUBMIT_TIMEOUT_MS * 3 });
      const base = jobSpec({
        mains: [jobFile(fixtures.appJar)],
        configs: { ...SMALL_APP, 'edp.java.main_class': MAIN_CLASS },
        args: ['120'],
      });
      const job: JobSpec = { ...base, templateName: `idempotent-${base.executionId}` };
      try {
        await assert.rejects(first.submit(job, clusterRecord(cluster!, { rest_url: proxy.url })), TransientEngineError);
        await eventually(() => (proxy.lostAnswers > 0 ? true : undefined), 'the master to answer into the void');
      } finally {
        await proxy.close();
      }

      const second = restart ? engineAt(workDir) : first;
      try {
        const submission = await submitUntilAccepted(second, job, direct);
        const ref = refOf(job, submission);
        // Once the driver has registered its application, a second driver would have had time too.
        const running = await pollUntil(
          () => second.status(ref, direct),
          (status) => typeof status.info?.app_id === 'string' || status.status !== 'RUNNING',
        );
        assert.equal(running.status, 'RUNNING', JSON.stringify(running.info));

        const drivers = await driversOfExecution(cluster!, MAIN_CLASS, job.executionId);
        assert.deepEqual(
          drivers.map((driver) => driver.id),
          [submission.engineJobId],
        );
        const master = await masterJson(cluster!);
        assert.deepEqual(
          master.activeapps.filter((app) => app.id === running.info?.app_id).map((app) => app.state),
          ['RUNNING'],
        );

        // A third submit changes nothing either.
        assert.equal((await second.submit(job, direct)).engineJobId, submission.engineJobId);

        const cancelled = (await second.cancel(ref, direct)) ?? (await untilTerminal(() => second.status(ref, direct)));
        assert.equal(cancelled.status, 'KILLED', JSON.stringify(cancelled.info));
        await pollUntil(
          () => masterJson(cluster!),
          (state) => !state.activeapps.some((app) => app.id === running.info?.app_id),
        );
        await second.cleanup(ref, direct);
      } finally {
        // Whatever happened, leave nothing running on the shared cluster.
        for (const driver of await driversOfExecution(cluster!, MAIN_CLASS, job.executionId)) {
          await fetch(`${cluster!.restUrl}/v1/submissions/kill/${driver.id}`, { method: 'POST' });
        }
      }
    };

    it('an answer held past the submit timeout: the retry adopts the driver the master started', async () => {
      await loseFirstAnswer('hold', false);
    });

    it('a connection cut after the master accepted, then an Oasis restart: the new engine adopts the driver', async () => {
      await loseFirstAnswer('drop', true);
    });
  },
);
