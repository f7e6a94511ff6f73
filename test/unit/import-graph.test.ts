/**
 * No module of src/ imports another in a cycle, type-only imports included: a cycle means two modules
 * that cannot be read, tested or moved apart (the type a pair shares belongs in a module of its own), and
 * at run time an import cycle hands one of them a half-initialised module.
 *
 * The graph is read with TypeScript's own scanner (ts.preProcessFile): `import`, `import type`, `export …
 * from`, `import()` and `require()` alike, never text inside comments or strings.
 */
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/core/package-file.js';

type Graph = ReadonlyMap<string, readonly string[]>;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (/\.c?ts$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out.sort();
}

/** The file a relative specifier names: `./x.js` is `./x.ts` in the source tree, `./x.cjs` is `./x.cts`. */
function resolveSpecifier(from: string, specifier: string, files: ReadonlySet<string>): string | null {
  if (!specifier.startsWith('.')) return null;
  const base = resolve(dirname(from), specifier);
  const candidates = [base.replace(/\.js$/, '.ts'), base.replace(/\.cjs$/, '.cts'), base, `${base}.ts`, join(base, 'index.ts')];
  return candidates.find((c) => files.has(c)) ?? null;
}

/** Every relative import of every .ts/.cts file under `dir`: file -> the files it imports. */
function importGraph(dir: string): { graph: Graph; unresolved: string[] } {
  const files = sourceFiles(dir);
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  const unresolved: string[] = [];
  for (const file of files) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = new Set<string>();
    for (const ref of info.importedFiles) {
      if (!ref.fileName.startsWith('.')) continue;
      const target = resolveSpecifier(file, ref.fileName, known);
      if (target === null) unresolved.push(`${relative(dir, file)}: ${ref.fileName}`);
      else targets.add(target);
    }
    graph.set(file, [...targets].sort());
  }
  return { graph, unresolved };
}

/** Strongly connected components with a cycle in them (Tarjan), each as one cycle path: a -> b -> … -> a. */
function importCycles(graph: Graph, root: string): string[] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop() as string;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) components.push(component);
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return components.map((component) => cyclePath(graph, component).map((f) => relative(root, f)).join(' -> '));
}

/** One cycle through the component's first file (in name order): the shortest way back to it (breadth first). */
function cyclePath(graph: Graph, component: readonly string[]): string[] {
  const members = new Set(component);
  const start = [...component].sort()[0] as string;
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift() as string;
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let at: string | undefined = v; at !== undefined && at !== start; at = cameFrom.get(at)) path.splice(1, 0, at);
        return [...path, start];
      }
      if (!cameFrom.has(w)) {
        cameFrom.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

describe('the import graph of src/', () => {
  const root = join(packageRoot(), 'src');

  it('has no cycle, type-only imports included', () => {
    const { graph, unresolved } = importGraph(root);
    expect(graph.size).toBeGreaterThan(100);
    expect(unresolved).toEqual([]);
    expect(importCycles(graph, root)).toEqual([]);
  });

  it('finds a cycle made of type-only imports, and names the files around it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scaph-import-graph-'));
    try {
      mkdirSync(join(dir, 'a'));
      writeFileSync(join(dir, 'a', 'one.ts'), "import type { Two } from '../two.js';\nexport interface One { two: Two }\n");
      writeFileSync(join(dir, 'two.ts'), "export type { Three as Two } from './three.js';\n// import { nothing } from './one.js' (a comment is no import)\n");
      writeFileSync(join(dir, 'three.ts'), "import type { One } from './a/one.js';\nexport interface Three { one: One }\nconst text = \"import './two.js'\";\n");
      writeFileSync(join(dir, 'apart.ts'), "import { x } from './lazy.cjs';\nexport const y = x;\n");
      writeFileSync(join(dir, 'lazy.cts'), "export const x = 1;\nexport async function self(): Promise<unknown> { return import('./lazy.cjs'); }\n");
      const { graph, unresolved } = importGraph(dir);
      expect(unresolved).toEqual([]);
      expect(graph.get(join(dir, 'two.ts'))).toEqual([join(dir, 'three.ts')]);
      expect(importCycles(graph, dir)).toEqual(['a/one.ts -> two.ts -> three.ts -> a/one.ts', 'lazy.cts -> lazy.cts']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
