import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { Engine } from '../../../src/engines/engine.js';
import { createSparkEngine } from '../../../src/engines/spark/index.js';
import type { ClusterRecord } from '../../../src/store/types.js';
import {
  SKIP_REASON,
  SMALL_APP,
  buildFixtures,
  clusterRecord,
  jobFile,
  jobSpec,
  masterJson,
  pollUntil,
  refOf,
  sparkCluster,
  untilTerminal,
  type Fixtures,
  type SparkTestCluster,
} from './support.js';
import { jobSandbox } from '../../support/sandbox.js';

const cluster = sparkCluster();

/** Worker memory only a dedicated worker has: a driver asking for more lands nowhere else. */
const DEDICATED_WORKER_MEMORY = '3g';
const DRIVER_MEMORY_ONLY_IT_FITS = '1500m';

/**
 * A third worker, in its own process group so that killing the group takes the worker and the
 * driver it runs down at once, like a lost machine, while the shared workers stay.
 */
async function startDedicatedWorker(spark: SparkTestCluster, workDir: string): Promise<ChildProcess> {
  await mkdir(workDir, { recursive: true });
  const before = new Set((await masterJson(spark)).workers.map((worker) => worker.id));
  const worker = spawn(
    path.join(spark.sparkHome, 'bin', 'spark-class'),
    [
      'org.apache.spark.deploy.worker.Worker',
      ...['--host', '127.0.0.1', '--port', '0', '--webui-port', '0'],
      ...['--cores', '2', '--memory', DEDICATED_WORKER_MEMORY, '--work-dir', workDir],
      spark.masterUrl,
    ],
    { detached: true, stdio: 'ignore', env: { ...process.env, SPARK_LOCAL_IP: '127.0.0.1' } },
  );
  await pollUntil(
    () => masterJson(spark),
    (master) => master.workers.some((w) => !before.has(w.id) && w.state === 'ALIVE'),
    60_000,
  );
  return worker;
}

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

describe('spark engine: lost workers and Oasis restarts', { skip: cluster ? false : SKIP_REASON }, () => {
  let record: ClusterRecord;
  let fixtures: Fixtures;
  let scratch: string;
  const engines: Engine[] = [];
  const engineAt = (workDir: string): Engine => {
    const engine = createSparkEngine({ workDir, nodeId: 'node-a', killGraceMs: 2_000, sandbox: jobSandbox() });
    engines.push(engine);
    return engine;
  };

  before(async () => {
    if (!cluster) return;
    scratch = await mkdtemp(path.join(tmpdir(), 'oasis-spark-resilience-'));
    record = clusterRecord(cluster);
    fixtures = await buildFixtures(cluster);
  });

  after(async () => {
    for (const engine of engines) await engine.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('a new engine instance re-adopts running jobs from their refs and follows them to the end', async () => {
    const workDir = path.join(scratch, 'work');
    const first = engineAt(workDir);
    const jvm = jobSpec({
      mains: [jobFile(fixtures.appJar)],
      configs: { ...SMALL_APP, 'edp.java.main_class': 'org.oasis.fixtures.Sleeper' },
      args: ['6'],
    });
    const python = jobSpec({ mains: [jobFile(fixtures.python('sleeper.py'))], configs: SMALL_APP, args: ['6'] });
    const refs = [refOf(jvm, await first.submit(jvm, record)), refOf(python, await first.submit(python, record))];
    for (const ref of refs) assert.equal((await first.status(ref, record)).status, 'RUNNING');
    // Oasis goes away: the engine stops watching, the jobs keep running.
    await first.close();

    const second = engineAt(workDir);
    const ends = await Promise.all(refs.map((ref) => untilTerminal(() => second.status(ref, record))));
    for (const end of ends) assert.equal(end.status, 'SUCCEEDED', JSON.stringify(end.info));
    assert.match(String(ends[0]?.info?.app_id), /^app-/);
    assert.match(String(ends[1]?.info?.app_id), /^app-/);
  });

  it('a killed worker shows in the status of the driver it ran', async () => {
    const worker = await startDedicatedWorker(cluster!, path.join(scratch, 'dedicated-worker'));
    try {
      const engine = engineAt(path.join(scratch, 'work-lost'));
      const job = jobSpec({
        mains: [jobFile(fixtures.appJar)],
        configs: {
          ...SMALL_APP,
          'spark.driver.memory': DRIVER_MEMORY_ONLY_IT_FITS,
          'edp.java.main_class': 'org.oasis.fixtures.Sleeper',
        },
        args: ['600'],
      });
      const ref = refOf(job, await engine.submit(job, record));
      const running = await pollUntil(
        () => engine.status(ref, record),
        (status) => status.info?.driver_state === 'RUNNING' && typeof status.info.app_id === 'string',
      );
      const appId = String(running.info?.app_id);

      killGroup(worker);
      const lost = await untilTerminal(() => engine.status(ref, record));
      assert.equal(lost.status, 'FAILED');
      assert.equal(lost.info?.driver_state, 'ERROR');
      assert.match(String(lost.info?.reason), /worker .* was lost/);
      await pollUntil(
        () => masterJson(cluster!),
        (master) => !master.activeapps.some((app) => app.id === appId),
      );
    } finally {
      killGroup(worker);
    }
  });
});
