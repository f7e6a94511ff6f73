import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManagedServer } from '../../support/servers/managed-server.js';
import { startVictoriaMetrics, vmExport } from '../../support/servers/victoria-metrics.js';
import { HOSTNAME, hostPowerUw, makeExporter, runSteps } from '../../support/harness/remote-write.js';

let vm: ManagedServer;

beforeAll(async () => {
  vm = await startVictoriaMetrics();
}, 90_000);

afterAll(async () => {
  await vm?.dispose();
});

const writeUrl = () => `${vm.baseUrl}/api/v1/write`;

describe('remote-write to a real VictoriaMetrics', () => {
  it('stores every step: series, labels and exact host power', async () => {
    const ex = makeExporter(writeUrl(), {}, { job: 'scaph-basic' });
    await ex.start();
    const steps = 6;
    const { timestampsMs } = await runSteps(ex, steps, 500);
    await ex.idle();
    await ex.stop(5000);
    const host = await vmExport(vm, 'scaph_host_power_microwatts{job="scaph-basic"}', steps);
    expect(host.length).toBe(1);
    expect(host[0]?.labels).toEqual({
      __name__: 'scaph_host_power_microwatts',
      dc: 'test-dc',
      instance: HOSTNAME,
      job: 'scaph-basic',
      value_source: 'powercap_rapl_pkg',
    });
    expect(host[0]?.points).toEqual(timestampsMs.map((t, i) => ({ timestampMs: t, value: hostPowerUw(i) })));
    const domains = await vmExport(vm, 'scaph_domain_power_microwatts{job="scaph-basic"}');
    expect(domains.map((d) => `${d.labels['socket_id']}/${d.labels['domain_name']}`).sort()).toEqual(['0/dram', '1/dram']);
    const sent = await vmExport(vm, 'scaph_delivery_samples_sent_total{job="scaph-basic",transport="remote-write"}');
    expect(sent.length).toBe(1);
    expect(ex.stats.sent).toBe(steps);
  });
});
