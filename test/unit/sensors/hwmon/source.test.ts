/**
 * HwmonSource on synthetic hwmon trees (fixtures/hwmon-tree.ts) with the fixture's fake clock: each step
 * moves time by exactly the step, so the truth is the tree's own wattage and energy, and the figures must
 * match it within 1 % (they do exactly, but for float rounding).
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { HwmonChannelError, HwmonMissingError, HwmonNoMeterError, HwmonUnreadableError } from '../../../../src/sensors/hwmon/errors.js';
import { HwmonSource } from '../../../../src/sensors/hwmon/source.js';
import { PowerUnavailableError, type PowerReading } from '../../../../src/sensors/power-source.js';
import { captureLogger } from '../../../support/fakes/log-capture.js';
import { HwmonTree, POWER_METER_ONLY, type HwmonDeviceSpec } from '../../../support/fixtures/hwmon-tree.js';

const STEP_MS = 1000;
const CONTEXT = { cpuBusyFraction: 0.5, intervalNs: BigInt(STEP_MS * 1e6), cpuCount: 8 } as const;
const silent = pino({ level: 'silent' });

const trees: HwmonTree[] = [];
const sources: HwmonSource[] = [];
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.close()));
  for (const t of trees.splice(0)) t.close();
});

function tree(specs: readonly HwmonDeviceSpec[]): HwmonTree {
  const t = new HwmonTree(specs);
  trees.push(t);
  return t;
}

async function started(t: HwmonTree, channels: readonly string[] = [], logger = silent): Promise<HwmonSource> {
  const s = new HwmonSource({ hwmonPath: t.hwmonPath, channels, logger, now: t.now });
  sources.push(s);
  await s.start();
  return s;
}

/** One step: time moves by STEP_MS, then the source reads. */
async function step(t: HwmonTree, s: HwmonSource): Promise<PowerReading> {
  t.advance(STEP_MS);
  return s.read(CONTEXT);
}

function within1Percent(actual: number, truth: number): void {
  expect(Math.abs(actual - truth) / truth, `${actual} vs ${truth}`).toBeLessThan(0.01);
}

const GRACE: HwmonDeviceSpec = {
  name: 'grace',
  channels: [
    { id: 'power1', watts: 41, label: 'CPU Power Socket 0' },
    // 32-bit µJ counter 90 % full at start: 429 J before its first wrap, 5.4 s at 80 W.
    { id: 'energy1', watts: 80, label: 'Module Energy Socket 0' },
  ],
};

describe('HwmonSource: the ACPI power meter', () => {
  it('publishes the meter\'s average as host power as it changes, and its energy integrated step by step', async () => {
    const t = tree(POWER_METER_ONLY);
    const s = await started(t);
    const truthWatts = [312.5, 312.5, 312.5, 450, 450, 199.25, 199.25];
    let energyUj = 0;
    let truthUj = 0;
    for (const watts of truthWatts) {
      // The meter's average changes right after a reading: the next interval is wholly at the new wattage.
      t.setWatts('hwmon1', 'power1', watts);
      const before = t.energyUj('hwmon1', 'power1');
      const r = await step(t, s);
      truthUj += t.energyUj('hwmon1', 'power1') - before;
      energyUj += r.hostEnergyDeltaUj;
      within1Percent(r.hostPowerUw, watts * 1e6);
      expect(r.valueSource).toBe('hwmon_power_meter');
      expect(r.sockets).toEqual([]);
      expect(r.hostRecordsKept).toBe(0);
    }
    within1Percent(energyUj, truthUj);
  });

  it('finds the meter among other devices, and in a legacy layout (attributes under device/)', async () => {
    const t = tree([{ name: 'nvme', channels: [] }, { name: 'power_meter', legacy: true, channels: [{ id: 'power1', watts: 95 }] }]);
    const s = await started(t);
    within1Percent((await step(t, s)).hostPowerUw, 95e6);
  });

  it('says once when the meter averages over a window longer than the step', async () => {
    const t = tree([{ name: 'power_meter', channels: [{ id: 'power1', watts: 200, averageIntervalMs: 5000 }] }]);
    const { logger, warnings } = captureLogger();
    const s = await started(t, [], logger);
    for (let i = 0; i < 4; i++) await step(t, s);
    const said = warnings().filter((l) => /average over 5000 ms, longer than the step/.test(l.msg));
    expect(said).toHaveLength(1);
    expect(said[0]?.['file']).toBe(t.file('hwmon0', 'power1'));
  });
});

describe('HwmonSource: named channels', () => {
  it('sums the channels named (by device name and by hwmonN), an energy counter wrapping on the way', async () => {
    const t = tree([...POWER_METER_ONLY, GRACE]);
    const s = await started(t, ['grace/power1', 'hwmon3/energy1']);
    const start = t.energyUj('hwmon3', 'power1') + t.energyUj('hwmon3', 'energy1');
    let energyUj = 0;
    for (let i = 0; i < 12; i++) {
      const r = await step(t, s);
      within1Percent(r.hostPowerUw, (41 + 80) * 1e6);
      expect(r.valueSource).toBe('hwmon');
      expect(r.hostRecordsKept).toBe(1);
      energyUj += r.hostEnergyDeltaUj;
    }
    expect(t.wraps('hwmon3', 'energy1')).toBeGreaterThanOrEqual(1);
    within1Percent(energyUj, t.energyUj('hwmon3', 'power1') + t.energyUj('hwmon3', 'energy1') - start);
  });

  it('names one channel twice (by name and by number): counted once', async () => {
    const t = tree([GRACE]);
    const s = await started(t, ['grace/power1', 'hwmon0/power1']);
    within1Percent((await step(t, s)).hostPowerUw, 41e6);
  });

  it('a power meter named as a channel keeps value_source hwmon_power_meter; an attribute file may be named', async () => {
    const t = tree([{ name: 'power_meter', channels: [{ id: 'power1', watts: 120, attribute: 'input' }] }]);
    const s = await started(t, ['power_meter/power1_input']);
    const r = await step(t, s);
    expect(r.valueSource).toBe('hwmon_power_meter');
    within1Percent(r.hostPowerUw, 120e6);
  });

  for (const [where, startUj] of [
    ['beyond 32 bits', 2 ** 33],
    // From the upper half of 32 bits it could be a wrap, but 1,289 J in a second is not what a 6 W channel draws.
    ['in the upper half of 32 bits', 3e9],
  ] as const) {
    it(`a counter that goes down from ${where} to 5 µJ is a reset, not a wrap: that step is skipped, warned once`, async () => {
      const t = tree([{ name: 'soc', channels: [{ id: 'energy1', watts: 6, maxUj: 2 ** 40, startUj }] }]);
      const { logger, warnings } = captureLogger();
      const s = await started(t, ['soc/energy1'], logger);
      within1Percent((await step(t, s)).hostPowerUw, 6e6);
      t.corrupt('hwmon0', 'energy1', '5');
      await expect(step(t, s)).rejects.toThrow(/went down \(a reset\)/);
      t.corrupt('hwmon0', 'energy1', '6000005');
      within1Percent((await step(t, s)).hostPowerUw, 6e6);
      expect(warnings().filter((l) => /a reset/.test(l.msg))).toHaveLength(1);
    });
  }
});

describe('HwmonSource: a device that vanishes', () => {
  it('skips the steps while it is gone (naming the file), and resumes when it is back: power at once, a counter one step later', async () => {
    const t = tree([...POWER_METER_ONLY, GRACE]);
    const s = await started(t, ['hwmon1/power1', 'grace/energy1']);
    within1Percent((await step(t, s)).hostPowerUw, (312.5 + 80) * 1e6);
    t.vanish('hwmon3');
    const gone = await step(t, s).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(PowerUnavailableError);
    expect((gone as Error).message).toContain(`${t.file('hwmon3', 'energy1')}: ENOENT`);
    await expect(step(t, s)).rejects.toBeInstanceOf(PowerUnavailableError);
    t.restore('hwmon3');
    // The counter needs a new baseline: one more step without figures, never a spike from the gap.
    await expect(step(t, s)).rejects.toThrow(/readable again/);
    for (let i = 0; i < 3; i++) within1Percent((await step(t, s)).hostPowerUw, (312.5 + 80) * 1e6);
  });
});

describe('HwmonSource: hostile values', () => {
  for (const [what, content, problem] of [
    ['NaN', 'NaN', /not a number: "NaN"/],
    ['a negative power', '-250000000', /not a number: "-250000000"/],
    ['a huge power (beyond 100 kW)', '900000000000000', /beyond the 100 kW/],
    ['beyond 2^53', '99999999999999999999999', /out of range/],
  ] as const) {
    it(`${what} in power1_average: the step is not published, readings resume when the file is sane again`, async () => {
      const t = tree(POWER_METER_ONLY);
      const s = await started(t);
      t.corrupt('hwmon1', 'power1', content);
      await expect(step(t, s)).rejects.toThrow(problem);
      t.repair('hwmon1', 'power1');
      within1Percent((await step(t, s)).hostPowerUw, 312.5e6);
    });
  }

  it('a counter that grows by more than 100 kW worth in a step is refused as garbage', async () => {
    const t = tree([{ name: 'soc', channels: [{ id: 'energy1', watts: 6, maxUj: 2 ** 50, startUj: 1e9 }] }]);
    const s = await started(t, ['soc/energy1']);
    t.corrupt('hwmon0', 'energy1', String(1e9 + 1e12));
    await expect(step(t, s)).rejects.toThrow(/beyond the 100 kW/);
  });

  it('garbage at start: exit-1 error naming the file and the problem', async () => {
    const t = tree(POWER_METER_ONLY);
    t.corrupt('hwmon1', 'power1', 'N/A');
    const err = await started(t).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HwmonUnreadableError);
    expect((err as HwmonUnreadableError).exitCode).toBe(1);
    expect((err as Error).message).toContain(`${t.file('hwmon1', 'power1')}: not a number: "N/A"`);
  });
});

describe('HwmonSource: nothing usable', () => {
  it('no hwmon directory: names it and how to mount the host\'s', async () => {
    const err = await new HwmonSource({ hwmonPath: '/nonexistent/hwmon', channels: [], logger: silent }).start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HwmonMissingError);
    expect((err as Error).message).toMatch(/No hwmon directory at \/nonexistent\/hwmon.*--hwmon-path \/host\/sys\/class\/hwmon/);
  });

  it('no power meter: lists what was found and says what is missing', async () => {
    const t = tree([{ name: 'coretemp', channels: [] }, GRACE]);
    const err = await started(t).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HwmonNoMeterError);
    const message = (err as Error).message;
    expect(message).toContain('no ACPI power meter (a device named power_meter');
    expect(message).toContain('hwmon0 coretemp: no power or energy channel');
    expect(message).toContain('hwmon1 grace: energy1 (energy1_input, "Module Energy Socket 0"), power1 (power1_input, "CPU Power Socket 0")');
    expect(message).toContain('--hwmon-channel <device>/<channel>');
  });

  it('several power meters (they may nest): not added up unasked, each named', async () => {
    const meter = (watts: number, label: string): HwmonDeviceSpec => ({ name: 'power_meter', channels: [{ id: 'power1', watts, label }] });
    const t = tree([meter(500, 'Module Power Socket 0'), meter(300, 'CPU Power Socket 0')]);
    const err = await started(t).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HwmonNoMeterError);
    expect((err as Error).message).toMatch(/2 ACPI power meters \(hwmon0, hwmon1\).*--hwmon-channel hwmon0\/power1/);
    const s = await started(t, ['hwmon0/power1']);
    within1Percent((await step(t, s)).hostPowerUw, 500e6);
  });

  it('a channel that does not exist, a device name two devices share', async () => {
    const t = tree([GRACE, { name: 'grace', channels: [{ id: 'power1', watts: 1 }] }]);
    await expect(started(t, ['hwmon0/power7'])).rejects.toThrow(/--hwmon-channel hwmon0\/power7: hwmon0 \(grace\) has no channel power7/);
    await expect(started(t, ['nvidia/power1'])).rejects.toThrow(/no device named nvidia/);
    const err = await started(t, ['grace/power1']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HwmonChannelError);
    expect((err as Error).message).toMatch(/2 devices are named grace \(hwmon0, hwmon1\): name one by its hwmonN entry/);
  });

  it('a FIFO where power1_average should be: refused at start without hanging', async () => {
    const root = mkdtempSync(join(tmpdir(), 'scaph-hwmon-fifo-'));
    try {
      const dev = join(root, 'devices', 'meter', 'hwmon', 'hwmon0');
      mkdirSync(dev, { recursive: true });
      mkdirSync(join(root, 'class', 'hwmon'), { recursive: true });
      writeFileSync(join(dev, 'name'), 'power_meter\n');
      const { execFileSync } = await import('node:child_process');
      execFileSync('mkfifo', [join(dev, 'power1_average')]);
      symlinkSync('../../devices/meter/hwmon/hwmon0', join(root, 'class', 'hwmon', 'hwmon0'));
      const started = performance.now();
      const err = await new HwmonSource({ hwmonPath: join(root, 'class', 'hwmon'), channels: [], logger: silent }).start().catch((e: unknown) => e);
      expect(performance.now() - started).toBeLessThan(3000);
      expect(err).toBeInstanceOf(HwmonUnreadableError);
      expect((err as Error).message).toMatch(/power1_average is a FIFO \(named pipe\), not a regular file/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
