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

  it('outage: server stopped ~15 s mid-run and restarted on the same port and data, no step lost or out of order', async () => {
    const ex = makeExporter(writeUrl(), { maxSamplesPerSend: 10 }, { job: 'scaph-outage' });
    await ex.start();
    const steps = 24;
    let stoppedAt = 0;
    let outageMs = 0;
    const { timestampsMs } = await runSteps(ex, steps, 1000, async (i) => {
      if (i === 4) {
        stoppedAt = performance.now();
        await vm.stop();
      }
      if (i === 19) {
        await vm.start();
        outageMs = performance.now() - stoppedAt;
      }
    });
    await ex.idle();
    await ex.stop(5000);
    const host = await vmExport(vm, 'scaph_host_power_microwatts{job="scaph-outage"}', steps);
    expect(host.length).toBe(1);
    // VictoriaMetrics keeps duplicates of a retried sample; every timestamp must appear exactly once.
    expect(host[0]?.points).toEqual(timestampsMs.map((t, i) => ({ timestampMs: t, value: hostPowerUw(i) })));
    expect(outageMs).toBeGreaterThan(14_000);
    expect(ex.stats.sent).toBe(steps);
    expect(ex.stats.retried).toBeGreaterThan(0);
    expect(ex.stats.snapshot().droppedTotal).toBe(0);
    console.info(
      `[victoria-metrics outage] outage ${Math.round(outageMs)} ms, ${host[0]?.points.length}/${steps} steps stored, ` +
        `attempts ${ex.stats.attempts}, failed ${ex.stats.failedAttempts}, retried samples ${ex.stats.retried}`,
    );
  }, 120_000);
});
