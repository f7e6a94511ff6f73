/**
 * The built CLI pushing to a real VictoriaMetrics through a fault proxy: a backlog builds while the
 * backend answers 503, then SIGTERM: the agent flushes the backlog within its deadline and exits 0.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCAPH_BIN as BIN } from '../../support/fixtures/run-scaph.js';
import { FaultProxy } from '../../support/servers/fault-proxy.js';
import type { ManagedServer } from '../../support/servers/managed-server.js';
import { startVictoriaMetrics, vmExport } from '../../support/servers/victoria-metrics.js';

let vm: ManagedServer;
let proxy: FaultProxy;

beforeAll(async () => {
  vm = await startVictoriaMetrics();
  proxy = new FaultProxy(vm.baseUrl);
  await proxy.start();
});

afterAll(async () => {
  await proxy?.close();
  await vm?.stop();
});

describe('scaph remote-write (built CLI)', () => {
  it('on SIGTERM flushes the backlog queued during an outage, then exits 0', async () => {
    proxy.fallback = { kind: 'status', status: 503 };
    const child = spawn(
      process.execPath,
      [BIN, '--no-header', '--sensor', 'estimate', 'remote-write', '-u', `${proxy.url}/api/v1/write`, '-S', '0.25', '--job', 'sigterm-test'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // 3 s of outage from the agent's first attempt (a loaded machine may take seconds to start node).
    const until = Date.now() + 20_000;
    while (!proxy.requests.some((r) => r.status === 503) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 3000));
    const failedBefore = proxy.requests.filter((r) => r.status === 503).length;
    proxy.fallback = { kind: 'pass' };
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code, stderr).toBe(0);
    expect(failedBefore).toBeGreaterThanOrEqual(2);

    const host = await vmExport(vm, 'scaph_host_power_microwatts{job="sigterm-test"}', 8);
    const dropped = await vmExport(vm, 'scaph_delivery_samples_dropped_total{job="sigterm-test"}');
    const points = host[0]?.points ?? [];
    // ~12 readings in 3 s at a 0.25 s step, all queued during the outage, all delivered after SIGTERM.
    expect(points.length).toBeGreaterThanOrEqual(8);
    expect(stderr).not.toMatch(/unsent samples dropped/);
    expect(dropped.flatMap((s) => s.points).every((p) => p.value === 0)).toBe(true);
    const ts = points.map((p) => p.timestampMs);
    expect(ts).toEqual([...ts].sort((a, b) => a - b));
    expect(new Set(ts).size).toBe(ts.length);
  });
});
