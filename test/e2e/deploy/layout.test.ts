/**
 * The Layout table of docs/development.md and the folder READMEs describe the tree as it is: every
 * directory they name exists, every source directory is named, test/unit/ mirrors src/, and each README's
 * file table lists exactly the files of its folder.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../../src/core/package-file.js';
import { docSection } from '../../support/harness/markdown-docs.js';

const ROOT = packageRoot();
const LAYOUT = docSection('docs/development.md', '## Layout');

/** Rows of the table under "### Layout": the backticked paths of the first cell, and the row. */
function layoutRows(): Array<{ readonly paths: string[]; readonly row: string }> {
  const lines = LAYOUT.split('\n');
  const start = lines.findIndex((l) => l.startsWith('| directory |'));
  const rows: Array<{ paths: string[]; row: string }> = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const first = line.split(' | ')[0] ?? '';
    rows.push({ paths: [...first.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string), row: line });
  }
  return rows;
}

/** Directories below `dir` (relative to the repo root), at every depth or only the first. */
function dirsUnder(dir: string, deep: boolean): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const path = `${dir}/${entry.name}`;
    out.push(path);
    if (deep) out.push(...dirsUnder(path, true));
  }
  return out;
}

function filesIn(dir: string, ext: string): string[] {
  return readdirSync(join(ROOT, dir)).filter((f) => f.endsWith(ext)).sort();
}

/** The `*.ts` names in the first table of a README (its file table). */
function tableFiles(readme: string): string[] {
  const lines = readFileSync(join(ROOT, readme), 'utf8').split('\n');
  const start = lines.findIndex((l) => l.startsWith('| file |'));
  const names = new Set<string>();
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    for (const m of (line.split(' | ')[0] ?? '').matchAll(/`([\w.-]+\.ts)`/g)) names.add(m[1] as string);
  }
  return [...names].sort();
}

const rows = layoutRows();
const named = new Set(rows.flatMap((r) => r.paths).map((p) => p.replace(/\/$/, '')));
const rowOf = (path: string): string => rows.find((r) => r.paths.includes(`${path}/`))?.row ?? '';
const exporterFolders = dirsUnder('src/exporters', false);

describe('the Layout table', () => {
  it('names only directories that exist', () => {
    expect(rows.length).toBeGreaterThan(10);
    const absent = [...named].filter((p) => !p.includes('<name>') && !(existsSync(join(ROOT, p)) && statSync(join(ROOT, p)).isDirectory()));
    expect(absent).toEqual([]);
  });

  it('names every directory of src/, and links the README of every exporter folder', () => {
    const unnamed = dirsUnder('src', true).filter((d) => !named.has(d) && !exporterFolders.includes(d));
    expect(unnamed).toEqual([]);
    const linked = [...rowOf('src/exporters/<name>').matchAll(/\]\(\.\.\/(src\/exporters\/[\w-]+)\/README\.md\)/g)].map((m) => m[1]);
    expect(linked.sort()).toEqual([...exporterFolders].sort());
  });

  it('names every folder of test/e2e/ and test/support/ in its row, and test/unit/ mirrors src/', () => {
    expect(dirsUnder('test', false).filter((d) => !named.has(d))).toEqual([]);
    for (const parent of ['test/e2e', 'test/support']) {
      const row = rowOf(parent);
      expect(dirsUnder(parent, false).filter((d) => !row.includes(`\`${d.slice(parent.length + 1)}/\``)), parent).toEqual([]);
    }
    const mirrorless = dirsUnder('test/unit', true).filter((d) => !existsSync(join(ROOT, 'src', d.slice('test/unit/'.length))));
    expect(mirrorless).toEqual([]);
  });
});

describe('folder READMEs', () => {
  it.each(['src/delivery', ...exporterFolders])('%s/README.md lists exactly the files of its folder', (dir) => {
    expect(tableFiles(`${dir}/README.md`)).toEqual(filesIn(dir, '.ts'));
  });
});
