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
});
