/**
 * The machine sensor over the real /proc, with a CPU-burning child and a constant 50 W source.
 * An *.exclusive.test.ts file: npm test runs it alone, before the other suites, so the box is otherwise
 * idle as the acceptance test requires. Its share is also cross-checked by an independent reader.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/log.js';
import { MachineSensor } from '../../src/sensors/machine-sensor.js';
import { ConstantPowerSource } from '../fixtures/fake-power-source.js';

/** Deliberately different from the sensor's reader: whole-file reads, string split. */
function naiveTicks(): Map<number, number> {
  const ticks = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const text = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      ticks.set(Number(name), Number(fields[11]) + Number(fields[12])); // fields 14 and 15
    } catch {
      // gone
    }
  }
  return ticks;
}

let child: ChildProcess;

function cpuCount(): number {
  return readFileSync('/proc/stat', 'utf8').split('\n').filter((l) => /^cpu\d/.test(l)).length;
}

beforeAll(async () => {
  child = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  await sleep(300);
});

afterAll(() => {
  child.kill('SIGKILL');
});

describe('MachineSensor on the real /proc', () => {
  it('attributes active power to a CPU-burning child by its CPU share; Σ process power = active power', async () => {
    const sensor = new MachineSensor({
      powerSource: new ConstantPowerSource(50_000_000),
      procfsPath: '/proc',
      hostname: 'test',
      logger: silentLogger(),
    });
    await sensor.start();
    const naiveBefore = naiveTicks();
    await sleep(3000);
    const naiveAfter = naiveTicks();
    const sample = await sensor.read();

    const childSample = sample.processes.find((p) => p.pid === child.pid);
    expect(childSample).toBeDefined();
    const sumUw = sample.processes.reduce((s, p) => s + p.powerUw, 0);
    const totalTicks = sample.processes.reduce((s, p) => s + p.cpuTicks, 0);
    const naiveChild = (naiveAfter.get(child.pid as number) ?? 0) - (naiveBefore.get(child.pid as number) ?? 0);
    let naiveTotal = 0;
    for (const [pid, after] of naiveAfter) {
      const before = naiveBefore.get(pid);
      if (before !== undefined) naiveTotal += after - before;
    }
    const figures = {
      intervalMs: Math.round(sample.intervalMs),
      busy: sample.host.cpuBusyFraction,
      activeUw: sample.host.activePowerUw,
      childShare: childSample?.cpuShare,
      childUsagePercent: childSample?.cpuUsagePercent,
      childPowerUw: childSample?.powerUw,
      naiveShare: naiveChild / naiveTotal,
      top: sample.processes.slice(0, 3).map((p) => `${p.exe}:${p.cpuTicks}`),
      sumUw,
    };
    console.log(JSON.stringify(figures));

    expect(sample.host.powerUw).toBe(50_000_000);
    expect(sample.host.activePowerUw).toBe(Math.round(50_000_000 * sample.host.cpuBusyFraction));
    // Σ process power = active power: exactly (integers), well inside the 0.5 % asked for.
    expect(totalTicks).toBeGreaterThan(0);
    expect(sumUw).toBe(sample.host.activePowerUw);
    // Processes come highest power first, and power follows CPU share.
    for (let i = 1; i < sample.processes.length; i++) {
      expect(sample.processes[i]?.powerUw).toBeLessThanOrEqual(sample.processes[i - 1]?.powerUw ?? 0);
    }
    expect(Math.abs((childSample?.powerUw ?? 0) - sample.host.activePowerUw * (childSample?.cpuShare ?? 0))).toBeLessThan(1);
    // On an otherwise idle box the burner is the top consumer and gets at least 90 % of active power.
    expect(sample.processes[0]?.pid).toBe(child.pid);
    expect(childSample?.powerUw ?? 0).toBeGreaterThanOrEqual(0.9 * sample.host.activePowerUw);
    // It ran on one core of the machine for (nearly) the whole interval.
    expect(childSample?.cpuUsagePercent).toBeGreaterThan((0.8 * 100) / cpuCount());
    // An independent reader over (almost) the same interval sees the same share.
    expect(Math.abs((childSample?.cpuShare ?? 0) - naiveChild / naiveTotal)).toBeLessThan(0.1);
  });
});
