import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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

/**
 * A source file Oasis compiles at run time (C, Java), kept beside the module that compiles it:
 * `sourceDir` is that module's directory under src/, the same when Oasis runs from src/ (tsx) and,
 * back in src/, when it runs from a dist/ build, which holds only the compiled TypeScript.
 */
export function bundledSource(moduleUrl: string, sourceDir: string, name: string): string {
  const here = path.dirname(fileURLToPath(moduleUrl));
  const candidates = [path.join(here, name), path.resolve(here, '../../..', sourceDir, name)];
  const found = candidates.find((candidate) => existsSync(candidate));
  if (!found) throw new Error(`the source ${name} is missing (looked in ${candidates.join(', ')})`);
  return found;
}
