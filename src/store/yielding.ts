import { setImmediate as nextTurn } from 'node:timers/promises';

/** The longest stretch of work on large rows before other requests get the event loop. */
const SLICE_MS = 4;

/**
 * `items.map(fn)`, handing the event loop to other requests whenever a stretch of calls has run
 * longer than a few milliseconds. Decoding, rendering or serialising one row near the input
 * limits takes about a millisecond; a page of twenty in one go held every other request for
 * tens. Small lists finish in one stretch and never wait.
 */
export async function mapYielding<T, R>(items: readonly T[], fn: (item: T) => R): Promise<R[]> {
  const results: R[] = [];
  let sliceStart = performance.now();
  for (const item of items) {
    results.push(fn(item));
    if (performance.now() - sliceStart > SLICE_MS && results.length < items.length) {
      await nextTurn();
      sliceStart = performance.now();
    }
  }
  return results;
}
