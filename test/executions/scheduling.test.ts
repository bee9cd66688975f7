import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { createTestApp } from '../support/app.js';
import { openTestStore, testDialects } from '../support/databases.js';
import { Client } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { exchangeSubdir } from '../support/sandbox.js';

for (const dialect of testDialects()) {
  describe(`scheduling and restart (${dialect})`, () => {
    test('the local concurrency limit: at most 2 RUNNING, all four end SUCCEEDED in creation order', async () => {
      const t = await createTestApp({ dialect, localConcurrency: 2 });
      try {
        const a = new Client(t.app);
        const tmpl = await a.shellTemplate('sleep 1\n');
        const ids: string[] = [];
        for (let i = 0; i < 4; i += 1) ids.push(await a.run(tmpl));
        let maxRunning = 0;
        await eventually(
          async () => {
            const rows = await Promise.all(ids.map((id) => t.store.jobExecutions.get(id)));
            const running = rows.filter((row) => row!.end_time === null && row!.start_time !== null).length;
            maxRunning = Math.max(maxRunning, running);
            return rows.every((row) => row!.end_time !== null);
          },
          'all four jobs to end',
          60_000,
        );
        assert.ok(maxRunning <= 2, `${maxRunning} jobs ran at once`);
        const rows = await Promise.all(ids.map((id) => t.store.jobExecutions.get(id)));
        assert.deepEqual(
          rows.map((row) => row!.status),
          ['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED'],
        );
        const starts = rows.map((row) => row!.start_time!);
        assert.deepEqual([...starts].sort(), starts);
      } finally {
        await t.close();
      }
    });

    test('a restarted node re-adopts a running job and records its real end', async () => {
      const database = await openTestStore(dialect);
      const dataDir = await mkdtemp(path.join(tmpdir(), 'oasis-restart-'));
      const gate = path.join(exchangeSubdir('restart-'), 'go');
      try {
        const first = await createTestApp({ dialect, store: database.store, dataDir });
        const a = new Client(first.app);
        const tmpl = await a.shellTemplate(`while [ ! -f '${gate}' ]; do sleep 0.05; done\nexit 5\n`);
        const id = await a.run(tmpl);
        const running = await a.waitForStatus(id, 'RUNNING');
        // Stops the lifecycle and the engine's watchers; the job keeps running.
        await first.close();
        assert.equal(existsSync(running.info.workdir), true);

        const second = await createTestApp({ dialect, store: database.store, dataDir });
        try {
          const b = new Client(second.app);
          assert.equal((await b.execution(id)).info.status, 'RUNNING');
          writeFileSync(gate, '');
          const done = await b.waitFor(id, (execution) => execution.end_time !== null);
          assert.equal(done.info.status, 'DONEWITHERROR');
          assert.equal(done.return_code, '5');
          // And the restarted node keeps launching new work.
          const next = await b.run(await b.shellTemplate('exit 0\n'));
          await b.waitForStatus(next, 'SUCCEEDED');
        } finally {
          await second.close();
        }
      } finally {
        writeFileSync(gate, '');
        await database.drop();
        await rm(dataDir, { recursive: true, force: true });
      }
    });
  });
}
