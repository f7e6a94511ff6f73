/**
 * remote-write with a process selection, on the wire: only the selected processes' series, the others
 * rollup beside them, and a staleness marker on each series of a process the moment it leaves.
 */
import snappy from 'snappy';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../src/core/log.js';
import { MetricsView } from '../../../../src/core/metrics-view.js';
import { createPushExporter } from '../../../../src/delivery/push-exporter.js';
import { RemoteWriteTransport } from '../../../../src/exporters/remote-write/transport.js';
import { decodeWriteRequest, type PromTimeSeries } from '../../../support/oracles/remote-write.js';
import { selectionOptions } from '../../../support/fixtures/selection.js';
import { syntheticSample } from '../../../support/fixtures/synthetic-sample.js';
import { startRecordingHttpServer, type RecordingHttpServer } from '../../../support/servers/recording-http.js';

const T0 = Date.parse('2026-03-01T12:00:00Z');
let sink: RecordingHttpServer | null = null;
afterEach(() => {
  sink?.server.close();
  sink = null;
});

/**
 * Step i (1 s steps): pid 1 leads; pids 2 and 3 trade the 2nd rank at step 1; pid 4 stays at the bottom.
 * Each energy counter grows by its power × 1 s.
 */
function step(i: number) {
  const power = (k: number) => (k === 0 ? [9_000_000, 3_000_000, 2_000_000, 5] : [9_000_000, 2_000_000, 3_000_000, 5]);
  const energy = (p: number) => Array.from({ length: i + 1 }, (_, k) => power(k)[p] as number).reduce((a, b) => a + b, 0);
  return syntheticSample({
    timestampMs: T0 + i * 1000,
    processes: ['big', 'a', 'b', 'idle'].map((exe, p) => ({ pid: p + 1, exe, powerUw: power(i)[p] as number, energyUj: energy(p) })),
  });
}

function label(s: PromTimeSeries, name: string): string | undefined {
  return s.labels.find((l) => l.name === name)?.value;
}

/** Sample.value (field 1, 64-bit) holding Prometheus' staleness NaN 0x7ff0000000000002, little-endian. */
const MARKER = Buffer.from([0x09, 0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f]);

function markers(body: Buffer): number {
  let count = 0;
  for (let i = body.indexOf(MARKER); i >= 0; i = body.indexOf(MARKER, i + 1)) count += 1;
  return count;
}

describe('remote-write with --max-top-consumers', () => {
  it('sends the selected processes and the others, and ends a leaving process with staleness markers', async () => {
    sink = await startRecordingHttpServer();
    const ex = createPushExporter(
      new RemoteWriteTransport({ url: `http://127.0.0.1:${sink.port}/api/v1/write`, version: 't', timeoutMs: 3000, job: 'scaph', instance: 'h', extraLabels: {} }),
      { logger: silentLogger(), view: new MetricsView({ selection: selectionOptions({ maxTopConsumers: 2, holdSteps: 1 }) }), selfMetrics: false },
    );
    await ex.start();
    for (let i = 0; i < 4; i++) {
      ex.export(step(i));
      await ex.idle();
    }
    await ex.stop(1000);
    const bodies = sink.requests.map((r) => Buffer.from(snappy.uncompressSync(r.body) as Buffer));
    const requests = bodies.map((b) => decodeWriteRequest(b).timeseries);
    expect(requests).toHaveLength(4);
    const power = (series: readonly PromTimeSeries[], pid: string) =>
      series.find((s) => label(s, '__name__') === 'scaph_process_power_consumption_microwatts' && label(s, 'pid') === pid)?.samples[0];
    const others = (series: readonly PromTimeSeries[], name: string) => series.find((s) => label(s, '__name__') === name)?.samples[0]?.value;
    // Step 0: pids 1, 2; step 1: pid 3 takes the rank, pid 2 is held one step; step 2: pid 2 leaves.
    expect(requests.map((r) => ['1', '2', '3', '4'].filter((pid) => { const p = power(r, pid); return p !== undefined && !Number.isNaN(p.value); }))).toEqual([
      ['1', '2'],
      ['1', '2', '3'],
      ['1', '3'],
      ['1', '3'],
    ]);
    // Its five series end at step 2's timestamp with the exact staleness NaN (its bytes: the decoder quiets
    // the NaN), then are not sent again; no other series ends.
    expect(bodies.map(markers)).toEqual([0, 0, 5, 0]);
    const stale = (requests[2] as PromTimeSeries[]).filter((s) => label(s, 'pid') === '2');
    expect(stale.map((s) => label(s, '__name__')).sort()).toEqual([
      'scaph_process_cpu_usage_percentage',
      'scaph_process_energy_microjoules',
      'scaph_process_memory_bytes',
      'scaph_process_memory_virtual_bytes',
      'scaph_process_power_consumption_microwatts',
    ]);
    for (const s of stale) expect(s.samples.map((p) => [Number.isNaN(p.value), p.timestamp])).toEqual([[true, T0 + 2000]]);
    expect((requests[3] as PromTimeSeries[]).some((s) => label(s, 'pid') === '2')).toBe(false);
    expect(requests.flat().filter((s) => s.samples.some((p) => Number.isNaN(p.value))).every((s) => label(s, 'pid') === '2')).toBe(true);
    // The others: what is not sent, in µW, µJ (the growth of what was not sent) and processes.
    expect(requests.map((r) => others(r, 'scaph_process_others_power_microwatts'))).toEqual([2_000_005, 5, 2_000_005, 2_000_005]);
    expect(requests.map((r) => others(r, 'scaph_process_others_count'))).toEqual([2, 1, 2, 2]);
    // Energy: 0 at the first step (the baseline), then the growth of what was not sent: pid 4's 5 µJ a step,
    // and pid 2's 2 J a step once it left.
    expect(requests.map((r) => others(r, 'scaph_process_others_energy_microjoules'))).toEqual([0, 5, 2_000_010, 4_000_015]);
    // pid 2's energy series stops at its 5 J counter (then its staleness marker); pid 3's goes on from its counter (nothing was counted
    // in others for it after the baseline).
    const energy = (series: readonly PromTimeSeries[], pid: string) =>
      series.find((s) => label(s, '__name__') === 'scaph_process_energy_microjoules' && label(s, 'pid') === pid)?.samples[0]?.value;
    expect(requests.map((r) => energy(r, '2'))).toEqual([3_000_000, 5_000_000, Number.NaN, undefined]);
    expect(requests.map((r) => energy(r, '3'))).toEqual([undefined, 5_000_000, 8_000_000, 11_000_000]);
  });
});
