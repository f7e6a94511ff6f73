/**
 * Emissions on synthetic trees: the machine sensor reading a fake-clock powercap tree (RAPL counters) and a
 * procfs tree, wrapped by the carbon sensor. Each step's host energy is the counters' growth; the expected
 * grams are computed here from the samples' own counters, independently of the accountant.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CarbonSensor } from '../../../src/carbon/carbon-sensor.js';
import { fixedIntensity, type IntensitySource } from '../../../src/carbon/intensity.js';
import { ProviderIntensitySource } from '../../../src/carbon/provider-source.js';
import { staticZone } from '../../../src/carbon/zones.js';
import { silentLogger } from '../../../src/core/log.js';
import type { ContainerInfo, Sample } from '../../../src/core/sample.js';
import { MachineSensor } from '../../../src/sensors/machine-sensor.js';
import { PowercapSource } from '../../../src/sensors/powercap/source.js';
import { createPowercapTree } from '../../support/fixtures/powercap-tree.js';
import { ProcfsTree, type FakeProcess } from '../../support/fixtures/procfs-tree.js';
import { startFakeCarbonProvider } from '../../support/servers/carbon-provider.js';
import { waitFor } from '../../support/servers/free-port.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const toUg = (grams: number): number => Math.round(grams * 1e6);
const burner: FakeProcess = { pid: 21, comm: 'burner', utime: 100, stime: 0, starttime: 600 };
const web: FakeProcess = { pid: 22, comm: 'web', utime: 50, stime: 0, starttime: 700 };
const cron: FakeProcess = { pid: 23, comm: 'cron', utime: 5, stime: 0, starttime: 800 };

async function rig(intensity: IntensitySource, perProcess: boolean) {
  const rapl = createPowercapTree('server2s', { wrapEverySeconds: 30 });
  const procfs = ProcfsTree.create({ cpuCount: 4, processes: [burner, web, cron] });
  cleanups.push(() => rapl.close(), () => procfs.cleanup());
  const containers = {
    resolveSync: (pid: number): ContainerInfo | null => (pid === 21 || pid === 22 ? { containerId: pid === 21 ? 'c-burner' : 'c-web' } : { systemdUnit: 'cron.service' }),
    sweep: () => undefined,
  };
  const machine = new MachineSensor({
    powerSource: new PowercapSource({ powercapPath: rapl.powercapPath, logger: silentLogger(), now: rapl.now }),
    procfsPath: procfs.root,
    hostname: 'box1',
    logger: silentLogger(),
    containers,
    cgroupfsRoot: null,
  });
  await machine.start();
  const sensor = new CarbonSensor(machine, intensity, perProcess, silentLogger());
  await sensor.start();
  cleanups.push(() => sensor.close());
  let tick = 0;
  /** One step: CPU time for each process, 2 s of counters. */
  const step = async (): Promise<Sample> => {
    tick += 1;
    procfs.advanceCpu({ user: 300, idle: 100 });
    procfs.writeProcessStat({ ...burner, utime: burner.utime + 200 * tick });
    procfs.writeProcessStat({ ...web, utime: web.utime + (50 + (tick % 3) * 10) * tick });
    procfs.writeProcessStat({ ...cron, utime: cron.utime + tick });
    rapl.advance(2000);
    return sensor.read();
  };
  return { sensor, step, rapl };
}

/** Each step's host energy growth x the intensity the sample says it was counted at, summed, in µg. */
function expectedHostUg(samples: readonly Sample[]): number {
  let exact = 0;
  let last = 0;
  for (const s of samples) {
    exact += ((s.host.energyUj - last) * (s.carbon?.intensityGPerKwh ?? 0)) / 3.6e6;
    last = s.host.energyUj;
  }
  return Math.round(exact);
}

describe('CarbonSensor on synthetic powercap and procfs trees', () => {
  it('a fixed intensity: host emissions = energy (kWh) x intensity at every step, processes + unattributed = host exactly, groups within it', async () => {
    const { step } = await rig(fixedIntensity(412), true);
    const samples: Sample[] = [];
    const lastUj = new Map<string, number>();
    const shares = new Map<string, number>();
    for (let i = 0; i < 12; i++) {
      const s = await step();
      samples.push(s);
      const c = s.carbon;
      if (!c) throw new Error('no carbon in the sample');
      expect(c).toMatchObject({ intensityGPerKwh: 412, source: 'fixed', zone: '' });
      expect(toUg(c.hostGrams)).toBe(expectedHostUg(samples));
      expect(Math.abs(toUg(c.hostGrams) - (s.host.energyUj * 412) / 3.6e6)).toBeLessThanOrEqual(1);
      // No process ended: the processes' counters and the unattributed one add up to the host's.
      const processesUg = (c.processGrams as number[]).reduce((a, g) => a + toUg(g), 0);
      expect(processesUg + toUg(c.unattributedGrams)).toBe(toUg(c.hostGrams));
      // The two containers (pids 21 and 22) and the unit (23): within the host, each near its energy x intensity.
      const containersUg = s.groups.filter((g) => g.kind === 'container').reduce((a, g) => a + toUg(c.groupGrams[s.groups.indexOf(g)] as number), 0);
      expect(containersUg).toBeLessThanOrEqual(toUg(c.hostGrams));
      // Each process and group: its share (by energy growth) of each step's host grams, within 1 µg a step. (This rig's
      // process energies are over the real clock's interval, the host's over the tree's fake 2 s: the shares are what holds.)
      const hostStepUg = toUg(c.hostGrams) - (samples.length > 1 ? toUg((samples.at(-2) as Sample).carbon?.hostGrams ?? 0) : 0);
      const shareUj = s.processes.reduce((a, p) => a + p.energyUj - (lastUj.get(`p${p.pid}`) ?? 0), 0) + s.host.unattributedEnergyUj - (lastUj.get('u') ?? 0);
      const check = (key: string, energyUj: number, grams: number): void => {
        shares.set(key, (shares.get(key) ?? 0) + (hostStepUg * (energyUj - (lastUj.get(key) ?? 0))) / shareUj);
        lastUj.set(key, energyUj);
        expect(Math.abs(toUg(grams) - (shares.get(key) as number))).toBeLessThanOrEqual(samples.length + 1);
      };
      s.processes.forEach((p, k) => check(`p${p.pid}`, p.energyUj, (c.processGrams as number[])[k] as number));
      s.groups.forEach((g, k) => check(`g${g.key}`, g.energyUj, c.groupGrams[k] as number));
      lastUj.set('u', s.host.unattributedEnergyUj);
    }
    expect(samples.at(-1)?.groups.map((g) => g.kind).sort()).toEqual(['container', 'container', 'systemd_unit']);
  });

  it('a fake provider whose intensity changes mid-run: the piecewise sum exactly, each step at the value in force', async () => {
    const fake = await startFakeCarbonProvider({ value: 90 });
    cleanups.push(() => fake.close());
    const source = new ProviderIntensitySource({
      provider: 'electricitymaps',
      baseUrl: fake.url,
      zone: 'FR',
      token: null,
      fallback: staticZone('FR'),
      refreshMs: 50,
      timeoutMs: 2000,
      logger: silentLogger(),
    });
    const { step } = await rig(source, false);
    const samples: Sample[] = [];
    for (const value of [90, 90, 310, 310, 310, 45, 45, 900]) {
      if (fake.value !== value) {
        fake.value = value;
        await waitFor(async () => (source.current()?.gPerKwh === value ? true : null), 5000, `the provider's ${value}`, 10);
      }
      const s = await step();
      samples.push(s);
      expect(s.carbon).toMatchObject({ intensityGPerKwh: value, source: 'provider', zone: 'FR' });
      expect(toUg(s.carbon?.hostGrams ?? -1)).toBe(expectedHostUg(samples));
    }
    // The piecewise sum, from the energy of each run of steps at one value.
    const energy = (k: number): number => (samples[k] as Sample).host.energyUj - (k === 0 ? 0 : (samples[k - 1] as Sample).host.energyUj);
    const piecewise = (energy(0) + energy(1)) * 90 + (energy(2) + energy(3) + energy(4)) * 310 + (energy(5) + energy(6)) * 45 + energy(7) * 900;
    expect(Math.abs(toUg(samples.at(-1)?.carbon?.hostGrams ?? 0) - piecewise / 3.6e6)).toBeLessThanOrEqual(1);
    // Down: the static value at once, never the provider's last one.
    await fake.down();
    await waitFor(async () => (source.current()?.source === 'static' ? true : null), 5000, 'the fallback', 10);
    const s = await step();
    expect(s.carbon).toMatchObject({ intensityGPerKwh: staticZone('FR')?.gPerKwh, source: 'static', zone: 'FR' });
  });
});
