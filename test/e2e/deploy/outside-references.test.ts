/**
 * Nothing in the repository points at a file outside it. The notes scaph was specified from lived in a
 * folder beside the checkout (a sibling `shared` folder with a protocols file and Scaphandre's docs):
 * a reader of the code cannot open them. A fact the code relies on is stated in docs/ (docs/protocols.md)
 * or in the module's comment, citing the upstream spec or project.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../../src/core/package-file.js';

const ROOT = packageRoot();
/** Where people and tools read text: the code, its tests and benches, the docs and the packaging. */
const SCANNED = ['src', 'test', 'bench', 'docs', 'packaging', 'proto', 'scripts', 'deploy', 'systemd', 'docker-compose'];
const SKIPPED_DIRS = new Set(['node_modules', 'dist', '.vitest-tmp']);
const MAX_BYTES = 1024 * 1024;

/**
 * A path up and out of the checkout into that folder, the absolute path of the machine it was on, or its
 * protocols file and seeds by name.
 */
const OUTSIDE = /(?:\.\.\/)+shared\b|\/work\/shared\b|\bshared\/(?:PROTOCOLS\.md|seeds)\b/;

function textFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIPPED_DIRS.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...textFiles(path));
    else if (entry.isFile() && statSync(path).size <= MAX_BYTES) out.push(path);
  }
  return out;
}

/** `file:line: text` of every line that points outside. */
function outsideReferences(files: readonly string[]): string[] {
  const found: string[] = [];
  for (const file of files) {
    const bytes = readFileSync(file);
    if (bytes.includes(0)) continue;
    const lines = bytes.toString('utf8').split('\n');
    lines.forEach((line, i) => {
      if (OUTSIDE.test(line)) found.push(`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`);
    });
  }
  return found;
}

describe('references to files outside the repository', () => {
  it('none in src/, test/, bench/, docs/, the packaging or the root README files', () => {
    const roots = readdirSync(ROOT).filter((name) => name.endsWith('.md')).map((name) => join(ROOT, name));
    const files = [...roots, ...SCANNED.flatMap((dir) => textFiles(join(ROOT, dir)))];
    expect(files.length).toBeGreaterThan(300);
    expect(outsideReferences(files)).toEqual([]);
  });

  it('catches each way of writing one, and not an upstream project path that merely has "shared" in it', () => {
    const up = ['..', 'shared', 'PROTOCOLS.md'].join('/');
    const cases = [
      `// see ${up}`,
      ` * Taken from ${['', 'work', 'shared', 'seeds'].join('/')}`,
      `(see ${['shared', 'PROTOCOLS.md'].join('/')})`,
      `[notes](${['..', '..', 'shared'].join('/')}/x.md)`,
    ];
    for (const line of cases) expect(OUTSIDE.test(line), line).toBe(true);
    // systemd's own source file, cited by the unit sandbox: a path in another project, not ours.
    expect(OUTSIDE.test('the rules of systemd src/shared/seccomp-util.c')).toBe(false);
  });
});
