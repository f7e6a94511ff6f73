/**
 * The table of metric families (src/core/metric-families.ts) and the metrics reference of the docs say the
 * same thing: every family of the table documented, every documented family in the table, with the same
 * type and unit. The reference is found by its table, wherever the docs keep it (README.md or docs/):
 * the markdown tables whose header reads `| metric | type | unit | …`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isDeliveryFamily, METRIC_FAMILIES, type MetricFamily, type MetricType, type MetricUnit } from '../../../src/core/metric-families.js';
import { packageRoot } from '../../../src/core/package-file.js';

const ROOT = packageRoot();
/** How the reference writes "no unit". */
const NO_UNIT = '—';

interface Documented {
  readonly file: string;
  readonly line: number;
  readonly type: string;
  readonly unit: string;
}

function markdownFiles(): string[] {
  const docs = join(ROOT, 'docs');
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.md') ? [join(dir, e.name)] : []));
  return [join(ROOT, 'README.md'), ...walk(docs)];
}

function cells(line: string): string[] {
  return line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim());
}

/**
 * The rows of every reference table in `text`: each row names one family or several (backticked), with one
 * type and unit for all of them or one each, in order (`gauge, counter`).
 */
function referenceRows(file: string, text: string): Map<string, Documented[]> {
  const found = new Map<string, Documented[]>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const header = cells(lines[i] as string);
    if (!(lines[i] as string).startsWith('|') || header[0] !== 'metric' || header[1] !== 'type') continue;
    const unitColumn = header.indexOf('unit');
    for (let r = i + 2; r < lines.length && (lines[r] as string).startsWith('|'); r++) {
      const row = cells(lines[r] as string);
      const names = [...(row[0] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
      const types = (row[1] ?? '').split(',').map((t) => t.trim());
      const units = unitColumn < 0 ? [] : (row[unitColumn] ?? '').split(',').map((u) => u.trim());
      names.forEach((name, k) => {
        const documented = {
          file: relative(ROOT, file),
          line: r + 1,
          type: types.length === 1 ? (types[0] as string) : (types[k] ?? `(no type for the name at ${k + 1})`),
          unit: unitColumn < 0 ? '(no unit column)' : units.length === 1 ? (units[0] as string) : (units[k] ?? `(no unit for the name at ${k + 1})`),
        };
        found.set(name, [...(found.get(name) ?? []), documented]);
      });
    }
  }
  return found;
}

function reference(): Map<string, Documented[]> {
  const all = new Map<string, Documented[]>();
  for (const file of markdownFiles()) {
    for (const [name, rows] of referenceRows(file, readFileSync(file, 'utf8'))) all.set(name, [...(all.get(name) ?? []), ...rows]);
  }
  return all;
}

const FAMILIES: ReadonlyArray<readonly [string, MetricFamily]> = Object.entries(METRIC_FAMILIES);

describe('the table of metric families', () => {
  it('gives every family a help text, and a unit its name ends with when the name carries one', () => {
    const suffixOf: Partial<Record<MetricUnit, string>> = { microwatts: '_microwatts', microjoules: '_microjoules', seconds: '_seconds', bytes: '_bytes', ratio: '_ratio', percent: '_percentage' };
    for (const [name, f] of FAMILIES) {
      expect(f.help.length, name).toBeGreaterThan(10);
      const suffix = suffixOf[f.unit];
      if (suffix !== undefined) expect(name.endsWith(suffix), `${name} (${f.unit})`).toBe(true);
      else expect(Object.values(suffixOf).some((s) => name.endsWith(s)), `${name} says its unit in its name, not in the table`).toBe(false);
    }
  });

  it('keeps counters for what only grows, and names the delivery core families scaph_delivery_*', () => {
    const counters = FAMILIES.filter(([, f]) => f.type === 'counter').map(([name]) => name);
    for (const name of counters) expect(/(_energy_microjoules|_psys_microjoules|_total)$/.test(name), name).toBe(true);
    expect(FAMILIES.filter(([name]) => isDeliveryFamily(name)).length).toBe(12);
  });
});

describe('the metrics reference of the docs', () => {
  const documented = reference();

  it('is found in one file, and names each family once', () => {
    expect(documented.size).toBeGreaterThan(50);
    const files = new Set([...documented.values()].flat().map((d) => d.file));
    expect([...files]).toHaveLength(1);
    const twice = [...documented].filter(([, rows]) => rows.length > 1).map(([name, rows]) => `${name} (lines ${rows.map((r) => r.line).join(', ')})`);
    expect(twice).toEqual([]);
  });

  it('documents every family of the table, and only those', () => {
    const table = FAMILIES.map(([name]) => name).sort();
    const docs = [...documented.keys()].sort();
    expect(table.filter((name) => !documented.has(name)), 'in the table, not documented').toEqual([]);
    expect(docs.filter((name) => !(name in METRIC_FAMILIES)), 'documented, not in the table').toEqual([]);
  });

  it('gives each family the type and unit of the table', () => {
    const unitText = (u: MetricUnit): string => (u === '' ? NO_UNIT : u);
    const wrong: string[] = [];
    for (const [name, f] of FAMILIES) {
      const d = documented.get(name)?.[0];
      if (!d) continue;
      const type: MetricType = f.type;
      if (d.type !== type) wrong.push(`${d.file}:${d.line} ${name}: type ${d.type}, the table says ${type}`);
      if (d.unit !== unitText(f.unit)) wrong.push(`${d.file}:${d.line} ${name}: unit ${d.unit}, the table says ${unitText(f.unit)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('reads a row of several families with one type each, or one type for all', () => {
    const rows = referenceRows('x.md', '| metric | type | unit | labels |\n| --- | --- | --- | --- |\n| `a_total`, `b_seconds` | counter, gauge | —, seconds | x |\n| `c`, `d` | gauge | — | |\n');
    expect([...rows].map(([name, [d]]) => [name, d?.type, d?.unit])).toEqual([
      ['a_total', 'counter', '—'],
      ['b_seconds', 'gauge', 'seconds'],
      ['c', 'gauge', '—'],
      ['d', 'gauge', '—'],
    ]);
  });
});
