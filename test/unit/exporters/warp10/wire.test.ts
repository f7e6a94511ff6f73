import { describe, expect, it } from 'vitest';
import type { Metric } from '../../../../src/core/metric-families.js';
import { sampleToMetrics } from '../../../../src/core/metrics.js';
import { encodeGtsText, formatDouble, formatLong, Warp10Formatter } from '../../../../src/exporters/warp10/wire.js';
import { parseGtsLine, type GtsPoint } from '../../../support/servers/gts-parse.js';
import { makeProcess, makeSample, NASTY_NAMES } from '../../../support/harness/warp10-fixtures.js';

function metric(name: string, kind: 'int' | 'float', value: number, labels: Record<string, string> = {}): Metric {
  return { name, help: '', type: 'gauge', kind, labels, value };
}

function parseAll(text: string): GtsPoint[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => parseGtsLine(l, null, 0));
}

describe('warp10 format: values', () => {
  it('writes int metrics as LONG and float metrics always as DOUBLE', () => {
    expect(formatLong(42)).toBe('42');
    expect(formatLong(-7)).toBe('-7');
    expect(formatDouble(42)).toBe('42.0');
    expect(formatDouble(0)).toBe('0.0');
    expect(formatDouble(-0)).toBe('0.0');
    expect(formatDouble(0.25)).toBe('0.25');
    expect(formatDouble(1.5e-7)).toBe('1.5e-7');
    expect(formatDouble(1e21)).toBe('1e+21');
  });

  it('leaves out what Warp 10 cannot store as that type, and counts it', () => {
    expect(formatDouble(NaN)).toBeNull();
    expect(formatDouble(Infinity)).toBeNull();
    expect(formatLong(-Infinity)).toBeNull();
    expect(formatLong(2 ** 64)).toBeNull();
    expect(formatLong(2 ** 60)).toBe('1152921504606846976');
    const f = new Warp10Formatter({ host: 'h' });
    const text = f.format([metric('a', 'float', NaN), metric('b', 'int', 2 ** 70), metric('c', 'float', 1)], 1000);
    expect(text).toBe('1000000// c{host=h} 1.0\n');
    expect(f.skippedValues).toBe(2);
  });

  it('round-trips through the strict parser with the right types', () => {
    const f = new Warp10Formatter({ host: 'h' });
    const points = parseAll(f.format([metric('i', 'int', 123456789012), metric('d', 'float', 3), metric('e', 'float', 2.5e-9)], 1));
    expect(points.map((p) => [p.className, p.type, p.value])).toEqual([
      ['i', 'LONG', 123456789012],
      ['d', 'DOUBLE', 3],
      ['e', 'DOUBLE', 2.5e-9],
    ]);
  });
});

describe('warp10 format: encoding', () => {
  it('encodes exactly as encodeURIComponent, fast path included', () => {
    for (const s of [...NASTY_NAMES, 'plain_name-1.2', '', '/usr/bin/x', "it's (ok) ~*!"]) {
      expect(encodeGtsText(s)).toBe(encodeURIComponent(s));
    }
    expect(encodeGtsText('plain')).toBe('plain');
  });

  it('replaces a lone surrogate instead of throwing', () => {
    expect(encodeGtsText('a\uD800b')).toBe('a%EF%BF%BDb');
  });

  it('round-trips nasty label values and keys through the strict parser', () => {
    const f = new Warp10Formatter({ host: 'my host,1', extraLabels: { 'dc{x}': 'p=q%' } });
    const metrics = NASTY_NAMES.map((n, i) => metric(`scaph class ${i}`, 'int', i, { exe: n, [n]: 'k' }));
    const points = parseAll(f.format(metrics, 1_700_000_000_123));
    expect(points).toHaveLength(NASTY_NAMES.length);
    points.forEach((p, i) => {
      const n = NASTY_NAMES[i]!;
      expect(p.className).toBe(`scaph class ${i}`);
      expect(p.labels).toEqual({ exe: n, [n]: 'k', host: 'my host,1', 'dc{x}': 'p=q%' });
      expect(p.timestampUs).toBe(1_700_000_000_123_000);
    });
  });

  it('lets a metric label win over a static label of the same name', () => {
    const f = new Warp10Formatter({ host: 'h', extraLabels: { pid: 'x', zone: 'eu' } });
    const [p] = parseAll(f.format([metric('m', 'int', 1, { pid: '7' })], 0));
    expect(p!.labels).toEqual({ pid: '7', host: 'h', zone: 'eu' });
  });

  it('encodes a whole sample: one line per metric, host label everywhere, each process its own labels', () => {
    const procs = NASTY_NAMES.map((n, i) => makeProcess(100 + i, n));
    const sample = makeSample(1_700_000_000_000, procs);
    const metrics = sampleToMetrics(sample);
    const text = new Warp10Formatter({ host: 'box' }).format(metrics, sample.timestampMs);
    expect(text.endsWith('\n')).toBe(true);
    const points = parseAll(text);
    expect(points).toHaveLength(metrics.length);
    points.forEach((p, i) => {
      const m = metrics[i]!;
      expect(p.className).toBe(m.name);
      expect(p.labels).toEqual({ ...m.labels, host: 'box' });
      expect(p.type).toBe(m.kind === 'int' ? 'LONG' : 'DOUBLE');
      expect(p.value).toBe(m.value);
    });
    const power = points.filter((p) => p.className === 'scaph_process_power_consumption_microwatts');
    expect(power.map((p) => p.labels['exe'])).toEqual(NASTY_NAMES);
  });

  it('gives the same output on a second step (caches do not change results)', () => {
    const f = new Warp10Formatter({ host: 'box', valueCacheSize: 3 });
    const metrics = sampleToMetrics(makeSample(1000, NASTY_NAMES.map((n, i) => makeProcess(i + 1, n))));
    const first = f.format(metrics, 1000);
    expect(f.format(metrics, 1000)).toBe(first);
  });
});

describe('ascii builder', () => {
  it('writes integers like String() and grows past its initial size', async () => {
    const { AsciiBuilder } = await import('../../../../src/exporters/warp10/ascii-builder.js');
    const b = new AsciiBuilder(4);
    const values = [0, -0, 7, -7, 10, 99, 100, 123456789, -9007199254740991, 9007199254740991, 1_700_000_000_000_000];
    for (const v of values) {
      b.int(v);
      b.byte(44);
    }
    b.ascii('end');
    expect(b.take().toString('latin1')).toBe(values.map((v) => String(v)).join(',') + ',end');
  });
});

describe('warp10 format: label names that exist on Object.prototype', () => {
  it('keeps a metric label named like a prototype key and a static one named constructor', () => {
    const f = new Warp10Formatter({ host: 'h', extraLabels: { constructor: 'c' } });
    const [p] = parseAll(f.format([metric('m', 'int', 1, { toString: 'x' })], 0));
    expect(p!.labels).toEqual({ toString: 'x', host: 'h', constructor: 'c' });
  });
});
