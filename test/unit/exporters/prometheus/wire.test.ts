import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Metric } from '../../../../src/core/metric-families.js';
import {
  OPENMETRICS_CONTENT_TYPE,
  registryFromMetrics,
  renderMetrics,
  TEXT_CONTENT_TYPE,
  warnRefusedOnce,
  type RefusedSeries,
} from '../../../../src/exporters/prometheus/wire.js';
import { captureLogger } from '../../../support/fakes/log-capture.js';

describe('prometheus-text content types', () => {
  // Written as literals so prom-client loads only when something is rendered: they must stay prom-client's.
  it("are prom-client's own", () => {
    expect(TEXT_CONTENT_TYPE).toBe(Registry.PROMETHEUS_CONTENT_TYPE);
    expect(OPENMETRICS_CONTENT_TYPE).toBe(Registry.OPENMETRICS_CONTENT_TYPE);
  });
});

describe('a series prom-client would refuse', () => {
  const help = 'test family';
  const series = (name: string, type: 'counter' | 'gauge', value: number, pid: string): Metric => ({ name, help, type, kind: 'int', labels: { pid }, value });

  it('is left out and reported, never the rendering: negative and non-finite counters', async () => {
    const refused: RefusedSeries[] = [];
    const text = await renderMetrics(
      [
        series('scaph_x_energy_microjoules', 'counter', 5, '1'),
        series('scaph_x_energy_microjoules', 'counter', -3, '2'),
        series('scaph_x_energy_microjoules', 'counter', Number.POSITIVE_INFINITY, '3'),
        series('scaph_x_energy_microjoules', 'counter', Number.NaN, '4'),
        series('scaph_x_energy_microjoules', 'counter', 0, '5'),
        series('scaph_x_power_microwatts', 'gauge', Number.NaN, '1'),
        series('scaph_x_power_microwatts', 'gauge', -2, '2'),
      ],
      'text',
      (s) => refused.push(s),
    );
    expect(text.split('\n').filter((l) => l.startsWith('scaph_'))).toEqual([
      'scaph_x_energy_microjoules{pid="1"} 5',
      'scaph_x_energy_microjoules{pid="5"} 0',
      // prom-client's spelling; Prometheus parses floats case-insensitively.
      'scaph_x_power_microwatts{pid="1"} Nan',
      'scaph_x_power_microwatts{pid="2"} -2',
    ]);
    expect(refused.map((r) => [r.labels['pid'], r.reason])).toEqual([
      ['2', 'a counter value cannot be negative'],
      ['3', 'a counter value must be a finite number'],
      ['4', 'a counter value must be a finite number'],
    ]);
    // The same in OpenMetrics, and the Pushgateway's registry (no listener: still no throw).
    await expect(renderMetrics([series('scaph_x_energy_microjoules', 'counter', -1, '9')], 'openmetrics')).resolves.toBe(
      `# HELP scaph_x_energy_microjoules ${help}\n# TYPE scaph_x_energy_microjoules counter\n# EOF\n`,
    );
    await expect(registryFromMetrics([series('scaph_x_energy_microjoules', 'counter', -1, '9')], 'text').metrics()).resolves.not.toContain('pid="9"');
  });

  it('is said once per metric by warnRefusedOnce, and every one counted', () => {
    const log = captureLogger();
    const listener = warnRefusedOnce(log.logger, '/metrics');
    for (let i = 0; i < 3; i++) listener({ name: 'scaph_a', labels: { pid: String(i) }, value: -i, reason: 'a counter value cannot be negative' });
    listener({ name: 'scaph_b', labels: {}, value: Number.NaN, reason: 'a counter value must be a finite number' });
    expect(listener.count()).toBe(4);
    expect(log.warnings().map((w) => [w['metric'], w['value']])).toEqual([
      ['scaph_a', '0'],
      ['scaph_b', 'NaN'],
    ]);
    expect(log.warnings()[0]?.msg).toBe('a series could not be encoded and is left out of /metrics; every other series is sent (said once per metric)');
  });
});
