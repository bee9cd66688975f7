import { open, statfs, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { ApiError, coerceError, isDiskFull } from '../errors.js';

/** The reserve file's size: room for many status writes and deletes of SQLite rows. */
export const RESERVE_BYTES = 8 * 1024 * 1024;
const CHUNK_BYTES = 1024 * 1024;
export const RESERVE_FILE = 'disk-reserve';

export interface DiskSpaceOptions {
  /** The data dir: SQLite's database and every local job's files. */
  dataDir: string;
  /** Below this many free bytes, new executions are refused and queued local jobs wait. */
  minFreeBytes: number;
  logger: Logger;
  reserveBytes?: number;
}

/**
 * The data dir's free space, watched so that a full disk loses nothing (docs/disk-full.md).
 *
 * A reserve file of zeros is kept in the data dir. The writes that must not fail, the end of a
 * job and the delete of an execution, borrow it: when one fails because the disk is full, the
 * reserve is released and the write tried again, and the reserve is filled back as far as space
 * allows right after, so ordinary writes still find the disk full. It grows back to its size
 * whenever space returns (every reconciler pass).
 */
export class DiskSpace {
  private readonly reserveFile: string;
  private readonly reserveBytes: number;
  /** Borrowers and refills take turns: a refill must never take the room a borrower just freed. */
  private turn: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: DiskSpaceOptions) {
    this.reserveFile = path.join(options.dataDir, RESERVE_FILE);
    this.reserveBytes = options.reserveBytes ?? RESERVE_BYTES;
  }

  async freeBytes(): Promise<number> {
    const stats = await statfs(this.options.dataDir);
    return stats.bavail * stats.bsize;
  }

  /** Why a new execution cannot start now, or undefined when there is room. */
  async shortage(): Promise<string | undefined> {
    const free = await this.freeBytes();
    const { minFreeBytes } = this.options;
    if (free >= minFreeBytes) return undefined;
    return `The data dir has ${mebibytes(free)} free, below the ${mebibytes(minFreeBytes)} new executions need (OASIS_MIN_FREE_DISK); they are refused until space returns`;
  }

  /** Throws 507 with the reason when the data dir is below the watermark. */
  async checkRoomForExecution(): Promise<void> {
    const reason = await this.shortage();
    if (reason) throw new ApiError('INSUFFICIENT_STORAGE', reason);
  }

  /**
   * Runs a write that must not fail for lack of space: when the disk is full, the reserve is
   * released and the write tried once more; the reserve is refilled afterwards.
   */
  async withRoom<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (!isDiskFull(error)) throw error;
    }
    return this.inTurn(async () => {
      this.options.logger.warn('disk full: releasing the reserve for a write that must not fail');
      await unlink(this.reserveFile).catch(() => undefined);
      try {
        return await write();
      } finally {
        await this.fill();
      }
    });
  }

  /** Grows the reserve back towards its size, as far as free space allows. */
  refill(): Promise<void> {
    return this.inTurn(() => this.fill());
  }

  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const result = this.turn.then(work);
    this.turn = result.catch(() => undefined);
    return result;
  }

  private async fill(): Promise<void> {
    let handle;
    try {
      handle = await open(this.reserveFile, 'a', 0o600);
      let { size } = await handle.stat();
      const zeros = Buffer.alloc(CHUNK_BYTES);
      while (size < this.reserveBytes) {
        const { bytesWritten } = await handle.write(zeros, 0, Math.min(CHUNK_BYTES, this.reserveBytes - size));
        size += bytesWritten;
      }
    } catch (error) {
      // A full disk stops the refill where it is; the next pass goes on.
      if (!isDiskFull(error)) this.options.logger.warn({ err: coerceError(error) }, 'cannot refill the disk reserve');
    } finally {
      await handle?.close().catch(() => undefined);
    }
  }
}

function mebibytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
