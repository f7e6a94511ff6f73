import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManagedServer } from '../../support/servers/managed-server.js';
import { promRawSamples, startPrometheus } from '../../support/servers/prometheus.js';
import { HOSTNAME, hostPowerUw, makeExporter, runSteps } from '../../support/harness/remote-write.js';

let prom: ManagedServer;

beforeAll(async () => {
  prom = await startPrometheus();
}, 90_000);

afterAll(async () => {
  await prom?.dispose();
});

const writeUrl = () => `${prom.baseUrl}/api/v1/write`;
const instantQuery = async (query: string, atMs: number) => {
  const url = new URL('/api/v1/query', prom.baseUrl);
  url.searchParams.set('query', query);
  url.searchParams.set('time', String(atMs / 1000));
  const body = (await (await fetch(url)).json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
  return body.data.result;
};

describe('remote-write to a real Prometheus', () => {
  it('stores every step: series, labels and exact host power; staleness ends a vanished process', async () => {
    const ex = makeExporter(writeUrl(), {}, { job: 'scaph-basic' });
    await ex.start();
    const steps = 6;
    const { timestampsMs } = await runSteps(ex, steps, 500, undefined, 3);
    await ex.idle();
    await ex.stop(5000);
    const last = timestampsMs[steps - 1] as number;

    const host = await promRawSamples(prom, 'scaph_host_power_microwatts{job="scaph-basic"}', last + 1, 60);
    expect(host.length).toBe(1);
    expect(host[0]?.labels).toEqual({
      __name__: 'scaph_host_power_microwatts',
      dc: 'test-dc',
      instance: HOSTNAME,
      job: 'scaph-basic',
      value_source: 'powercap_rapl_pkg',
    });
    expect(host[0]?.points).toEqual(timestampsMs.map((t, i) => ({ timestampMs: t, value: hostPowerUw(i) })));

    const sockets = await promRawSamples(prom, 'scaph_socket_power_microwatts{job="scaph-basic"}', last + 1, 60);
    expect(sockets.map((s) => s.labels['socket_id']).sort()).toEqual(['0', '1']);

    // The process lived for steps 0..2; at step 3 a staleness marker ended its series. Without the
    // marker Prometheus would keep answering with the last value for 5 minutes (lookback).
    const procQuery = 'scaph_process_power_consumption_microwatts{job="scaph-basic",pid="4242"}';
    const alive = await instantQuery(procQuery, (timestampsMs[2] as number) + 1);
    expect(alive.map((r) => Number(r.value[1]))).toEqual([3_000_002]);
    expect(await instantQuery(procQuery, (timestampsMs[3] as number) + 1)).toEqual([]);
    expect(await instantQuery(procQuery, last + 1)).toEqual([]);

    const sent = await instantQuery('scaph_delivery_samples_sent_total{job="scaph-basic",transport="remote-write"}', Date.now());
    expect(sent.length).toBe(1);
    expect(Number(sent[0]?.value[1])).toBeGreaterThanOrEqual(1);
    expect(ex.stats.sent).toBe(steps);
    expect(ex.stats.snapshot().droppedTotal).toBe(0);
  });
});
