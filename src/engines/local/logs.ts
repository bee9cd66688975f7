import { open } from 'node:fs/promises';

import type { LogChunk, LogRead, LogTarget } from '../engine.js';
import { logPaths } from './workdir.js';

/**
 * A local job's output is its `stdout` and `stderr` files in the execution's directory
 * (workdir.ts): the job writes them itself, they outlive Oasis, and they go only when the
 * execution is deleted. Spark client-mode jobs keep theirs in the same layout.
 */
export function readLocalLogs(workDir: string, target: LogTarget, read: LogRead): Promise<LogChunk> {
  return readLogFile(logPaths(workDir, target.executionId)[read.stream], read.offset, read.maxBytes);
}

/** Up to `maxBytes` from `offset`; a file not written yet reads as empty. */
export async function readLogFile(file: string, offset: number, maxBytes: number): Promise<LogChunk> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { data: Buffer.alloc(0), nextOffset: offset };
    throw error;
  }
  try {
    const { size } = await handle.stat();
    const length = Math.max(0, Math.min(maxBytes, size - offset));
    if (length === 0) return { data: Buffer.alloc(0), nextOffset: offset };
    const data = Buffer.alloc(length);
    const { bytesRead } = await handle.read(data, 0, length, offset);
    return { data: data.subarray(0, bytesRead), nextOffset: offset + bytesRead };
  } finally {
    await handle.close();
  }
}
