/**
 * Imports run one way, and never in a circle:
 *
 *   cli → main → api → executions → engines → store → (errors, config, vocabulary)
 *
 * A module may import from its own layer or any layer below it. Every import cycle between files
 * is an error too, within a layer as well. Run by `npm run lint`.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const SOURCE = path.resolve(import.meta.dirname, '..', 'src');

/** Lowest first. A file's layer is the first of these its path (relative to src/) starts with. */
const LAYERS: readonly (readonly string[])[] = [
  ['errors.ts', 'config.ts', 'log-destination.ts'],
  ['store/'],
  ['engines/'],
  ['executions/'],
  ['api/', 'ui/'],
  ['main.ts'],
  ['cli/'],
];

function layerOf(file: string): number {
  const relative = path.relative(SOURCE, file);
  const layer = LAYERS.findIndex((prefixes) =>
    prefixes.some((prefix) => relative === prefix || relative.startsWith(prefix)),
  );
  if (layer < 0) throw new Error(`${relative}: no layer; add its folder to LAYERS in scripts/check-imports.ts`);
  return layer;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return sourceFiles(file);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [file] : [];
  });
}

/** Relative imports (`import … from './x.js'`, `export … from`, `import('./x.js')`), as .ts files. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((match) => match[1]!);
  return specifiers.map((specifier) => path.resolve(path.dirname(file), specifier).replace(/\.js$/, '.ts'));
}

const files = sourceFiles(SOURCE);
const graph = new Map(files.map((file) => [file, importsOf(file)]));
const problems: string[] = [];
const show = (file: string) => path.relative(path.dirname(SOURCE), file);

for (const [file, imports] of graph) {
  for (const imported of imports) {
    if (!graph.has(imported)) {
      problems.push(`${show(file)} imports ${show(imported)}, which does not exist`);
    } else if (layerOf(imported) > layerOf(file)) {
      problems.push(`${show(file)} imports ${show(imported)}: imports must point down the layers`);
    }
  }
}

// Tarjan's strongly connected components: any component of more than one file is a cycle.
let counter = 0;
const index = new Map<string, number>();
const low = new Map<string, number>();
const stack: string[] = [];
const onStack = new Set<string>();
function visit(file: string): void {
  index.set(file, counter);
  low.set(file, counter);
  counter += 1;
  stack.push(file);
  onStack.add(file);
  for (const next of graph.get(file) ?? []) {
    if (!graph.has(next)) continue;
    if (!index.has(next)) {
      visit(next);
      low.set(file, Math.min(low.get(file)!, low.get(next)!));
    } else if (onStack.has(next)) {
      low.set(file, Math.min(low.get(file)!, index.get(next)!));
    }
  }
  if (low.get(file) !== index.get(file)) return;
  const component: string[] = [];
  for (;;) {
    const member = stack.pop()!;
    onStack.delete(member);
    component.push(member);
    if (member === file) break;
  }
  if (component.length > 1) problems.push(`import cycle: ${component.map(show).sort().join(' ↔ ')}`);
}
for (const file of files) if (!index.has(file)) visit(file);

if (problems.length > 0) {
  console.error(problems.join('\n'));
  console.error(`\n${problems.length} import problem(s)`);
  process.exit(1);
}
console.log(`imports: ${files.length} files, one way, no cycles`);
