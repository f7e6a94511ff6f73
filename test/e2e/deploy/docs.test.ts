/**
 * The docs as a tree a reader can follow: every relative link of README.md, docs/ and the folder READMEs
 * reaches a file (and, with `#anchor`, a heading of it, as GitHub makes anchors), and CI runs the test
 * command the README gives. Reads files only: no server, no build.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../../src/core/package-file.js';
import { EXPORTER_COMMANDS } from '../../../src/exporters/index.js';
import { exporterFolder } from '../../support/fixtures/exporter-flags.js';
import { docSection, headingAnchors, lineCount, readDoc, relativeLinks } from '../../support/harness/markdown-docs.js';

const ROOT = packageRoot();
/** The front page stays a front page: reference text goes to docs/ (issue 28: about 250 lines at most). */
const README_MAX_LINES = 250;

/** `*.md` below `dir` (relative to the root), at every depth. */
function markdownUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...markdownUnder(path));
    else if (entry.name.endsWith('.md')) out.push(path);
  }
  return out.sort();
}

/** `*.ts` below `dir`, at every depth. */
function sourcesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `${dir}/${f}`);
}

/** The docs a user reads: the front page, docs/, and the README of every source and packaging folder. */
const DOCS = ['README.md', ...markdownUnder('docs'), ...markdownUnder('src'), 'packaging/README.md', 'proto/README.md'];

/** The links of `doc` (its text: `text`) that lead nowhere, as `line: target (why)`. */
function brokenLinks(doc: string, text = readDoc(doc)): string[] {
  const broken: string[] = [];
  for (const { line, target } of relativeLinks(text)) {
    const [pathPart = '', anchor] = target.split('#', 2);
    const file = pathPart === '' ? join(ROOT, doc) : join(ROOT, dirname(doc), decodeURIComponent(pathPart));
    const shown = relative(ROOT, file);
    if (shown.startsWith('..')) {
      broken.push(`${line}: ${target} (outside the repository)`);
    } else if (!existsSync(file)) {
      broken.push(`${line}: ${target} (no ${shown})`);
    } else if (anchor !== undefined) {
      if (!statSync(file).isFile() || !file.endsWith('.md')) broken.push(`${line}: ${target} (an anchor into a file that is not Markdown)`);
      else if (!headingAnchors(pathPart === '' ? text : readFileSync(file, 'utf8')).has(anchor)) broken.push(`${line}: ${target} (no heading with that anchor in ${shown})`);
    }
  }
  return broken;
}

describe('links between the docs', () => {
  it('covers the front page, docs/ and every exporter README', () => {
    expect(DOCS).toContain('docs/fleet.md');
    expect(DOCS.filter((d) => /^src\/exporters\/[\w-]+\/README\.md$/.test(d)).length).toBeGreaterThanOrEqual(8);
  });

  it.each(DOCS)('every relative link of %s resolves', (doc) => {
    expect(brokenLinks(doc)).toEqual([]);
  });

  it('catches a missing file, a missing anchor and a way out of the repository, not links in code', () => {
    // Text placed at the root, so its paths resolve from there; inline code and code blocks hold no links.
    const text = [
      '# Top',
      '[a](docs/fleet.md#1-install) [b](docs/fleet.md#no-such) `[c](nowhere.md)` [d](https://x.example/y)',
      '```sh',
      '# not a heading [e](nowhere.md)',
      '```',
      '[f](nowhere.md) [g](#top) [h](#not-a-heading) [i](../outside.md) [j](Dockerfile#x)',
    ].join('\n');
    expect(brokenLinks('README.md', text)).toEqual([
      '2: docs/fleet.md#no-such (no heading with that anchor in docs/fleet.md)',
      '6: nowhere.md (no nowhere.md)',
      '6: #not-a-heading (no heading with that anchor in README.md)',
      '6: ../outside.md (outside the repository)',
      '6: Dockerfile#x (an anchor into a file that is not Markdown)',
    ]);
  });

  it('makes anchors as GitHub does: punctuation and backticks gone, a repeated heading numbered', () => {
    const anchors = headingAnchors('## Reading the logs (`journalctl -u scaph`)\n## 7. Splay: a fleet\n### Logs\n### Logs\n## `scaph_self_*` and Über\n');
    expect([...anchors]).toEqual(['reading-the-logs-journalctl--u-scaph', '7-splay-a-fleet', 'logs', 'logs-1', 'scaph_self_-and-über']);
  });
});

describe('the front page', () => {
  it(`README.md holds at most ${README_MAX_LINES} lines`, () => {
    const lines = lineCount('README.md');
    expect(lines).toBeGreaterThan(50);
    expect(lines).toBeLessThanOrEqual(README_MAX_LINES);
  });

  it('links the docs index, and the index links every page of docs/', () => {
    expect(relativeLinks(readDoc('README.md')).map((l) => l.target)).toContain('docs/README.md');
    const indexed = new Set(relativeLinks(readDoc('docs/README.md')).map((l) => l.target.split('#')[0]));
    const pages = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md') && f !== 'README.md');
    expect(pages.length).toBeGreaterThan(10);
    expect(pages.filter((p) => !indexed.has(p))).toEqual([]);
  });

  it("lists every exporter, each linked to its folder's README", () => {
    const rows = docSection('README.md', '## Exporters').split('\n').filter((l) => l.startsWith('| ['));
    const listed = rows.map((r) => /^\| \[`([\w-]+)`\]\(src\/exporters\/([\w-]+)\/README\.md\)/.exec(r)?.slice(1, 3).join(' in '));
    expect(listed).toEqual(EXPORTER_COMMANDS.map((spec) => `${spec.name} in ${exporterFolder(spec)}`));
  });
});

describe('docs named by messages and --help', () => {
  /** Every `docs/<page>.md` that a source file names, with the quoted section that follows it, if any. */
  function namedDocs(): Array<{ readonly file: string; readonly doc: string; readonly section: string | undefined }> {
    const named: Array<{ file: string; doc: string; section: string | undefined }> = [];
    for (const file of sourcesUnder('src')) {
      for (const m of readFileSync(join(ROOT, file), 'utf8').matchAll(/\b(docs\/[\w-]+\.md)(?:, "([^"]+)")?/g)) {
        named.push({ file, doc: m[1] as string, section: m[2] });
      }
    }
    return named;
  }

  it('exist, and so do the sections they name', () => {
    const named = namedDocs();
    expect(named.length).toBeGreaterThanOrEqual(2);
    for (const { file, doc, section } of named) {
      expect(existsSync(join(ROOT, doc)), `${file} names ${doc}`).toBe(true);
      if (section !== undefined) {
        const headings = readDoc(doc).split('\n').filter((l) => /^#+ /.test(l));
        expect(headings.some((h) => h.includes(section)), `${file} names "${section}" in ${doc}`).toBe(true);
      }
    }
  });
});

describe('the README test command', () => {
  it('is what CI runs', () => {
    const quickstart = docSection('README.md', '## Quickstart');
    const block = /```sh\n([\s\S]*?)```/.exec(quickstart)?.[1] ?? '';
    const test = block.split('\n').find((l) => l.includes('npm test'));
    expect(test).toBe('bash scripts/install-test-deps.sh && npm ci && npm test');
    const ci = readFileSync(join(ROOT, '.ci', 'run'), 'utf8').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
    expect(ci.at(-1)).toBe(test);
  });
});
