import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { METRIC_FAMILIES } from '../../../src/core/metric-families.js';
import { sampleToMetrics } from '../../../src/core/metrics.js';
import { ProcessSelector } from '../../../src/core/process-selection.js';
import { sampleToJsonReport } from '../../../src/exporters/json/exporter.js';
import { formatSampleTable } from '../../../src/exporters/stdout/exporter.js';
import { EstimateSource } from '../../../src/sensors/estimate.js';
import { FALLBACK_WARNING_EVERY_MS, FallbackSource } from '../../../src/sensors/fallback.js';
import type { PowercapProbeResult } from '../../../src/sensors/powercap/source.js';
import { makeSample } from '../../support/fixtures/sample.js';
import { selectionOptions } from '../../support/fixtures/selection.js';

const CONTEXT = { cpuBusyFraction: 0.5, intervalNs: 1_000_000_000n, cpuCount: 4 };

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
  return { logger, lines };
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 10));

describe('FallbackSource (--sensor auto without readable RAPL)', () => {
  it('marks every reading with its reason; the estimate figures are unchanged', async () => {
    const { logger } = capture();
    const estimate = new EstimateSource();
    const source = new FallbackSource(new EstimateSource(), { reason: 'rapl_unreadable', powercapPath: '/sys/class/powercap', logger });
    await source.start();
    const plain = await estimate.read(CONTEXT);
    const marked = await source.read(CONTEXT);
    expect(marked.fallback).toBe('rapl_unreadable');
    expect(marked.valueSource).toBe('estimate');
    expect(marked.hostPowerUw).toBe(plain.hostPowerUw);
    expect(marked.hostPowerUw).toBe(4 * (0.74 + (3.5 - 0.74) * 0.5) * 1e6);
  });

  it('unreadable counters: warns at start with the packaged group-read fix, never world-readable advice', async () => {
    const { logger, lines } = capture();
    const source = new FallbackSource(new EstimateSource(), {
      reason: 'rapl_unreadable',
      powercapPath: '/sys/class/powercap',
      deniedFile: '/sys/class/powercap/intel-rapl:0/energy_uj',
      logger,
    });
    await source.start();
    expect(lines).toHaveLength(1);
    const w = lines[0] as Record<string, unknown>;
    expect(w).toMatchObject({ level: 40, reason: 'rapl_unreadable', file: '/sys/class/powercap/intel-rapl:0/energy_uj', powercapPath: '/sys/class/powercap', repeatEveryS: 3600 });
    expect(w['uid']).toBe(process.getuid?.());
    const msg = String(w['msg']);
    expect(msg).toContain('using the CPU-load estimate (value_source="estimate", scaph_sensor_fallback{reason="rapl_unreadable"} 1)');
    expect(msg).toContain('`sudo systemd-tmpfiles --create scaph-powercap.conf` (/usr/lib/tmpfiles.d/scaph-powercap.conf; or the udev rule /usr/lib/udev/rules.d/99-scaph-powercap.rules;');
    expect(msg).toContain('run scaph in group scaph');
    expect(msg).toContain('then restart scaph');
    expect(msg).not.toMatch(/chmod|o\+r|a\+r/);
  });

  it('repeats the warning every period while the counters stay unreadable, and says so when they become readable', async () => {
    let now = 0;
    const { logger, lines } = capture();
    const answers: PowercapProbeResult[] = [
      { status: 'permission', file: '/p/intel-rapl:1/energy_uj' },
      { status: 'ok' },
    ];
    const inspected: string[] = [];
    const source = new FallbackSource(new EstimateSource(), {
      reason: 'rapl_unreadable',
      powercapPath: '/p',
      deniedFile: '/p/intel-rapl:0/energy_uj',
      logger,
      warnEveryMs: 3_600_000,
      now: () => now,
      inspect: async (path) => {
        inspected.push(path);
        return answers.shift() ?? { status: 'ok' };
      },
    });
    await source.start();
    for (now = 0; now < 3_600_000; now += 60_000) await source.read(CONTEXT);
    await settle();
    expect(lines).toHaveLength(1); // the start-up warning only, for the first hour
    now = 3_600_000;
    await source.read(CONTEXT);
    await settle();
    expect(inspected).toEqual(['/p']);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ level: 40, reason: 'rapl_unreadable', file: '/p/intel-rapl:1/energy_uj', sinceS: 3600 });
    expect(String(lines[1]?.['msg'])).toContain('systemd-tmpfiles --create scaph-powercap.conf');
    now = 7_199_999;
    await source.read(CONTEXT);
    await settle();
    expect(lines).toHaveLength(2);
    now = 7_200_000;
    await source.read(CONTEXT);
    await settle();
    expect(lines[2]).toMatchObject({ level: 40, sinceS: 7200 });
    expect(String(lines[2]?.['msg'])).toMatch(/readable now, but this run keeps publishing the CPU-load estimate: restart scaph/);
  });

  it('no RAPL zone at all: one warning with the module to load, no repeat', async () => {
    let now = 0;
    const { logger, lines } = capture();
    let inspections = 0;
    const source = new FallbackSource(new EstimateSource(), {
      reason: 'rapl_missing',
      powercapPath: '/sys/class/powercap',
      logger,
      warnEveryMs: 1000,
      now: () => now,
      inspect: async () => {
        inspections += 1;
        return { status: 'missing' };
      },
    });
    await source.start();
    for (now = 0; now < 10_000; now += 500) expect((await source.read(CONTEXT)).fallback).toBe('rapl_missing');
    await settle();
    expect(inspections).toBe(0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, reason: 'rapl_missing' });
    expect(String(lines[0]?.['msg'])).toContain('scaph_sensor_fallback{reason="rapl_missing"} 1');
    expect(String(lines[0]?.['msg'])).toContain('sudo modprobe intel_rapl_common');
  });

  it('repeats hourly by default', () => {
    expect(FALLBACK_WARNING_EVERY_MS).toBe(3_600_000);
  });
});

describe('the fallback in what exporters publish', () => {
  const base = makeSample();
  const fallback = makeSample({ host: { ...base.host, valueSource: 'estimate', sensorFallback: 'rapl_unreadable' }, sockets: [] });

  it('scaph_sensor_fallback{reason} 1 with the fallback; absent when measured', () => {
    const metric = sampleToMetrics(fallback).filter((m) => m.name === 'scaph_sensor_fallback');
    expect(metric).toMatchObject([{ name: 'scaph_sensor_fallback', help: METRIC_FAMILIES.scaph_sensor_fallback.help, type: 'gauge', kind: 'int', labels: { reason: 'rapl_unreadable' }, value: 1 }]);
    expect(sampleToMetrics(base).some((m) => m.name === 'scaph_sensor_fallback')).toBe(false);
    // One frozen labels object per reason, shared by every sample (encoders cache per labels object).
    const again = sampleToMetrics(makeSample({ host: { ...fallback.host, sensorFallback: 'rapl_unreadable' } })).find((m) => m.name === 'scaph_sensor_fallback');
    expect(again?.labels).toBe(metric[0]?.labels);
    expect(Object.isFrozen(again?.labels)).toBe(true);
    const missing = makeSample({ host: { ...fallback.host, sensorFallback: 'rapl_missing' } });
    expect(sampleToMetrics(missing).find((m) => m.name === 'scaph_sensor_fallback')?.labels).toEqual({ reason: 'rapl_missing' });
  });

  it('the JSON report says it in host.sensor_fallback; the stdout table after the value source', () => {
    const options = { resources: false, containers: false, maxCmdlineLength: 0 };
    const selection = new ProcessSelector(selectionOptions({ maxTopConsumers: 1 }));
    expect(sampleToJsonReport(fallback, selection.select(fallback), options).host).toMatchObject({ value_source: 'estimate', sensor_fallback: 'rapl_unreadable' });
    expect(sampleToJsonReport(base, selection.select(base), options).host).not.toHaveProperty('sensor_fallback');
    const table = formatSampleTable(fallback, selection.select(fallback), selectionOptions({ maxTopConsumers: 1 }));
    expect(table.split('\n')[0]).toMatch(/^Host:\t100\.000000 W from estimate, as RAPL is not readable by this user \(active /);
  });
});
