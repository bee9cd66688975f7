/**
 * The overhead of running a trivial MapReduce job through the Oasis YARN engine against the
 * Hadoop client directly, on the real cluster of scripts/hadoop.sh:
 *
 *   source scripts/hadoop.sh && hadoop_start
 *   node --import tsx bench/yarn-overhead.ts [runs]
 *
 * Both sides run the same streaming job (`cat` | `wc -l` over a small HDFS file) and wait for
 * its end: Oasis submits through its launcher and polls the ResourceManager's REST API; the
 * direct side is `hadoop jar hadoop-streaming.jar` (HadoopStreaming on the same classpath and
 * client configuration), which submits and monitors until the job ends. Runs alternate so that
 * a warming cluster favours neither side. Prints the median wall times and their ratio
 * (target ≤ 1.10).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import { HADOOP_JAVA_OPENS, run } from '../src/engines/yarn/submit-client.js';
import { isTerminal } from '../src/store/statuses.js';
import {
  clusterRecord,
  hadoopCluster,
  hdfsPath,
  hdfsPut,
  jobSpec,
  newEngine,
  refOf,
} from '../test/engines/yarn/support.js';

const POLL_MS = 100;

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

async function main(): Promise<void> {
  const hadoop = await hadoopCluster();
  if (!hadoop) throw new Error('no Hadoop cluster: source scripts/hadoop.sh && hadoop_start');
  const runs = Number(process.argv[2] ?? 3);
  const engine = await newEngine(hadoop);
  const cluster = clusterRecord(hadoop);
  const input = hdfsPath(hadoop, 'bench-input.txt');
  await hdfsPut(hadoop, input, 'a\nb\nc\n');
  const outputs = `${hadoop.nameNode}/oasis-bench/${randomUUID()}`;

  const throughOasis = async (i: number): Promise<number> => {
    const started = performance.now();
    const job = jobSpec('MapReduce.Streaming', {
      configs: { 'edp.streaming.mapper': 'cat', 'edp.streaming.reducer': 'wc -l' },
      inputUrl: input,
      outputUrl: `${outputs}/oasis-${i}`,
    });
    const submission = await engine.submit(job, cluster);
    const ref = refOf(job.executionId, submission.engineJobId);
    for (;;) {
      const status = await engine.status(ref, cluster);
      if (isTerminal(status.status)) {
        if (status.status !== 'SUCCEEDED')
          throw new Error(`Oasis run ended ${status.status}: ${JSON.stringify(status.info)}`);
        break;
      }
      await sleep(POLL_MS);
    }
    const elapsed = performance.now() - started;
    await engine.cleanup(ref, cluster);
    return elapsed;
  };

  const directly = async (i: number): Promise<number> => {
    const started = performance.now();
    const result = await run(
      'java',
      [
        '-Xmx256m',
        '-XX:TieredStopAtLevel=1',
        ...HADOOP_JAVA_OPENS,
        '-cp',
        `${hadoop.confDir}:${hadoop.classpath}`,
        'org.apache.hadoop.streaming.HadoopStreaming',
        ...['-input', input, '-output', `${outputs}/direct-${i}`, '-mapper', 'cat', '-reducer', 'wc -l'],
      ],
      { timeoutMs: 600_000 },
    );
    if (result.code !== 0) throw new Error(`hadoop-streaming failed: ${result.stderr.slice(-2000)}`);
    return performance.now() - started;
  };

  const oasis: number[] = [];
  const direct: number[] = [];
  try {
    for (let i = 0; i < runs; i += 1) {
      direct.push(await directly(i));
      oasis.push(await throughOasis(i));
      console.log(`run ${i + 1}: hadoop client ${direct.at(-1)!.toFixed(0)} ms, Oasis ${oasis.at(-1)!.toFixed(0)} ms`);
    }
  } finally {
    await engine.close();
  }
  const ratio = median(oasis) / median(direct);
  console.log(
    `median hadoop client ${median(direct).toFixed(0)} ms, Oasis ${median(oasis).toFixed(0)} ms, ` +
      `ratio ${ratio.toFixed(3)} (target <= 1.10)`,
  );
}

await main();
