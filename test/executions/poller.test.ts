import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { Poller } from '../../src/executions/poller.js';
import { eventually } from '../support/eventually.js';

const logger = pino({ level: 'silent' });

test('a failed tick is backed off and never ends the loop; stop() is idempotent', async () => {
  let calls = 0;
  const poller = new Poller(
    async () => {
      calls += 1;
      if (calls <= 2) throw new Error('engine down');
    },
    { name: 'test', intervalMs: 5, logger, maxBackoffMs: 20 },
  );
  poller.start();
  await eventually(() => calls >= 4, 'the loop to survive failing ticks', 10_000);
  await Promise.all([poller.stop(), poller.stop()]);
  const after = calls;
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(calls, after);
});

test('wake() runs the next tick without waiting for the interval', async () => {
  let calls = 0;
  const poller = new Poller(
    async () => {
      calls += 1;
    },
    { name: 'test', intervalMs: 60_000, logger },
  );
  poller.start();
  await eventually(() => calls === 1, 'the first tick');
  poller.wake();
  await eventually(() => calls === 2, 'the woken tick', 10_000);
  await poller.stop();
});
