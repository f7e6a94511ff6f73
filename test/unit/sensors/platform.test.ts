/**
 * A platform meter beside RAPL, each on its synthetic tree with its fake clock moved by exactly one step
 * before each reading: host power from the meter, sockets and domains from RAPL, the difference as the
 * power RAPL does not see; and the machine sensor on top of them gives processes their shares of the
 * meter's power, the way it does of RAPL's.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Sample } from '../../../src/core/sample.js';
import { HwmonSource } from '../../../src/sensors/hwmon/source.js';
import { MachineSensor } from '../../../src/sensors/machine-sensor.js';
import { PlatformWithRapl } from '../../../src/sensors/platform.js';
import { PowerUnavailableError, type PowerReadContext, type PowerSource } from '../../../src/sensors/power-source.js';
import { PowercapSource } from '../../../src/sensors/powercap/source.js';
import { captureLogger } from '../../support/fakes/log-capture.js';
import { HwmonTree, POWER_METER_ONLY } from '../../support/fixtures/hwmon-tree.js';
import { createPowercapTree, type PowercapTree } from '../../support/fixtures/powercap-tree.js';
import { ProcfsTree, type FakeProcess } from '../../support/fixtures/procfs-tree.js';

const STEP_MS = 1000;
const CONTEXT = { cpuBusyFraction: 0.5, intervalNs: BigInt(STEP_MS * 1e6), cpuCount: 2 } as const;
const silent = pino({ level: 'silent' });
// server2s: packages 62 + 48 W, dram 11.25 + 9.5 W.
const RAPL_HOST_W = 62 + 11.25 + 48 + 9.5;
const METER_W = 312.5;

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

interface Rig {
  readonly hwmon: HwmonTree;
  readonly rapl: PowercapTree;
  readonly source: PlatformWithRapl;
}

/** Both trees move by one step right before each reading (both sources read their own fake clocks). */
function stepped(source: PowerSource, hwmon: HwmonTree, rapl: PowercapTree): PowerSource {
  return {
    kind: source.kind,
    start: () => source.start(),
    read: (ctx: PowerReadContext) => {
      hwmon.advance(STEP_MS);
      rapl.advance(STEP_MS);
      return source.read(ctx);
    },
    close: () => source.close?.() ?? Promise.resolve(),
  };
}

async function rig(logger = silent): Promise<Rig & { readonly stepped: PowerSource }> {
  const hwmon = new HwmonTree(POWER_METER_ONLY);
  const rapl = createPowercapTree('server2s', { wrapEverySeconds: 30 });
  cleanups.push(() => hwmon.close(), () => rapl.close());
  const source = new PlatformWithRapl(
    new HwmonSource({ hwmonPath: hwmon.hwmonPath, channels: [], logger, now: hwmon.now }),
    new PowercapSource({ powercapPath: rapl.powercapPath, logger, now: rapl.now }),
    logger,
  );
  await source.start();
  cleanups.push(() => void source.close());
  return { hwmon, rapl, source, stepped: stepped(source, hwmon, rapl) };
}

function near(actual: number | undefined, truth: number): void {
  expect(actual).toBeDefined();
  expect(Math.abs((actual as number) - truth) / truth, `${actual} vs ${truth}`).toBeLessThan(0.01);
}

describe('PlatformWithRapl', () => {
  it('host power from the meter, sockets and domains from RAPL, and what RAPL does not see', async () => {
    const { stepped: s } = await rig();
    for (let i = 0; i < 3; i++) {
      const r = await s.read(CONTEXT);
      near(r.hostPowerUw, METER_W * 1e6);
      near(r.hostEnergyDeltaUj, METER_W * 1e6 * (STEP_MS / 1000));
      expect(r.valueSource).toBe('hwmon_power_meter');
      expect(r.sockets.map((x) => x.id)).toEqual([0, 1]);
      near(r.sockets[0]?.powerUw, 62e6);
      near(r.sockets[1]?.domains.find((d) => d.name === 'dram')?.powerUw, 9.5e6);
      near(r.outsideRaplPowerUw, (METER_W - RAPL_HOST_W) * 1e6);
    }
  });

  it('never publishes a negative remainder: RAPL above the meter (different windows) gives 0', async () => {
    const { stepped: s, hwmon } = await rig();
    hwmon.setWatts('hwmon1', 'power1', 100);
    await s.read(CONTEXT);
    expect((await s.read(CONTEXT)).outsideRaplPowerUw).toBe(0);
  });

  it('RAPL that cannot be measured leaves sockets out of those steps, host power goes on; said once each way', async () => {
    const { logger, warnings } = captureLogger();
    const { stepped: s, rapl } = await rig(logger);
    await s.read(CONTEXT);
    rapl.corrupt('intel-rapl:0', 'garbage');
    for (let i = 0; i < 3; i++) {
      const r = await s.read(CONTEXT);
      near(r.hostPowerUw, METER_W * 1e6);
      expect(r.sockets).toEqual([]);
      expect(r.outsideRaplPowerUw).toBeUndefined();
    }
    rapl.repair('intel-rapl:0');
    // The package zone needs one reading for a new baseline (powercap/source.ts), then sockets are back.
    await s.read(CONTEXT);
    const back = await s.read(CONTEXT);
    expect(back.sockets.map((x) => x.id)).toEqual([0, 1]);
    expect(warnings().filter((l) => /RAPL cannot be measured/.test(l.msg))).toHaveLength(1);
    expect(warnings().filter((l) => /RAPL measured again/.test(l.msg))).toHaveLength(1);
  });

  it('a meter step that cannot be measured is not published (RAPL alone is no host power)', async () => {
    const { stepped: s, hwmon } = await rig();
    await s.read(CONTEXT);
    hwmon.corrupt('hwmon1', 'power1', 'N/A');
    await expect(s.read(CONTEXT)).rejects.toBeInstanceOf(PowerUnavailableError);
    hwmon.repair('hwmon1', 'power1');
    near((await s.read(CONTEXT)).outsideRaplPowerUw, (METER_W - RAPL_HOST_W) * 1e6);
  });
});

describe('the machine sensor over a platform meter', () => {
  const burner: FakeProcess = { pid: 100, comm: 'burner', utime: 1000, stime: 0, starttime: 5_000 };
  const shell: FakeProcess = { pid: 200, comm: 'sh', utime: 10, stime: 0, starttime: 6_000 };

  it('gives each process the meter\'s host power × its ticks / busy ticks, as it does with RAPL; the sample carries RAPL\'s sockets', async () => {
    const { stepped: source } = await rig();
    const procfs = ProcfsTree.create({ cpuCount: 2, processes: [burner, shell], uptimeSeconds: 100 });
    cleanups.push(() => procfs.cleanup());
    const sensor = new MachineSensor({ powerSource: source, procfsPath: procfs.root, hostname: 'h', logger: silent, reapedChildren: false });
    await sensor.start();
    const samples: Sample[] = [];
    for (let i = 0; i < 3; i++) {
      // 200 ticks on 2 CPUs, 160 busy: the burner 120, the shell 8, what ended unseen 32.
      procfs.advanceCpu({ user: 150, system: 10, idle: 40 });
      procfs.writeProcessStat({ ...burner, utime: burner.utime + 120 * (i + 1) });
      procfs.writeProcessStat({ ...shell, utime: shell.utime + 8 * (i + 1) });
      samples.push(await sensor.read());
    }
    for (const sample of samples) {
      const host = sample.host.powerUw;
      near(host, METER_W * 1e6);
      expect(sample.host.valueSource).toBe('hwmon_power_meter');
      const byPid = (pid: number): number => sample.processes.find((p) => p.pid === pid)?.powerUw ?? -1;
      // Whole µW, distributed by largest remainder: exact to 1 µW.
      expect(Math.abs(byPid(100) - host * (120 / 160))).toBeLessThanOrEqual(1);
      expect(Math.abs(byPid(200) - host * (8 / 160))).toBeLessThanOrEqual(1);
      expect(sample.processes.reduce((s, p) => s + p.powerUw, 0) + sample.host.unattributedPowerUw).toBe(Math.round(host));
      near(sample.host.activePowerUw, host * 0.8);
      expect(sample.sockets.map((x) => x.id)).toEqual([0, 1]);
      near(sample.host.outsideRaplPowerUw, (METER_W - RAPL_HOST_W) * 1e6);
    }
    await sensor.close();
  });
});

