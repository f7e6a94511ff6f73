/**
 * The OTLP naming table: the README of the otlp exporter maps every metric and label under both namings as
 * the code does (SCAPH_WRITE_EXPORTER_READMES=1 rewrites its two tables), and --naming scaph's units are
 * those Prometheus' OTLP translation adds no suffix for.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { METRIC_FAMILIES, type MetricName } from '../../../src/core/metric-families.js';
import { otlpFamily } from '../../../src/core/otlp-names.js';
import { packageFile } from '../../../src/core/package-file.js';
import { attributesTable, namesTable } from '../../support/fixtures/otlp-names-table.js';

const README = packageFile('src/exporters/otlp/README.md');

/** The lines of the table whose header row starts with `header`. */
function tableRange(lines: readonly string[], header: string): [number, number] {
  const start = lines.findIndex((l) => l.startsWith(header));
  let end = start;
  while (end >= 0 && end < lines.length && lines[end]?.startsWith('|')) end += 1;
  return [start, end];
}

describe('src/exporters/otlp/README.md', () => {
  it.each([
    ['| --naming scaph |', namesTable],
    ['| label | attribute', attributesTable],
  ])('the table under %s is what the naming table says', (header, make) => {
    const lines = readFileSync(README, 'utf8').split('\n');
    const [start, end] = tableRange(lines, header);
    expect(start, `no table starting with ${header}`).toBeGreaterThan(0);
    if (process.env['SCAPH_WRITE_EXPORTER_READMES'] === '1') {
      writeFileSync(README, [...lines.slice(0, start), make(), ...lines.slice(end)].join('\n'));
      return;
    }
    expect(lines.slice(start, end).join('\n')).toBe(make());
  });
});

/**
 * Prometheus' OTLP translation with suffixes (github.com/prometheus/otlptranslator, normalizeName): the unit's
 * suffix (its unitMap, else the unit itself; none for an annotation in braces or "1") is appended unless the
 * name already has it as a token; then `_total` for a monotonic counter, `_ratio` for a gauge of unit "1".
 * A small model of it, enough for scaph's names and units.
 */
function translatedWithSuffixes(name: string, unit: string, type: 'gauge' | 'counter'): string {
  const unitMap: Record<string, string> = { s: 'seconds', By: 'bytes', W: 'watts', J: 'joules', '%': 'percent', '1': '' };
  const tokens = name.split('_');
  const suffix = unit === '' || /[{}]/.test(unit) ? '' : (unitMap[unit] ?? unit);
  if (suffix !== '' && !tokens.includes(suffix)) tokens.push(suffix);
  const drop = (t: string): string[] => tokens.filter((x) => x !== t);
  if (type === 'counter') return [...drop('total'), 'total'].join('_');
  if (unit === '1') return [...drop('ratio'), 'ratio'].join('_');
  return tokens.join('_');
}

describe('--naming scaph under Prometheus translation with suffixes', () => {
  it('keeps every gauge name as /metrics has it, and adds only _total to counters not ending with it', () => {
    for (const [name, family] of Object.entries(METRIC_FAMILIES)) {
      const otlp = otlpFamily(name, 'scaph');
      const translated = translatedWithSuffixes(name, otlp?.unit ?? '?', family.type);
      const expected = family.type === 'counter' && !name.endsWith('_total') ? `${name}_total` : name;
      expect(translated, name).toBe(expected);
    }
  });

  it('a UCUM µW would not: the model appends it (the reason for the unit words)', () => {
    expect(translatedWithSuffixes('scaph_host_power_microwatts', 'uW', 'gauge')).toBe('scaph_host_power_microwatts_uW');
    expect(METRIC_FAMILIES['scaph_host_power_microwatts' as MetricName].unit).toBe('microwatts');
  });
});
