import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import type { Engine, LogStream, LogTarget } from '../../../src/engines/engine.js';
import { eventually } from '../../support/eventually.js';
import { clusterRecord, hadoopCluster, hdfsPath, hdfsPut, jobSpec, newEngine, refOf, waitForEnd } from './support.js';

const hadoop = await hadoopCluster();

describe('YARN engine: job logs', { skip: !hadoop && 'no Hadoop test cluster (source scripts/hadoop.sh)' }, () => {
  let engine: Engine;
  let workDir: string;

  before(async () => {
    workDir = await mkdtemp(path.join(os.tmpdir(), 'oasis-yarn-logs-'));
    engine = await newEngine(hadoop!, workDir);
  });
  after(async () => {
    await engine?.close();
    await rm(workDir, { recursive: true, force: true });
  });

  test("a running application's container output is copied as it comes, and stays after the end with stable offsets", async () => {
    assert(hadoop);
    const cluster = clusterRecord(hadoop);
    const marker = randomUUID();
    const input = hdfsPath(hadoop, 'lines.txt');
    await hdfsPut(hadoop, input, 'one\ntwo\n');
    // The mapper writes to its stderr, waits, writes again: the first line is there while it runs.
    const mapper = `sh -c 'echo early-${marker} >&2; sleep 12; echo late-${marker} >&2; cat'`;
    const job = jobSpec('MapReduce.Streaming', {
      configs: { 'edp.streaming.mapper': mapper, 'edp.streaming.reducer': 'wc -l', 'mapreduce.job.reduces': '1' },
      inputUrl: input,
      outputUrl: hdfsPath(hadoop, 'out'),
    });
    const submission = await engine.submit(job, cluster);
    const ref = refOf(job.executionId, submission.engineJobId);
    const target: LogTarget = { ...ref, info: {} };
    const read = (stream: LogStream, offset: number, maxBytes = 1 << 20) =>
      engine.readLogs!(target, cluster, { stream, offset, maxBytes });

    const whileRunning = await eventually(
      async () => {
        const chunk = await read('stderr', 0);
        return chunk.data.toString().includes(`early-${marker}`) ? chunk : undefined;
      },
      'the first line of the running mapper',
      240_000,
    );
    const early = whileRunning.data.toString();
    assert.equal(whileRunning.nextOffset, whileRunning.data.length);
    assert.doesNotMatch(early, new RegExp(`late-${marker}`), 'read while the mapper still runs');
    assert.match(early, /^==> container_\d+_\d+_\d+_\d+ <==\n/m);

    const end = await waitForEnd(engine, ref, cluster);
    assert.equal(end.status, 'SUCCEEDED', JSON.stringify(end.info));
    const whole = await eventually(async () => {
      let offset = 0;
      const pieces: Buffer[] = [];
      for (;;) {
        const chunk = await read('stderr', offset, 4096);
        if (chunk.data.length === 0) break;
        pieces.push(chunk.data);
        offset = chunk.nextOffset;
      }
      const text = Buffer.concat(pieces).toString();
      return text.includes(`late-${marker}`) ? text : undefined;
    }, "the mapper's last line after the end");
    // What was read while it ran is still there, at the same offsets.
    assert.ok(whole.startsWith(early), 'offsets are stable');
    assert.ok(whole.indexOf(`early-${marker}`) < whole.indexOf(`late-${marker}`));
    const sections = [...whole.matchAll(/^==> (container_\S+) <==$/gm)].map((match) => match[1]);
    assert.ok(sections.length >= 1);
    assert.ok(
      sections.every((id) => id!.startsWith(`container_${submission.engineJobId.replace(/^application_/, '')}_`)),
      sections.join(),
    );

    // Read again from the middle: the same bytes.
    const middle = Math.floor(whole.length / 2);
    assert.equal(
      (await read('stderr', Buffer.byteLength(whole.slice(0, middle)))).data.toString(),
      whole.slice(middle),
    );
    const past = await read('stderr', Buffer.byteLength(whole) + 5);
    assert.deepEqual(past, { data: Buffer.alloc(0), nextOffset: Buffer.byteLength(whole) + 5 });
    // stdout is a stream of its own, with none of stderr's lines.
    assert.doesNotMatch((await read('stdout', 0)).data.toString(), new RegExp(`early-${marker}`));
  });

  test('an application YARN never accepted has nothing to read', async () => {
    assert(hadoop);
    const target: LogTarget = { executionId: randomUUID(), engineJobId: null, extra: {}, info: {} };
    assert.deepEqual(
      await engine.readLogs!(target, clusterRecord(hadoop), { stream: 'stdout', offset: 0, maxBytes: 10 }),
      {
        data: Buffer.alloc(0),
        nextOffset: 0,
      },
    );
  });
});
