import { writeSync } from 'node:fs';

/** How long one line may wait for a pipe whose reader is slow before it is dropped. */
const MAX_BLOCKED_MS = 1_000;
const RETRY_WAIT_MS = 10;
const WARN_LEVEL = 40;

export interface LogDestination {
  write(line: string): void;
}

/**
 * Oasis's log output: standard output, written synchronously. A line that cannot be written (the
 * file system holding the log is full, /dev/full, a pipe whose reader is gone or stuck) is
 * dropped and counted, never raised and never retried for ever: logging must not crash Oasis,
 * nor stall it, nor keep a signal from stopping it. Once writing works again, one line tells how
 * many were lost.
 *
 * pino's default destination re-raises such errors from an event with no listener: Oasis then
 * stopped serving, yet never exited and no longer heeded SIGTERM.
 */
export function stdoutDestination(fd = 1): LogDestination {
  let dropped = 0;
  /** A line was cut short: the next one starts on a line of its own. */
  let cut = false;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));

  const writeAll = (text: string, mayWait: boolean) => {
    let buffer = Buffer.from(cut ? `\n${text}` : text);
    const whole = buffer.length;
    let deadline: number | undefined;
    while (buffer.length > 0) {
      try {
        buffer = buffer.subarray(writeSync(fd, buffer));
        cut = buffer.length > 0;
      } catch (error) {
        if (buffer.length < whole) cut = true;
        // A non-blocking pipe that is full: wait a little for its reader, unless already dropping.
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN' || !mayWait) throw error;
        deadline ??= Date.now() + MAX_BLOCKED_MS;
        if (Date.now() > deadline) throw error;
        Atomics.wait(sleeper, 0, 0, RETRY_WAIT_MS);
      }
    }
  };

  return {
    write(line: string): void {
      try {
        if (dropped > 0) {
          writeAll(droppedLine(dropped), false);
          dropped = 0;
        }
        writeAll(line, dropped === 0);
      } catch {
        dropped += 1;
      }
    },
  };
}

function droppedLine(count: number): string {
  return `${JSON.stringify({ level: WARN_LEVEL, time: Date.now(), service: 'oasis', dropped: count, msg: 'log lines could not be written and were dropped' })}\n`;
}
