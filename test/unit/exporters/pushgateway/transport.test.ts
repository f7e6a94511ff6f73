import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../src/core/log.js';
import type { Metric } from '../../../../src/core/metric-families.js';
import { PushgatewayTransport } from '../../../../src/exporters/pushgateway/transport.js';
import type { RefusedSeries } from '../../../../src/exporters/prometheus/wire.js';

const OPTIONS = { baseUrl: 'http://127.0.0.1:9', suffix: 'metrics', job: 'scaph', instance: 'box', version: '1', timeoutMs: 1000 };

function metric(value: number, pid: string): Metric {
  return { name: 'scaph_process_energy_microjoules', help: 'energy', type: 'counter', kind: 'int', labels: { pid }, value };
}

describe('PushgatewayTransport.encode', () => {
  it('leaves a series it cannot encode out of the PUT body and reports it; the push keeps every other series', async () => {
    const refused: RefusedSeries[] = [];
    const transport = new PushgatewayTransport(OPTIONS, silentLogger(), (s) => refused.push(s));
    const body = await transport
      .encode([{ timestampMs: 1, metrics: [metric(7, '1'), metric(-7, '2'), metric(Number.NaN, '3')], vanished: [], endedProcesses: [] }])
      .metrics();
    expect(body).toBe('# HELP scaph_process_energy_microjoules energy\n# TYPE scaph_process_energy_microjoules counter\nscaph_process_energy_microjoules{pid="1"} 7\n');
    expect(refused.map((r) => r.labels['pid'])).toEqual(['2', '3']);
    await transport.endpoint.close();
  });
});
