import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RowCache } from '../../src/store/row-cache.js';

interface Row {
  id: string;
  value: { n: number };
}

/** A database of one table in memory, counting its reads. */
function table(rows: Row[]) {
  const byId = new Map(rows.map((row) => [row.id, row]));
  const source = {
    reads: 0,
    load: async (id: string): Promise<Row | undefined> => {
      source.reads += 1;
      const row = byId.get(id);
      return row && structuredClone(row);
    },
    set: (row: Row) => byId.set(row.id, row),
  };
  return source;
}

describe('RowCache', () => {
  it('serves a row read once from memory, frozen, until it is invalidated', async () => {
    const source = table([{ id: 'a', value: { n: 1 } }]);
    const cache = new RowCache<Row>(10);
    const first = await cache.read('a', source.load);
    assert.equal(await cache.read('a', source.load), first);
    assert.equal(source.reads, 1);
    assert.throws(() => {
      first!.value.n = 2;
    }, TypeError);

    source.set({ id: 'a', value: { n: 2 } });
    cache.invalidate('a');
    assert.equal((await cache.read('a', source.load))?.value.n, 2);
    assert.equal(source.reads, 2);
  });

  it('does not remember unknown ids', async () => {
    const source = table([]);
    const cache = new RowCache<Row>(10);
    assert.equal(await cache.read('x', source.load), undefined);
    source.set({ id: 'x', value: { n: 1 } });
    assert.equal((await cache.read('x', source.load))?.value.n, 1);
  });

  it('forgets a read that was in flight while a write finished', async () => {
    const cache = new RowCache<Row>(10);
    let release!: (row: Row) => void;
    const inFlight = cache.read('a', () => new Promise<Row>((resolve) => (release = resolve)));
    cache.invalidate('b');
    release({ id: 'a', value: { n: 1 } });
    await inFlight;
    const source = table([{ id: 'a', value: { n: 2 } }]);
    assert.equal((await cache.read('a', source.load))?.value.n, 2);
  });

  it('evicts the oldest rows beyond its capacity', async () => {
    const source = table([1, 2, 3].map((n) => ({ id: String(n), value: { n } })));
    const cache = new RowCache<Row>(2);
    for (const id of ['1', '2', '3']) await cache.read(id, source.load);
    assert.equal(cache.size, 2);
    await cache.read('3', source.load);
    assert.equal(source.reads, 3);
    await cache.read('1', source.load);
    assert.equal(source.reads, 4);
  });

  it('reads through while suspended, and starts afresh on resume', async () => {
    const source = table([{ id: 'a', value: { n: 1 } }]);
    const cache = new RowCache<Row>(10, { suspended: true });
    await cache.read('a', source.load);
    await cache.read('a', source.load);
    assert.equal(source.reads, 2);
    cache.resume();
    await cache.read('a', source.load);
    await cache.read('a', source.load);
    assert.equal(source.reads, 3);
    cache.suspend();
    assert.equal(cache.size, 0);
    await cache.read('a', source.load);
    assert.equal(source.reads, 4);
  });

  it('asks for external changes before every hit', async () => {
    const source = table([{ id: 'a', value: { n: 1 } }]);
    let changed = false;
    const cache: RowCache<Row> = new RowCache<Row>(10, {
      checkExternalChanges: () => {
        if (changed) cache.clear();
        changed = false;
      },
    });
    await cache.read('a', source.load);
    await cache.read('a', source.load);
    assert.equal(source.reads, 1);
    changed = true;
    await cache.read('a', source.load);
    assert.equal(source.reads, 2);
  });

  it('reads many rows in their order: hits from memory, the misses in one load, unknown ids left out', async () => {
    const source = table([1, 2, 3].map((n) => ({ id: String(n), value: { n } })));
    const cache = new RowCache<Row>(10);
    const loads: string[][] = [];
    const loadMany = async (ids: string[]) => {
      loads.push(ids);
      return (await Promise.all(ids.map(source.load))).filter((row) => row !== undefined);
    };
    const cachedTwo = await cache.read('2', source.load);
    const rows = await cache.readMany(['3', 'x', '2', '1'], loadMany);
    assert.deepEqual(
      rows.map((row) => row.id),
      ['3', '2', '1'],
    );
    assert.equal(rows[1], cachedTwo);
    assert.deepEqual(loads, [['3', 'x', '1']]);
    assert.ok(Object.isFrozen(rows[0]));
    assert.equal(await cache.read('3', source.load), rows[0]);
  });

  it('does not remember many rows read while a write finished, nor more rows than it holds', async () => {
    const source = table([1, 2, 3].map((n) => ({ id: String(n), value: { n } })));
    const loadMany = async (ids: string[]) => (await Promise.all(ids.map(source.load))).filter((row) => !!row);
    const cache = new RowCache<Row>(10);
    await cache.readMany(['1', '2'], async (ids) => {
      cache.invalidate('3');
      return loadMany(ids);
    });
    assert.equal(cache.size, 0);
    const small = new RowCache<Row>(2);
    await small.readMany(['1', '2', '3'], loadMany);
    assert.equal(small.size, 0);
  });

  it('moves its generation on with every invalidation, and has none while suspended', async () => {
    const source = table([1, 2].map((n) => ({ id: String(n), value: { n } })));
    const cache = new RowCache<Row>(10);
    for (const id of ['1', '2']) await cache.read(id, source.load);
    const before = cache.currentGeneration();
    cache.invalidateWhere((row) => row.value.n === 2);
    assert.notEqual(cache.currentGeneration(), before);
    assert.equal(cache.size, 1);
    cache.suspend();
    assert.equal(cache.currentGeneration(), undefined);
  });
});
