import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { Engine, LogStream, LogTarget } from '../../../src/engines/engine.js';
import { createSparkEngine } from '../../../src/engines/spark/index.js';
import type { ClusterRecord } from '../../../src/store/types.js';
import { jobSandbox } from '../../support/sandbox.js';
import {
  SKIP_REASON,
  SMALL_APP,
  buildFixtures,
  clusterRecord,
  jobFile,
  jobSpec,
  sparkCluster,
  untilTerminal,
  type Fixtures,
} from './support.js';

const cluster = sparkCluster();

describe('spark engine: job logs', { skip: cluster ? false : SKIP_REASON }, () => {
  let engine: Engine;
  let record: ClusterRecord;
  let fixtures: Fixtures;
  let scratch: string;

  before(async () => {
    if (!cluster) return;
    scratch = await mkdtemp(path.join(tmpdir(), 'oasis-spark-logs-'));
    engine = createSparkEngine({
      workDir: path.join(scratch, 'work'),
      nodeId: 'node-a',
      killGraceMs: 2_000,
      sandbox: jobSandbox(),
    });
    record = clusterRecord(cluster);
    fixtures = await buildFixtures(cluster);
  });
  after(async () => {
    await engine?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  /** Reads a whole stream the way a client does: chunk after chunk from the returned offset. */
  const readAll = async (
    target: LogTarget,
    stream: LogStream,
    maxBytes: number,
  ): Promise<{ text: string; chunks: number }> => {
    const pieces: Buffer[] = [];
    let offset = 0;
    for (;;) {
      const chunk = await engine.readLogs!(target, record, { stream, offset, maxBytes });
      assert.equal(chunk.nextOffset, offset + chunk.data.length);
      if (chunk.data.length === 0) return { text: Buffer.concat(pieces).toString(), chunks: pieces.length };
      pieces.push(chunk.data);
      offset = chunk.nextOffset;
    }
  };

  it("reads a cluster-mode driver's stderr from its worker, by offset", async () => {
    const marker = `marker-${randomUUID()}`;
    const job = jobSpec({
      mains: [jobFile(fixtures.appJar)],
      configs: { ...SMALL_APP, 'edp.java.main_class': 'org.oasis.fixtures.Thrower' },
      args: [marker],
    });
    const submission = await engine.submit(job, record);
    assert.equal(submission.extra.mode, 'cluster');
    const ref = { executionId: job.executionId, engineJobId: submission.engineJobId, extra: submission.extra };
    const end = await untilTerminal(() => engine.status(ref, record));
    assert.equal(end.status, 'DONEWITHERROR', JSON.stringify(end.info));
    const target: LogTarget = { ...ref, info: end.info ?? {} };

    const whole = await engine.readLogs!(target, record, { stream: 'stderr', offset: 0, maxBytes: 1024 * 1024 });
    const text = whole.data.toString();
    assert.match(text, new RegExp(`IllegalStateException: oasis fixture failure: ${marker}`));
    assert.doesNotMatch(text, /^==== Bytes/, "the worker's header is not part of the log");
    assert.equal(whole.nextOffset, whole.data.length);

    const pieced = await readAll(target, 'stderr', 1000);
    assert.equal(pieced.text, text);
    assert.ok(pieced.chunks > 1);
    const past = await engine.readLogs!(target, record, {
      stream: 'stderr',
      offset: whole.nextOffset + 10,
      maxBytes: 100,
    });
    assert.deepEqual(past, { data: Buffer.alloc(0), nextOffset: whole.nextOffset + 10 });
    // A driver that wrote nothing to stdout has an empty one.
    const stdout = await engine.readLogs!(target, record, { stream: 'stdout', offset: 0, maxBytes: 1024 });
    assert.equal(stdout.nextOffset, stdout.data.length);
    assert.doesNotMatch(stdout.data.toString(), new RegExp(marker));
  });

  it("reads a client-mode job's stdout and stderr from its files on this host", async () => {
    const script = path.join(scratch, 'talk.sh');
    await writeFile(script, 'echo "out $1"\necho "err $1" >&2\n');
    const marker = randomUUID();
    const job = jobSpec({ jobType: 'Shell', mains: [jobFile(script)], args: [marker] });
    const submission = await engine.submit(job, record);
    assert.equal(submission.extra.mode, 'client');
    const ref = { executionId: job.executionId, engineJobId: submission.engineJobId, extra: submission.extra };
    const end = await untilTerminal(() => engine.status(ref, record));
    assert.equal(end.status, 'SUCCEEDED', JSON.stringify(end.info));
    const target: LogTarget = { ...ref, info: end.info ?? {} };

    assert.equal((await readAll(target, 'stdout', 7)).text, `out ${marker}\n`);
    assert.equal((await readAll(target, 'stderr', 1 << 20)).text, `err ${marker}\n`);
    const tail = await engine.readLogs!(target, record, { stream: 'stdout', offset: 4, maxBytes: 1024 });
    assert.equal(tail.data.toString(), `${marker}\n`);
  });

  it('has nothing to read for a job the cluster never accepted', async () => {
    const target: LogTarget = { executionId: randomUUID(), engineJobId: null, extra: {}, info: {} };
    assert.deepEqual(await engine.readLogs!(target, record, { stream: 'stdout', offset: 5, maxBytes: 10 }), {
      data: Buffer.alloc(0),
      nextOffset: 5,
    });
  });
});
