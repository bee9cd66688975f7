import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { JobSpec } from '../engine.js';
import type { Sandbox } from '../sandbox/index.js';

/** Kept next to a cluster-mode job's staged binaries (see submissions.ts); no binary may take its name. */
export const SUBMISSION_RECORD = 'submission.json';

/**
 * Writes the job's binaries under their own names, readable by workers running as other users
 * and owned by the sandbox's job user when there is one. Returns the names.
 */
export async function stage(job: JobSpec, dir: string, owner: Sandbox['jobOwner']): Promise<string[]> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  await chmod(dir, 0o755);
  const files = [...job.mains, ...job.libs];
  for (const file of files) {
    // 'wx' never follows or overwrites an existing entry, so a name cannot redirect the write.
    const staged = path.join(dir, file.name);
    await writeFile(staged, await file.read(), { mode: 0o644, flag: 'wx' });
    if (owner) await chown(staged, owner.uid, owner.gid);
  }
  return files.map((file) => file.name);
}
