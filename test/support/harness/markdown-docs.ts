/**
 * The repository's Markdown docs (README.md, docs/, the folder READMEs) as tests read them: a section by its
 * heading, wherever the text lives now, the anchors GitHub gives the headings, and the relative links.
 * Lines inside fenced code blocks are never headings or links (`# on the hypervisor` in a sh block).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../../src/core/package-file.js';

/** A doc's text, by its path relative to the repository root (`docs/metrics.md`). */
export function readDoc(path: string): string {
  return readFileSync(join(packageRoot(), path), 'utf8');
}

interface Line {
  readonly text: string;
  readonly inCode: boolean;
}

function linesOf(text: string): Line[] {
  let fence: string | null = null;
  return text.split('\n').map((line) => {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (marker !== undefined && (fence === null || marker.startsWith(fence))) {
      fence = fence === null ? marker : null;
      return { text: line, inCode: true };
    }
    return { text: line, inCode: fence !== null };
  });
}

function headingLevel(line: Line): number {
  if (line.inCode) return 0;
  return /^(#{1,6}) /.exec(line.text)?.[1]?.length ?? 0;
}

/**
 * The section of the doc at `path` whose heading line starts with `heading` (`'## Metrics'`): that line
 * and everything up to the next heading of the same or a higher level. Throws, naming both, when the doc
 * has no such heading: a test must not pass on an empty section.
 */
export function docSection(path: string, heading: string): string {
  const lines = linesOf(readDoc(path));
  const level = /^#+/.exec(heading)?.[0].length ?? 0;
  const start = lines.findIndex((l) => headingLevel(l) === level && l.text.startsWith(heading));
  if (level === 0 || start < 0) throw new Error(`${path} has no heading "${heading}"`);
  let end = start + 1;
  while (end < lines.length) {
    const next = headingLevel(lines[end] as Line);
    if (next > 0 && next <= level) break;
    end += 1;
  }
  return lines.slice(start, end).map((l) => l.text).join('\n');
}

/** The line count of a doc, as `wc -l` gives it. */
export function lineCount(path: string): number {
  return (readDoc(path).match(/\n/g) ?? []).length;
}

/**
 * The anchor GitHub gives a heading (as github-slugger does): lower case, every character that is not a
 * letter, a digit, `_`, `-` or a space removed, spaces turned into `-`. Inline code keeps its text.
 */
export function githubSlug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a doc's headings; a repeated heading gets `-1`, `-2`, … as on GitHub. */
export function headingAnchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const line of linesOf(text)) {
    if (headingLevel(line) === 0) continue;
    const slug = githubSlug(line.text.replace(/^#+ /, '').trim());
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

export interface DocLink {
  /** 1-based line of the doc. */
  readonly line: number;
  /** The link's target as written: `docs/fleet.md#1-install`, `#metrics`, `../../../README.md`. */
  readonly target: string;
}

/**
 * The relative links of a doc (`[text](target)`), outside code blocks and inline code: web links
 * (`http:`, `https:`, `mailto:`) are left out.
 */
export function relativeLinks(text: string): DocLink[] {
  const links: DocLink[] = [];
  for (const [i, line] of linesOf(text).entries()) {
    if (line.inCode) continue;
    const prose = line.text.replace(/`[^`]*`/g, '``');
    for (const m of prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = m[1] as string;
      if (!/^[a-z][a-z+.-]*:/i.test(target)) links.push({ line: i + 1, target });
    }
  }
  return links;
}
