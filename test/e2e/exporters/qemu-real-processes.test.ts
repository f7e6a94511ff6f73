/**
 * Host side: qemu-looking processes burn CPU, the machine sensor (qemu labels on) attributes power to
 * them, and the qemu exporter writes each VM's tree. Guest side: a second pipeline, PowercapSource
 * over one VM's tree + MachineSensor (what `scaph --vm --powercap-path <tree>` runs), must report as
 * host power the VM's attributed power over the same window.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/core/log.js';
import type { Sample } from '../../../src/core/sample.js';
import { QemuExporter, vmPowers } from '../../../src/exporters/qemu/exporter.js';
import { MachineSensor } from '../../../src/sensors/machine-sensor.js';
import { PowercapSource } from '../../../src/sensors/powercap/source.js';
import { ConstantPowerSource } from '../../support/fakes/fake-power-source.js';
import { LIBVIRT_ARGS, PROXMOX_ARGS, spawnFakeQemu, type FakeQemu } from '../../support/fakes/fake-qemu.js';

const STEP_MS = 1000;
/**
 * A name no other test file gives its fake VM: files run in parallel on the same real /proc, and the
 * compat suite's how-to spawns its own `vm1`, whose CPU would count as this VM's.
 */
const VM = 'realproc-vm1';
const HOST_UW = 120_000_000;
const logger = silentLogger();

let qemu: FakeQemu;
let path: string;

beforeAll(() => {
  qemu = spawnFakeQemu([
    { args: LIBVIRT_ARGS(VM), dutyPercent: 100 },
    { args: LIBVIRT_ARGS(VM), dutyPercent: 20 },
    { args: PROXMOX_ARGS('vm100'), dutyPercent: 40 },
  ]);
  path = mkdtempSync(join(tmpdir(), 'scaph-vmtrees-'));
});

afterAll(() => {
  qemu?.stop();
  if (path) rmSync(path, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('qemu exporter feeding a guest pipeline', () => {
  it('the guest reports the VM’s attributed power as its host power (within 1 %)', async () => {
    const hostSensor = new MachineSensor({ powerSource: new ConstantPowerSource(HOST_UW), procfsPath: '/proc', hostname: 'hv', logger, qemu: true });
    await hostSensor.start();
    const exporter = new QemuExporter({ path, logger });
    await exporter.start();
    const hostStep = async (): Promise<Sample> => {
      await sleep(STEP_MS);
      const s = await hostSensor.read();
      exporter.export(s);
      await exporter.flushed();
      return s;
    };

    const first = await hostStep();
    // Other files' fake VMs (short-lived.test.ts's shortvm) may be running too: only ours must be there.
    expect([...vmPowers(first).keys()]).toEqual(expect.arrayContaining([VM, 'vm100']));
    // Guest clocks: one follows the writer's intervals exactly (the windows line up by construction),
    // the other is the guest's own monotonic clock, reading right after each write.
    let alignedNs = 0n;
    const alignedGuest = new MachineSensor({
      powerSource: new PowercapSource({ powercapPath: join(path, VM), logger, now: () => alignedNs }),
      procfsPath: '/proc',
      hostname: VM,
      logger,
    });
    // The real-clock guest's clock readings are recorded (it reads twice around each counter read and dates
    // the reading at their midpoint), so the power it should report is known from the writer's energy.
    const guestClock: bigint[] = [];
    const recordedClock = (): bigint => {
      const t = process.hrtime.bigint();
      guestClock.push(t);
      return t;
    };
    const guestReadAtNs = (): bigint => ((guestClock.at(-2) ?? 0n) + (guestClock.at(-1) ?? 0n)) / 2n;
    const realGuest = new MachineSensor({ powerSource: new PowercapSource({ powercapPath: join(path, VM), logger, now: recordedClock }), procfsPath: '/proc', hostname: VM, logger });
    await alignedGuest.start();
    await realGuest.start();

    const startCounterUj = Number(readFileSync(join(path, VM, 'intel-rapl:0', 'energy_uj'), 'utf8'));
    let expectedCounterUj = startCounterUj;
    let realGuestEnergyUj = 0;
    let realGuestAtNs = guestReadAtNs();
    const rows: Array<{ vmUw: number; alignedUw: number; realUw: number; realExpectedUw: number }> = [];
    for (let k = 0; k < 4; k++) {
      const s = await hostStep();
      alignedNs += BigInt(Math.round(s.intervalMs * 1e6));
      const vmUw = vmPowers(s).get(VM) ?? 0;
      const stepUj = (vmUw * s.intervalMs) / 1000;
      expectedCounterUj += stepUj;
      const real = await realGuest.read();
      // The step's energy (written before this read) over the guest's own time since its last read.
      const realExpectedUw = stepUj / (Number(guestReadAtNs() - realGuestAtNs) / 1e9);
      realGuestAtNs = guestReadAtNs();
      const aligned = await alignedGuest.read();
      rows.push({ vmUw, alignedUw: aligned.host.powerUw, realUw: real.host.powerUw, realExpectedUw });
      realGuestEnergyUj = real.host.energyUj;
      expect(aligned.host.valueSource).toBe('powercap_rapl_pkg');
    }
    await exporter.stop(1000);
    console.log(`${VM} attributed vs guest host power (µW):`, JSON.stringify(rows));

    // The tree holds exactly the attributed energy (floored to whole µJ).
    const counter = Number(readFileSync(join(path, VM, 'intel-rapl:0', 'energy_uj'), 'utf8'));
    expect(Math.abs(counter - expectedCounterUj)).toBeLessThanOrEqual(1);
    // Whatever its clock, the guest's energy is the VM's attributed energy over the window.
    expect(Math.abs(realGuestEnergyUj - (expectedCounterUj - startCounterUj))).toBeLessThanOrEqual(2);
    for (const r of rows) {
      // A busy loop on a shared 2-core box: at least a few watts of the 120 W host.
      expect(r.vmUw).toBeGreaterThan(1_000_000);
      expect(Math.abs(r.alignedUw - r.vmUw) / r.vmUw).toBeLessThan(0.01);
      // With its own clock the guest divides the VM's energy by its own time between reads, which differs
      // from the writer's interval by the scheduling of both (tens of % on a loaded 2-core box): that is
      // the figure it must give, whole µJ of the counter aside.
      expect(Math.abs(r.realUw - r.realExpectedUw) / r.realExpectedUw).toBeLessThan(1e-6);
    }
  });
});
