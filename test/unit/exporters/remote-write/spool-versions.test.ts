/**
 * The disk spool holds samples (spool format 1: one Sample per record, deflate-raw JSON), never encoded
 * bodies, so the remote-write version can change between two runs, or fall back in the middle of a replay,
 * and every spooled sample still goes out once, in order. A spool 0.1.0 left is replayed as 2.0 too.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../src/core/log.js';
import { packageRoot } from '../../../../src/core/package-file.js';
import { createPushExporter } from '../../../../src/delivery/push-exporter.js';
import { SpooledExporter } from '../../../../src/delivery/spooled-exporter.js';
import type { Transport } from '../../../../src/delivery/transport.js';
import { RemoteWriteTransport } from '../../../../src/exporters/remote-write/transport.js';
import { RemoteWriteV2Transport } from '../../../../src/exporters/remote-write/transport-v2.js';
import { syntheticSample } from '../../../support/fixtures/synthetic-sample.js';
import { RemoteWriteV2Receiver, type ReceiverMode } from '../../../support/servers/remote-write-v2-receiver.js';

const HOST = 'scaph_host_power_microwatts';
const LABELS = { job: 'scaph', instance: 'spool-host', extraLabels: {} };
const logger = silentLogger();
const backoff = { minDelayMs: 20, maxDelayMs: 50 };

const temps: string[] = [];
const receivers: RemoteWriteV2Receiver[] = [];
afterEach(async () => {
  for (const r of receivers.splice(0)) await r.stop();
});
afterAll(() => {
  for (const t of temps.splice(0)) rmSync(t, { recursive: true, force: true });
});

function spoolDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'scaph-rw-spool-'));
  temps.push(dir);
  return join(dir, 'spool');
}

async function receiver(mode: ReceiverMode): Promise<RemoteWriteV2Receiver> {
  const r = await RemoteWriteV2Receiver.start(mode);
  receivers.push(r);
  return r;
}

function transport(version: '1.0' | '2.0', url: string, countersStartMs: number | null = null): Transport<unknown> {
  const common = { url, version: 'test', timeoutMs: 2000, ...LABELS };
  return version === '1.0' ? new RemoteWriteTransport(common) : new RemoteWriteV2Transport({ ...common, logger, recheckMs: null, countersStartMs });
}

function spooled(t: Transport<unknown>, dir: string): SpooledExporter {
  return new SpooledExporter(createPushExporter(t, { logger, backoff, selfMetrics: false }), { dir, maxBytes: 1 << 22, maxAgeMs: 100 * 365 * 86_400_000, logger, windowSamples: 4 });
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 250 && !condition(); i++) await new Promise((r) => setTimeout(r, 20));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

const power = (i: number): number => 30_000_000 + i * 101;

/** Run 1 spools 12 samples sent as `first` to a receiver that is down; run 2 (`second`) replays them and adds 3. */
async function switchOver(first: '1.0' | '2.0', second: '1.0' | '2.0', mode: ReceiverMode): Promise<{ r: RemoteWriteV2Receiver; stamps: number[] }> {
  const dir = spoolDir();
  const r = await receiver(mode);
  await r.stop();
  const stamps = Array.from({ length: 15 }, (_, i) => Date.now() - 60_000 + i * 1000);
  const run1 = spooled(transport(first, r.url), dir);
  await run1.start();
  stamps.slice(0, 12).forEach((t, i) => run1.export(syntheticSample({ timestampMs: t, socketPowersUw: [power(i)] })));
  await new Promise((resolve) => setTimeout(resolve, 100));
  await run1.stop(100);
  expect(run1.inner.stats.snapshot().droppedTotal).toBe(0);
  expect(readFileSync(join(dir, 'format'), 'utf8')).toBe('scaph spool format 1\n');

  await r.restart();
  const run2 = spooled(transport(second, r.url), dir);
  expect(run2.inner.stats.spoolSamples).toBe(12);
  await run2.start();
  stamps.slice(12).forEach((t, i) => run2.export(syntheticSample({ timestampMs: t, socketPowersUw: [power(12 + i)] })));
  await until(() => r.timestamps(HOST).length >= 15 && run2.inner.stats.spoolSamples === 0, 'the replay');
  await run2.stop(1000);
  expect(run2.inner.stats.snapshot().droppedTotal).toBe(0);
  expect(r.violations).toEqual([]);
  return { r, stamps };
}

describe('a spool across remote-write versions', () => {
  it('spooled while sending 2.0, replayed as 1.0 (--protocol-version changed): every sample once, in order, with its value', async () => {
    const { r, stamps } = await switchOver('2.0', '1.0', '2.0');
    expect(r.timestamps(HOST)).toEqual(stamps);
    expect(r.find(HOST)[0]?.samples.map((s) => s.value)).toEqual(stamps.map((_, i) => power(i)));
    expect(new Set(r.requests.map((q) => q.version))).toEqual(new Set(['1.0']));
  });

  it('spooled while sending 1.0, replayed as 2.0 to a 1.x receiver: the fallback in the middle of the replay loses nothing', async () => {
    const { r, stamps } = await switchOver('1.0', '2.0', '1.x-blind');
    expect(r.timestamps(HOST)).toEqual(stamps);
    expect(r.find(HOST)[0]?.samples.map((s) => s.value)).toEqual(stamps.map((_, i) => power(i)));
    expect(r.requests.map((q) => q.version).slice(0, 2)).toEqual(['2.0', '1.0']);
    expect(r.requests.filter((q) => q.version === '2.0')).toHaveLength(1);
  });

  it("scaph 0.1.0's spool replayed as 2.0: its two unsent samples arrive with their values, and no start timestamp (an earlier run's)", async () => {
    const dir = spoolDir();
    cpSync(join(packageRoot(), 'test', 'support', 'fixtures', 'spool-0.1.0'), dir, { recursive: true });
    const r = await receiver('2.0');
    // This run started counting after the capture: the spooled counters are an earlier run's.
    const ex = spooled(transport('2.0', r.url, 1796631173395 + 60_000), dir);
    await ex.start();
    await until(() => r.timestamps(HOST).length >= 2, 'the replay');
    await ex.stop(1000);
    expect(r.find(HOST)[0]?.samples).toEqual([
      { value: 17069608, timestamp: 1796631172395, startTimestamp: 0 },
      { value: 16904044, timestamp: 1796631173395, startTimestamp: 0 },
    ]);
    expect(r.find(HOST)[0]?.labels).toEqual({ __name__: HOST, instance: 'spool-host', job: 'scaph', value_source: 'powercap_rapl_psys' });
    expect(r.find(HOST)[0]?.metadata?.unit).toBe('microwatts');
    const energy = r.find('scaph_process_energy_microjoules', { pid: '202' });
    expect(energy[0]?.metadata?.type).toBe(1);
    expect(energy[0]?.samples.every((s) => s.startTimestamp === 0)).toBe(true);
    expect(r.requests.every((q) => q.version === '2.0')).toBe(true);
    expect(r.violations).toEqual([]);
  });
});
