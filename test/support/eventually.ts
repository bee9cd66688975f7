import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls until `read` yields a value (anything but undefined or false), with a generous deadline;
 * never asserts on speed.
 */
export async function eventually<T>(
  read: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
