import { describe, expect, it } from 'vitest';
import {
  attribute,
  cpuUsagePercent,
  distribute,
  splitHostPower,
  type AttributionInput,
  type AttributionState,
  type ProcessCpu,
} from '../../src/sensors/attribution.js';

function step(previous: AttributionState, current: ProcessCpu[], over: Partial<AttributionInput> = {}) {
  return attribute({
    previous,
    current,
    hostPowerUw: 50_000_000,
    cpuBusyFraction: 0.5,
    intervalMs: 1000,
    cpuCount: 2,
    ...over,
  });
}

/** Deterministic pseudo-random numbers (LCG) so the test has many varied, reproducible inputs. */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

describe('splitHostPower', () => {
  it('splits host power into active (rounded to whole µW) and the rest', () => {
    expect(splitHostPower(50_000_000, 0.25)).toEqual({ activeUw: 12_500_000, idleUw: 37_500_000 });
    expect(splitHostPower(1_000_001.5, 1 / 3)).toEqual({ activeUw: 333_334, idleUw: 1_000_001.5 - 333_334 });
    expect(splitHostPower(10, 1.7)).toEqual({ activeUw: 10, idleUw: 0 });
    expect(splitHostPower(10, -0.2)).toEqual({ activeUw: 0, idleUw: 10 });
  });
});

describe('attribute', () => {
  it('gives each process active power × its share of observed CPU time', () => {
    const first = step(new Map(), [
      { pid: 1, starttime: 10, cpuTicksTotal: 100 },
      { pid: 2, starttime: 20, cpuTicksTotal: 100 },
      { pid: 3, starttime: 30, cpuTicksTotal: 100 },
    ]);
    expect(first.processes).toEqual([]); // first sighting: no interval yet
    const second = step(first.next, [
      { pid: 1, starttime: 10, cpuTicksTotal: 175 }, // 75 ticks
      { pid: 2, starttime: 20, cpuTicksTotal: 125 }, // 25 ticks
      { pid: 3, starttime: 30, cpuTicksTotal: 100 }, // 0 ticks
    ]);
    expect(second.activePowerUw).toBe(25_000_000);
    expect(second.idlePowerUw).toBe(25_000_000);
    expect(second.processes.map((p) => [p.index, p.cpuTicks, p.cpuShare, p.powerUw])).toEqual([
      [0, 75, 0.75, 18_750_000],
      [1, 25, 0.25, 6_250_000],
      [2, 0, 0, 0],
    ]);
    // 75 ticks in 1 s on 2 CPUs at USER_HZ 100 = 75 / 200 = 37.5 %.
    expect(second.processes[0]?.cpuUsagePercent).toBe(37.5);
    // energy = power × 1 s
    expect(second.processes[0]?.energyUj).toBe(18_750_000);
  });

  it('sums process power to active power exactly, over many random intervals', () => {
    const rand = lcg(42);
    for (let round = 0; round < 200; round++) {
      const n = 1 + Math.floor(rand() * 300);
      const prev: ProcessCpu[] = [];
      const cur: ProcessCpu[] = [];
      for (let i = 0; i < n; i++) {
        const base = Math.floor(rand() * 1e6);
        prev.push({ pid: i + 1, starttime: i, cpuTicksTotal: base });
        cur.push({ pid: i + 1, starttime: i, cpuTicksTotal: base + Math.floor(rand() * rand() * 500) });
      }
      const hostPowerUw = rand() * 300_000_000;
      const busy = rand();
      const first = step(new Map(), prev);
      const r = step(first.next, cur, { hostPowerUw, cpuBusyFraction: busy, intervalMs: 500 + rand() * 2000 });
      const totalTicks = r.processes.reduce((s, p) => s + p.cpuTicks, 0);
      const sum = r.processes.reduce((s, p) => s + p.powerUw, 0);
      expect(r.activePowerUw).toBe(Math.round(hostPowerUw * busy));
      expect(sum).toBe(totalTicks > 0 ? r.activePowerUw : 0);
      for (const p of r.processes) {
        expect(Number.isInteger(p.powerUw)).toBe(true);
        // Largest remainder keeps each part within 1 µW of its exact share.
        expect(Math.abs(p.powerUw - r.activePowerUw * p.cpuShare)).toBeLessThan(1);
      }
    }
  });

  it('gives every process 0 when none used CPU, keeping active power as host × busy', () => {
    const cpu = [
      { pid: 1, starttime: 1, cpuTicksTotal: 10 },
      { pid: 2, starttime: 2, cpuTicksTotal: 20 },
    ];
    const r = step(step(new Map(), cpu).next, cpu, { cpuBusyFraction: 0.1 });
    expect(r.activePowerUw).toBe(5_000_000);
    expect(r.processes.map((p) => [p.powerUw, p.cpuShare, p.energyUj])).toEqual([
      [0, 0, 0],
      [0, 0, 0],
    ]);
  });

  it('accumulates energy per process and restarts at 0 for a reused pid', () => {
    let state = step(new Map(), [{ pid: 42, starttime: 100, cpuTicksTotal: 0 }]).next;
    let r = step(state, [{ pid: 42, starttime: 100, cpuTicksTotal: 50 }]);
    expect(r.processes[0]?.energyUj).toBe(25_000_000); // sole consumer: 25 W active × 1 s
    r = step(r.next, [{ pid: 42, starttime: 100, cpuTicksTotal: 90 }], { intervalMs: 2000 });
    expect(r.processes[0]?.energyUj).toBe(25_000_000 + 50_000_000);
    state = r.next;
    // pid 42 now belongs to a process started later: the old one ended, the new one starts at 0.
    r = step(state, [{ pid: 42, starttime: 900, cpuTicksTotal: 5 }]);
    expect(r.processes).toEqual([]);
    expect(r.ended).toEqual([{ pid: 42, starttime: 100 }]);
    expect(r.next.get(42)).toEqual({ starttime: 900, cpuTicksTotal: 5, energyUj: 0 });
    r = step(r.next, [{ pid: 42, starttime: 900, cpuTicksTotal: 15 }], { hostPowerUw: 10_000_000 });
    expect(r.ended).toEqual([]);
    expect(r.processes[0]?.energyUj).toBe(5_000_000);
  });

  it('reports processes that disappeared and forgets them', () => {
    const state = step(new Map(), [
      { pid: 1, starttime: 1, cpuTicksTotal: 0 },
      { pid: 2, starttime: 2, cpuTicksTotal: 0 },
    ]).next;
    const r = step(state, [{ pid: 1, starttime: 1, cpuTicksTotal: 3 }]);
    expect(r.ended).toEqual([{ pid: 2, starttime: 2 }]);
    expect([...r.next.keys()]).toEqual([1]);
  });
});

describe('cpuUsagePercent', () => {
  it('is ticks over all CPUs capacity in the interval', () => {
    expect(cpuUsagePercent(100, 1000, 1)).toBe(100);
    expect(cpuUsagePercent(50, 2000, 4)).toBe(6.25);
    expect(cpuUsagePercent(5, 0, 4)).toBe(0);
  });
});

describe('distribute', () => {
  it('hands the leftover µW to the largest remainders', () => {
    const out = distribute(Float64Array.from([1, 1, 1, -1]), 3, 10);
    expect([...out]).toEqual([4, 3, 3, 0]);
  });
});
