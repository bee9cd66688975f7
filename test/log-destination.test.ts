import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { stdoutDestination } from '../src/log-destination.js';

test('lines that cannot be written are dropped, and counted once writing works again', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'oasis-log-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
  const log = openSync(path.join(dir, 'oasis.log'), 'a');
  try {
    const destination = stdoutDestination(log);
    destination.write('{"msg":"first"}\n');
    // Fill the file system to its last byte.
    const filler = openSync(path.join(dir, 'filler'), 'w');
    try {
      for (;;) writeSync(filler, Buffer.alloc(64 * 1024));
    } catch (error) {
      assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
    } finally {
      closeSync(filler);
    }
    for (let i = 0; i < 3; i += 1) destination.write(`{"msg":"lost ${i}","padding":"${'x'.repeat(5000)}"}\n`);
    unlinkSync(path.join(dir, 'filler'));
    destination.write('{"msg":"after"}\n');

    // A line the disk cut short stays, on a line of its own; every other line is whole.
    const lines = readFileSync(path.join(dir, 'oasis.log'), 'utf8').trim().split('\n');
    const whole = lines.filter((line) => !line.startsWith('{"msg":"lost ')).map((line) => JSON.parse(line));
    assert.deepEqual(
      whole.map((line) => line.msg),
      ['first', 'log lines could not be written and were dropped', 'after'],
    );
    assert.equal(whole[1].dropped, 3);
  } finally {
    closeSync(log);
    execFileSync('umount', [dir]);
    await rm(dir, { recursive: true, force: true });
  }
});

test('writing to /dev/full never throws', () => {
  const full = openSync('/dev/full', 'w');
  try {
    const destination = stdoutDestination(full);
    for (let i = 0; i < 100; i += 1) destination.write('{"msg":"nowhere"}\n');
  } finally {
    closeSync(full);
  }
});
