/**
 * The overhead of running a trivial Spark application through the Oasis Spark engine against
 * spark-submit directly, on the real cluster of scripts/spark.sh:
 *
 *   source scripts/spark.sh && spark_start
 *   node --import tsx bench/spark-overhead.ts [runs]
 *
 * Both sides run the same JVM application in cluster deploy mode and wait for its end: Oasis
 * submits through the REST server and polls the driver's status; spark-submit uses its own
 * gateway with `spark.standalone.submit.waitAppCompletion`. Runs alternate so that a warming
 * cluster favours neither side. Prints the median wall times and their ratio (target ≤ 1.10).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

import { createSparkEngine } from '../src/engines/spark/index.js';
import { isTerminal } from '../src/store/statuses.js';
import {
  SMALL_APP,
  buildFixtures,
  clusterRecord,
  jobFile,
  jobSpec,
  refOf,
  sparkCluster,
} from '../test/engines/spark/support.js';
import { jobSandbox } from '../test/support/sandbox.js';

const run = promisify(execFile);
const POLL_MS = 100;

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

async function main(): Promise<void> {
  const cluster = sparkCluster();
  if (!cluster) throw new Error('no Spark cluster: source scripts/spark.sh && spark_start');
  const runs = Number(process.argv[2] ?? 3);
  const fixtures = await buildFixtures(cluster);
  const scratch = await mkdtemp(path.join(tmpdir(), 'oasis-spark-bench-'));
  const engine = createSparkEngine({
    workDir: path.join(scratch, 'work'),
    nodeId: 'bench',
    killGraceMs: 2_000,
    sandbox: jobSandbox(),
  });
  const record = clusterRecord(cluster);
  const configs = { ...SMALL_APP, 'edp.java.main_class': 'org.oasis.fixtures.Greeter' };

  const throughOasis = async (i: number): Promise<number> => {
    const started = performance.now();
    const job = jobSpec({
      mains: [jobFile(fixtures.appJar)],
      libs: [jobFile(fixtures.libJar)],
      configs,
      args: [path.join(scratch, `oasis-${i}.txt`), 'bench'],
    });
    const ref = refOf(job, await engine.submit(job, record));
    for (;;) {
      const status = await engine.status(ref, record);
      if (isTerminal(status.status)) {
        if (status.status !== 'SUCCEEDED') throw new Error(`Oasis run ended ${status.status}`);
        break;
      }
      await sleep(POLL_MS);
    }
    const elapsed = performance.now() - started;
    await engine.cleanup(ref, record);
    return elapsed;
  };

  const directly = async (i: number): Promise<number> => {
    const started = performance.now();
    await run(path.join(cluster.sparkHome, 'bin', 'spark-submit'), [
      ...['--master', cluster.masterUrl, '--deploy-mode', 'cluster'],
      ...['--conf', 'spark.standalone.submit.waitAppCompletion=true'],
      ...Object.entries(configs)
        .filter(([key]) => key.startsWith('spark.'))
        .flatMap(([key, value]) => ['--conf', `${key}=${value}`]),
      ...['--class', 'org.oasis.fixtures.Greeter', '--jars', fixtures.libJar],
      fixtures.appJar,
      path.join(scratch, `direct-${i}.txt`),
      'bench',
    ]);
    return performance.now() - started;
  };

  const oasis: number[] = [];
  const direct: number[] = [];
  try {
    for (let i = 0; i < runs; i += 1) {
      direct.push(await directly(i));
      oasis.push(await throughOasis(i));
      console.log(`run ${i + 1}: spark-submit ${direct.at(-1)!.toFixed(0)} ms, Oasis ${oasis.at(-1)!.toFixed(0)} ms`);
    }
  } finally {
    await engine.close();
    await rm(scratch, { recursive: true, force: true });
  }
  const ratio = median(oasis) / median(direct);
  console.log(
    `median spark-submit ${median(direct).toFixed(0)} ms, Oasis ${median(oasis).toFixed(0)} ms, ` +
      `ratio ${ratio.toFixed(3)} (target <= 1.10)`,
  );
}

await main();
