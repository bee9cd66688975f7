import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { ProjectTurns } from '../../src/api/project-turns.js';

/** Whether a promise has settled once everything already queued has run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await nextTurn();
  return done;
}

describe('project turns for large requests', () => {
  test("a project's large requests take turns in arrival order", async () => {
    const turns = new ProjectTurns();
    const endFirst = await turns.take('a');
    const second = turns.take('a');
    const third = turns.take('a');
    assert.equal(await settled(second), false);
    endFirst();
    const endSecond = await second;
    assert.equal(await settled(third), false);
    endSecond();
    (await third)();
    assert.equal(turns.busyProjects, 0);
  });

  test('projects never wait for one another', async () => {
    const turns = new ProjectTurns();
    const endA = await turns.take('a');
    assert.equal(await settled(turns.take('b')), true);
    endA();
  });

  test("a project's lists take turns only while its last list was large", () => {
    const turns = new ProjectTurns();
    assert.equal(turns.listsAreLarge('a'), false);
    turns.listed('a', true);
    assert.equal(turns.listsAreLarge('a'), true);
    assert.equal(turns.listsAreLarge('b'), false);
    turns.listed('a', false);
    assert.equal(turns.listsAreLarge('a'), false);
  });

  test('ending a turn twice lets only one more request in', async () => {
    const turns = new ProjectTurns();
    const end = await turns.take('a');
    const second = turns.take('a');
    const third = turns.take('a');
    end();
    end();
    await second;
    assert.equal(await settled(third), false);
  });
});
