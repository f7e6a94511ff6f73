/**
 * The qemu exporter beside short-lived load: a VM process burning CPU, and a shell running ~20 ms jobs
 * that end between readings. The VM's tree must grow at host power × the VM's ticks / the machine's busy
 * ticks (the truth computed here from /proc, independently of the sensor): under the old model (shares
 * of the observed processes' ticks) the jobs' CPU time went to the survivors, the VM among them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/core/log.js';
import { QemuExporter } from '../../../src/exporters/qemu/exporter.js';
import { MachineSensor } from '../../../src/sensors/machine-sensor.js';
import { ConstantPowerSource } from '../../support/fakes/fake-power-source.js';
import { LIBVIRT_ARGS, spawnFakeQemu, type FakeQemu } from '../../support/fakes/fake-qemu.js';
import { busyTicks, SHORT_JOBS_SCRIPT, ticksOf } from '../../support/oracles/proc-truth.js';

const HOST_UW = 120_000_000;
const STEP_MS = 1000;
const STEPS = 8;

let qemu: FakeQemu;
let jobs: ChildProcess;
let path: string;

beforeAll(async () => {
  qemu = spawnFakeQemu([{ args: LIBVIRT_ARGS('shortvm'), dutyPercent: 60 }]);
  jobs = spawn('sh', ['-c', SHORT_JOBS_SCRIPT], { stdio: 'ignore' });
  path = mkdtempSync(join(tmpdir(), 'scaph-vmtrees-short-'));
  await sleep(300);
});

afterAll(() => {
  qemu?.stop();
  jobs?.kill('SIGKILL');
  if (path) rmSync(path, { recursive: true, force: true });
});

describe('qemu exporter under short-lived load', () => {
  it('grows the VM tree at host power × VM ticks / busy ticks (within 10 %)', async () => {
    const logger = silentLogger();
    const sensor = new MachineSensor({ powerSource: new ConstantPowerSource(HOST_UW), procfsPath: '/proc', hostname: 'hv', logger, qemu: true });
    const exporter = new QemuExporter({ path, logger });
    await exporter.start();
    await sensor.start();
    const vmPid = qemu.pids[0] as number;
    const step = async (): Promise<number> => {
      await sleep(STEP_MS);
      const s = await sensor.read();
      exporter.export(s);
      await exporter.flushed();
      return s.intervalMs;
    };
    await step(); // creates the tree
    const counter = (): number => Number(readFileSync(join(path, 'shortvm', 'intel-rapl:0', 'energy_uj'), 'utf8'));
    const startUj = counter();
    const busyBefore = busyTicks();
    const vmTotal = (): number => {
      const t = ticksOf(vmPid); // the VM and the children it waited for
      return t.own + t.children;
    };
    const vmBefore = vmTotal();
    let seconds = 0;
    for (let i = 0; i < STEPS; i++) seconds += (await step()) / 1000;
    const busy = busyTicks() - busyBefore;
    const vmTicks = vmTotal() - vmBefore;
    await exporter.stop(1000);
    await sensor.close();

    const grownUj = counter() - startUj;
    const truthUj = HOST_UW * (vmTicks / busy) * seconds;
    console.log(JSON.stringify({ seconds, busy, vmTicks, grownJ: grownUj / 1e6, truthJ: truthUj / 1e6 }));
    expect(vmTicks).toBeGreaterThan(0);
    expect(Math.abs(grownUj - truthUj) / truthUj).toBeLessThan(0.1);
  });
});
