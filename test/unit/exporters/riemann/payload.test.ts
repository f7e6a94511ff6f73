/**
 * The Riemann payload of one step on a synthetic tree of 500 processes, measured: the bytes the wire
 * encoder writes with the defaults and with each option that trims it, against the layout before the
 * cmdline attribute moved to the power event only (every process event carried it). Each saving must be
 * at least the bytes of the fields it removes, computed from the metrics themselves, and at most that
 * plus one byte per event touched (an event's length prefix may shrink by one byte).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../src/core/log.js';
import { metricFilter } from '../../../../src/core/metric-filter.js';
import { MetricsView, type MetricsViewOptions } from '../../../../src/core/metrics-view.js';
import type { Metric } from '../../../../src/core/metric-families.js';
import type { Sample } from '../../../../src/core/sample.js';
import type { QueuedSample } from '../../../../src/delivery/transport.js';
import type { RiemannEventOptions } from '../../../../src/exporters/riemann/events.js';
import { encodeFrame, type RiemannEvent } from '../../../../src/exporters/riemann/proto.js';
import { RiemannWireEncoder } from '../../../../src/exporters/riemann/wire.js';
import { MachineSensor } from '../../../../src/sensors/machine-sensor.js';
import { ConstantPowerSource } from '../../../support/fakes/fake-power-source.js';
import { generateProcesses, ProcfsTree, type FakeProcess } from '../../../support/fixtures/procfs-tree.js';
import { RiemannEventBuilder } from '../../../support/oracles/riemann-events.js';

const PROCESSES = 500;
const MAX_EVENTS_PER_MSG = 500;
const OPTIONS: RiemannEventOptions = { hostname: 'host-01.example.org', ttlS: 60, tags: [] };
/** What `scaph riemann` views by default. */
const VIEW: MetricsViewOptions = { maxCmdlineLength: 256, version: '1.0.0' };
const POWER = 'scaph_process_power_consumption_microwatts';

/** generateProcesses' command lines (`/usr/bin/worker-N --id I`, ~25 bytes), and ones as long as a JVM's or a Python service's. */
const TREES: ReadonlyArray<readonly [string, FakeProcess[]]> = [
  ['short command lines', generateProcesses(PROCESSES)],
  [
    'long command lines',
    generateProcesses(PROCESSES).map((p, i) => ({
      ...p,
      argv: [`/usr/lib/jvm/java-17/bin/java`, '-Xms512m', '-Xmx2g', `-Dapp.instance=${i}`, '-cp', '/opt/app/lib/*:/opt/app/conf', 'org.example.Main', '--config', `/etc/app/${p.comm}.yaml`],
    })),
  ],
];
const trees: ProcfsTree[] = [];
afterAll(() => {
  for (const t of trees) t.cleanup();
});

async function oneStep(processes: FakeProcess[]): Promise<Sample> {
  const tree = ProcfsTree.create({ processes, cpuCount: 2 });
  trees.push(tree);
  const sensor = new MachineSensor({ powerSource: new ConstantPowerSource(40_000_000), procfsPath: tree.root, hostname: OPTIONS.hostname, logger: silentLogger(), qemu: false });
  await sensor.start();
  tree.advanceCpu({ user: 300, idle: 100 });
  return sensor.read();
}

function queued(metrics: readonly Metric[], timestampMs: number): QueuedSample {
  return { timestampMs, metrics, vanished: [], endedProcesses: [] };
}

/** Bytes of one step as RiemannWireEncoder writes it (frames: length prefix + Msg). */
function wireBytes(entry: QueuedSample, options: RiemannEventOptions): number {
  return new RiemannWireEncoder(options, MAX_EVENTS_PER_MSG).encode([entry]).reduce((sum, f) => sum + f.bytes.length, 0);
}

/** Events framed by protobufjs, split into Msgs as the encoder splits them. */
function framedBytes(events: readonly RiemannEvent[]): number {
  let bytes = 0;
  for (let start = 0; start < events.length; start += MAX_EVENTS_PER_MSG) bytes += encodeFrame({ events: events.slice(start, start + MAX_EVENTS_PER_MSG) }).length;
  return bytes;
}

/** The layout before: every process event carried the cmdline attribute (the oracle's events, cmdline added back). */
function bytesBefore(entry: QueuedSample): number {
  const events = new RiemannEventBuilder(OPTIONS).build(entry.metrics, entry.timestampMs);
  entry.metrics.forEach((m, i) => {
    const cmdline = m.labels['cmdline'];
    const e = events[i];
    if (cmdline !== undefined && m.name !== POWER && e) e.attributes = [...(e.attributes ?? []), { key: 'cmdline', value: cmdline }];
  });
  return framedBytes(events);
}

function varintSize(n: number): number {
  let size = 1;
  for (let v = n; v >= 0x80; v = Math.floor(v / 128)) size++;
  return size;
}

/** A length-delimited protobuf field of `n` bytes: tag, length, bytes. */
function field(n: number): number {
  return 1 + varintSize(n) + n;
}

/** An Attribute{key, value} as an Event field. */
function attribute(key: string, value: string): number {
  return field(field(Buffer.byteLength(key)) + field(Buffer.byteLength(value)));
}

function expectSaving(before: number, after: number, removed: number, eventsTouched: number): void {
  expect(before - after).toBeGreaterThanOrEqual(removed);
  expect(before - after).toBeLessThanOrEqual(removed + eventsTouched);
}

describe.each(TREES)(`Riemann payload of one step, ${PROCESSES} processes, %s`, (what, processes) => {
  it('goes down with the cmdline on the power event only, --no-description, then --drop-labels cmdline, by at least the fields removed', async () => {
    const sample = await oneStep(processes);
    expect(sample.processes).toHaveLength(PROCESSES);
    const all = new MetricsView(VIEW).metrics(sample);
    const entry = queued(all, sample.timestampMs);
    const processMetrics = all.filter((m) => m.labels['pid'] !== undefined);
    const powerMetrics = processMetrics.filter((m) => m.name === POWER);
    const otherProcessMetrics = processMetrics.filter((m) => m.name !== POWER);
    const cmdlineOf = (m: Metric): number => attribute('cmdline', m.labels['cmdline'] as string);

    const before = bytesBefore(entry);
    const defaults = wireBytes(entry, OPTIONS);
    // The default encoder writes what the oracle builds (cmdline on the power event only), byte for byte.
    expect(defaults).toBe(framedBytes(new RiemannEventBuilder(OPTIONS).build(all, sample.timestampMs)));
    expectSaving(before, defaults, otherProcessMetrics.reduce((sum, m) => sum + cmdlineOf(m), 0), otherProcessMetrics.length);

    const noDescription = wireBytes(entry, { ...OPTIONS, description: false });
    expectSaving(defaults, noDescription, all.reduce((sum, m) => sum + field(Buffer.byteLength(m.help)), 0), all.length);

    const filter = metricFilter({ keepMetrics: [], dropMetrics: [], dropLabels: ['cmdline'] });
    const dropped = new MetricsView({ ...VIEW, filter }).metrics(sample);
    expect(dropped).toHaveLength(all.length);
    const noCmdline = wireBytes(queued(dropped, sample.timestampMs), { ...OPTIONS, description: false });
    expectSaving(noDescription, noCmdline, powerMetrics.reduce((sum, m) => sum + cmdlineOf(m), 0), powerMetrics.length);

    const figures = {
      tree: what,
      processes: PROCESSES,
      events: all.length,
      bytesBefore: before,
      bytesDefaults: defaults,
      bytesNoDescription: noDescription,
      bytesNoDescriptionNoCmdline: noCmdline,
      ratioDefaults: +(defaults / before).toFixed(3),
      ratioNoDescription: +(noDescription / before).toFixed(3),
      ratioNoDescriptionNoCmdline: +(noCmdline / before).toFixed(3),
    };
    console.log(`riemann payload per step: ${JSON.stringify(figures)}`);
    expect(noCmdline).toBeLessThan(noDescription);
    expect(noDescription).toBeLessThan(defaults);
    expect(defaults).toBeLessThan(before);
  });
});
