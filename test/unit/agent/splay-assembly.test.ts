/**
 * Splay through the one assembly path (runAgent): a real machine sensor on a real-clock powercap tree, the
 * Scheduler and SteppedExporter as runAgent builds them, and a push exporter through the delivery core.
 * The start-up reading waits for the first push on this host's phase of the clock and goes first; the
 * others land on the phase; energy counts the whole time since the sensor started, whatever the intervals.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runAgent } from '../../../src/agent/assemble.js';
import { samplingPhaseMs, splayKey } from '../../../src/agent/splay.js';
import { validateRunConfig } from '../../../src/config/run-config.js';
import { parseConfigText } from '../../../src/config/source.js';
import { silentLogger } from '../../../src/core/log.js';
import { MACHINE_ID_FILE_ENV } from '../../../src/core/machine-id.js';
import type { QueuedSample } from '../../../src/delivery/transport.js';
import { valueOption } from '../../../src/config/declared-options.js';
import { PUSH_OPTIONS, pushSettings } from '../../../src/exporters/backoff.js';
import type { PushExporterCommand, PushSettings } from '../../../src/exporters/command.js';
import { positiveSeconds } from '../../../src/exporters/parse.js';
import { FakeTransport } from '../../support/fakes/fake-transport.js';
import { createPowercapTree } from '../../support/fixtures/powercap-tree.js';
import { ProcfsTree } from '../../support/fixtures/procfs-tree.js';
import { DEFAULT_SENSOR, RUN_GLOBALS } from '../../support/fixtures/run-globals.js';

const dir = mkdtempSync(join(tmpdir(), 'scaph-splay-run-'));
const powercap = createPowercapTree('amd', { clock: 'real' });
const procfs = ProcfsTree.create({ cpuCount: 2, processes: [{ pid: 4000, comm: 'worker', utime: 100, stime: 0, starttime: 500 }] });
const stopCpu = procfs.runCpu({ user: 10, idle: 10 }, [], 100);
afterAll(() => {
  stopCpu();
  powercap.close();
  procfs.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** amd preset: host power is package-0 alone. */
const HOST_W = 85;
const MACHINE_ID = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const env = { SCAPH_HOSTNAME: 'splay-assembly', [MACHINE_ID_FILE_ENV]: join(dir, 'machine-id') };
writeFileSync(env[MACHINE_ID_FILE_ENV], `${MACHINE_ID}\n`);

const RECORDING_OPTIONS = { step: valueOption('--step <seconds>', 'step', positiveSeconds('--step'), { unit: 'seconds', role: 'step', default: 2 }), ...PUSH_OPTIONS };

/** A push subcommand over a FakeTransport that keeps what it was sent. */
function recordingPush(transport: FakeTransport): PushExporterCommand<PushSettings, typeof RECORDING_OPTIONS> {
  return {
    name: 'recording-push',
    summary: 'test',
    push: true,
    options: RECORDING_OPTIONS,
    helpText: '',
    settings: (v) => pushSettings(v, v.step),
    create: async () => ({ kind: 'push', transport, delivery: { timeoutMs: 5000 } }),
  };
}

function value(entry: QueuedSample, name: string): number {
  const metric = entry.metrics.find((m) => m.name === name);
  if (!metric) throw new Error(`no ${name} in the pushed sample`);
  return metric.value;
}

/** Within 4 % of the tree's power: its counters are rewritten every 10 ms by this process, late under load. */
function expectWatts(watts: number): void {
  expect(Math.abs(watts / HOST_W - 1), `${watts} W`).toBeLessThan(0.04);
}

/** Runs the agent with one recording push exporter for `durationMs`; the samples it pushed, and when the run started (epoch ms). */
async function run(splay: boolean, durationMs: number): Promise<{ pushed: QueuedSample[]; firstSentAtMs: number; startedAtMs: number }> {
  const transport = new FakeTransport();
  const command = recordingPush(transport);
  const text = `[sensor]\nstep = 2\n\n[[exporter]]\ntype = "recording-push"\nsplay = ${splay}\n`;
  const config = validateRunConfig(join(dir, 'run.toml'), parseConfigText('run.toml', text), { commands: [command] });
  const globals = { ...RUN_GLOBALS, sensor: { ...DEFAULT_SENSOR, kind: 'powercap_rapl' as const, powercapPath: powercap.powercapPath, procfsPath: procfs.root } };
  const startedAtMs = Date.now();
  await runAgent(config, globals, silentLogger(), { env }, { durationMs, stopDeadlineMs: 2000, banner: () => '' });
  const pushed = transport.batches.flat().filter((e) => !e.metrics.some((m) => m.name.startsWith('scaph_delivery_')));
  return { pushed, firstSentAtMs: performance.timeOrigin + (transport.attempts[0]?.atMs ?? Number.NaN), startedAtMs };
}

describe('splay through runAgent (2 s step, real sensor and delivery core)', () => {
  it('holds the start-up reading for the first push on this host\'s phase; energy counts from the start', async () => {
    const { pushed, firstSentAtMs, startedAtMs } = await run(true, 7000);
    const phase = samplingPhaseMs(splayKey('splay-assembly', env).key, 2000);
    expect(pushed.length).toBeGreaterThanOrEqual(3);
    const [startup, first] = pushed as [QueuedSample, QueuedSample];
    // The start-up reading (1 s after start) went first, but only with the first sample on the grid (>= 1 + 1 s).
    expect(startup.timestampMs - startedAtMs).toBeGreaterThanOrEqual(950);
    expect(startup.timestampMs - startedAtMs).toBeLessThan(1600);
    expect(first.timestampMs - startedAtMs).toBeGreaterThanOrEqual(1950);
    expect(firstSentAtMs).toBeGreaterThanOrEqual(first.timestampMs - 5);
    for (const e of pushed.slice(1)) {
      // Signed distance to the nearest grid point: timers fire up to a millisecond early (libuv's clock is
      // in whole ms) and late by the reading's time and the machine's load.
      const late = ((((e.timestampMs - phase) % 2000) + 3000) % 2000) - 1000;
      expect(late, `sample at ${e.timestampMs}: ${late} ms after its grid point`).toBeGreaterThan(-5);
      expect(late, `sample at ${e.timestampMs}: ${late} ms after its grid point`).toBeLessThan(250);
    }
    for (const e of pushed) expectWatts(value(e, 'scaph_host_power_microwatts') / 1e6);
    // The start-up reading's energy: everything since the sensor's first reading, taken right after start.
    const sinceStartS = (value(startup, 'scaph_host_energy_timestamp_seconds') * 1000 - startedAtMs) / 1000;
    const startupJ = value(startup, 'scaph_host_energy_microjoules') / 1e6;
    expect(startupJ).toBeLessThanOrEqual(HOST_W * sinceStartS * 1.03);
    expect(startupJ).toBeGreaterThan(HOST_W * (sinceStartS - 0.4));
    // Every later interval, the irregular one up to the grid included: energy grows by power x time.
    for (let i = 1; i < pushed.length; i++) {
      const a = pushed[i - 1] as QueuedSample;
      const b = pushed[i] as QueuedSample;
      const dtS = value(b, 'scaph_host_energy_timestamp_seconds') - value(a, 'scaph_host_energy_timestamp_seconds');
      const dJ = (value(b, 'scaph_host_energy_microjoules') - value(a, 'scaph_host_energy_microjoules')) / 1e6;
      expectWatts(dJ / dtS);
    }
  }, 20_000);

  it('with splay = false pushes the start-up reading, within a second or so of start (today)', async () => {
    const { pushed, startedAtMs } = await run(false, 2500);
    expect(pushed.length).toBeGreaterThanOrEqual(1);
    expect((pushed[0] as QueuedSample).timestampMs - startedAtMs).toBeLessThan(1500);
  }, 20_000);
});
