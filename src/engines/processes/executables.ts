import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** The first executable `command` on PATH (then /usr/bin), as a shell would find it. */
export function findOnPath(command: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/bin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return undefined;
}
