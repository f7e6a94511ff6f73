/**
 * The machine sensor over the real /proc with a platform meter as its power source: the ACPI power meter of
 * a synthetic hwmon tree (its clock the real one), then a Redfish BMC (test server over HTTPS), each at a
 * known wattage, beside a steady CPU burner. The truth is computed here, independently of the sensor, from
 * /proc/stat's busy ticks and the burner's own stat line over the same span: the burner's power is the
 * meter's power × its ticks / busy ticks of the machine, as with RAPL. An *.exclusive.test.ts file: npm test
 * runs it alone (other load changes the figures, not the verdict).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/core/log.js';
import type { Sample } from '../../../src/core/sample.js';
import { HwmonSource } from '../../../src/sensors/hwmon/source.js';
import { MachineSensor } from '../../../src/sensors/machine-sensor.js';
import type { PowerSource } from '../../../src/sensors/power-source.js';
import { RedfishSource } from '../../../src/sensors/redfish/source.js';
import { HwmonTree } from '../../support/fixtures/hwmon-tree.js';
import { busyTicks, ticksOf } from '../../support/oracles/proc-truth.js';
import { FakeBmc } from '../../support/servers/redfish-bmc.js';
import { makeTestPki } from '../../support/servers/test-ca.js';

const STEPS = 5;
const STEP_MS = 1000;

let burner: ChildProcess;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'scaph-platform-real-'));
  burner = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  await sleep(300);
});

afterAll(() => {
  burner.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** STEPS readings of the machine sensor over `source`; the burner's truth measured around them. */
async function run(source: PowerSource, hostW: number): Promise<void> {
  const sensor = new MachineSensor({ powerSource: source, procfsPath: '/proc', hostname: 'test', logger: silentLogger() });
  const pid = burner.pid as number;
  await sensor.start();
  const busyBefore = busyTicks();
  const before = ticksOf(pid).own;
  const samples: Sample[] = [];
  for (let i = 0; i < STEPS; i++) {
    await sleep(STEP_MS);
    samples.push(await sensor.read());
  }
  const busy = busyTicks() - busyBefore;
  const burnerTicks = ticksOf(pid).own - before;
  await sensor.close();
  const seconds = samples.reduce((s, x) => s + x.intervalMs, 0) / 1000;
  const last = [...samples].reverse().find((s) => s.processes.some((p) => p.pid === pid));
  const scaphBurnerW = (last?.processes.find((p) => p.pid === pid)?.energyUj ?? 0) / 1e6 / seconds;
  const truthBurnerW = hostW * (burnerTicks / busy);
  const hostEnergyW = (samples[samples.length - 1]?.host.energyUj ?? 0) / 1e6 / seconds;
  console.log(JSON.stringify({ source: source.kind, seconds, busy, burnerTicks, truthBurnerW, scaphBurnerW, hostEnergyW, loadavg: readFileSync('/proc/loadavg', 'utf8').trim() }));
  for (const s of samples) {
    expect(Math.abs(s.host.powerUw / 1e6 - hostW) / hostW).toBeLessThan(0.01);
    expect(s.processes.reduce((sum, p) => sum + p.powerUw, 0) + s.host.unattributedPowerUw).toBe(Math.round(s.host.powerUw));
  }
  // Host energy over the run is the meter's power over the run's time.
  expect(Math.abs(hostEnergyW - hostW) / hostW).toBeLessThan(0.01);
  expect(Math.abs(scaphBurnerW - truthBurnerW) / truthBurnerW).toBeLessThan(0.15);
}

describe('processes\' shares of a platform meter on the real /proc', () => {
  it('the ACPI power meter (hwmon)', async () => {
    const tree = new HwmonTree([{ name: 'power_meter', channels: [{ id: 'power1', watts: 312.5 }] }], { clock: 'real' });
    try {
      await run(new HwmonSource({ hwmonPath: tree.hwmonPath, channels: [], logger: silentLogger() }), 312.5);
    } finally {
      tree.close();
    }
  });

  it('the BMC over Redfish', async () => {
    const pki = makeTestPki(dir);
    const bmc = await FakeBmc.start({ pki, user: 'monitor', password: 'pw', chassis: [{ id: '1U', watts: 412.5 }] });
    try {
      const source = new RedfishSource({
        url: bmc.url,
        user: 'monitor',
        password: 'pw',
        passwordFile: undefined,
        ca: readFileSync(pki.caPath, 'utf8'),
        insecure: false,
        chassis: undefined,
        intervalMs: 1000,
        logger: silentLogger(),
      });
      await run(source, 412.5);
    } finally {
      await bmc.close();
    }
  });
});
