import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../support/fixtures/prng.js';
import {
  attribute,
  cpuUsagePercent,
  distribute,
  initialState,
  processFigures,
  splitHostPower,
  type AttributionInput,
  type AttributionResult,
  type AttributionState,
  type ProcessCpu,
} from '../../../src/sensors/attribution.js';

/** A process at one reading: own ticks, reaped children's ticks, parent. */
function proc(pid: number, cpuTicksTotal: number, o: Partial<ProcessCpu> = {}): ProcessCpu {
  return { pid, starttime: pid * 10, ppid: 1, cpuTicksTotal, childTicksTotal: 0, ...o };
}

/** One interval: 50 W host, 200 busy ticks of 400 (1 s on 4 CPUs half busy), `host` model. */
function step(previous: AttributionState, current: ProcessCpu[], over: Partial<AttributionInput> = {}): AttributionResult {
  return attribute({
    previous,
    current,
    hostPowerUw: 50_000_000,
    cpuBusyFraction: 0.5,
    busyTicks: 200,
    intervalMs: 1000,
    cpuCount: 4,
    model: 'host',
    reapedChildren: true,
    bornAfterTicks: null,
    ...over,
  });
}

function sumUw(r: AttributionResult): number {
  return processFigures(r).reduce((s, p) => s + p.powerUw, 0);
}

function powerOf(r: AttributionResult, current: readonly ProcessCpu[], pid: number): number | undefined {
  return processFigures(r).find((p) => current[p.index]?.pid === pid)?.powerUw;
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

describe('attribute: the machine\'s busy ticks are the denominator', () => {
  it('gives each process host power × its ticks / busy ticks; the rest is unattributed', () => {
    const first = initialState([proc(1, 100), proc(2, 100), proc(3, 100)]);
    const cur = [proc(1, 175), proc(2, 125), proc(3, 100)]; // 75, 25 and 0 of 200 busy ticks
    const r = step(first, cur);
    expect(r.modelTotalUw).toBe(50_000_000);
    expect(processFigures(r).map((p) => [p.index, p.cpuTicks, p.cpuShare, p.powerUw])).toEqual([
      [0, 75, 0.375, 18_750_000],
      [1, 25, 0.125, 6_250_000],
      [2, 0, 0, 0],
    ]);
    // The other 100 busy ticks were spent by nobody scaph saw (processes that came and went, interrupts).
    expect(r.unattributedPowerUw).toBe(25_000_000);
    expect(sumUw(r) + r.unattributedPowerUw).toBe(50_000_000);
    // 75 ticks in 1 s on 4 CPUs at USER_HZ 100 = 75 / 400.
    expect(processFigures(r)[0]?.cpuUsagePercent).toBe(18.75);
    expect(processFigures(r)[0]?.energyUj).toBe(18_750_000);
  });

  it('does not hand the CPU time of processes that lived between readings to the survivors', () => {
    // Same survivors, same ticks; in the second machine 150 more busy ticks were spent by short-lived jobs.
    // attribute() updates the state it is given: each alternative starts from a state of its own.
    const first = (): AttributionState => initialState([proc(1, 0), proc(2, 0)]);
    const cur = [proc(1, 40), proc(2, 10)];
    const quiet = step(first(), cur, { busyTicks: 50 });
    const busyBox = step(first(), cur, { busyTicks: 200 });
    expect(processFigures(quiet).map((p) => p.powerUw)).toEqual([40_000_000, 10_000_000]);
    expect(processFigures(busyBox).map((p) => p.powerUw)).toEqual([10_000_000, 2_500_000]);
    expect(busyBox.unattributedPowerUw).toBe(37_500_000);
  });

  it('`active` applies the same shares to active power; `host` to host power', () => {
    const first = (): AttributionState => initialState([proc(1, 0), proc(2, 0)]);
    const cur = [proc(1, 120), proc(2, 40)]; // 160 of 200 busy ticks, busy fraction 0.5
    const host = step(first(), cur, { model: 'host' });
    const active = step(first(), cur, { model: 'active' });
    expect(processFigures(host).map((p) => p.cpuShare)).toEqual(processFigures(active).map((p) => p.cpuShare));
    expect(host.modelTotalUw).toBe(50_000_000);
    expect(active.modelTotalUw).toBe(25_000_000);
    expect(processFigures(host).map((p) => p.powerUw)).toEqual([30_000_000, 10_000_000]);
    expect(processFigures(active).map((p) => p.powerUw)).toEqual([15_000_000, 5_000_000]);
    expect(host.unattributedPowerUw).toBe(10_000_000);
    expect(active.unattributedPowerUw).toBe(5_000_000);
    expect(active.activePowerUw).toBe(host.activePowerUw);
  });

  it('scales shares down when the processes\' ticks exceed the busy ticks (skew between reads): never negative', () => {
    const first = (): AttributionState => initialState([proc(1, 0), proc(2, 0)]);
    const r = step(first(), [proc(1, 150), proc(2, 100)], { busyTicks: 200 }); // 250 > 200
    expect(r.scale).toBe(0.8);
    expect(processFigures(r).map((p) => p.cpuShare)).toEqual([0.6, 0.4]);
    expect(processFigures(r).map((p) => p.powerUw)).toEqual([30_000_000, 20_000_000]);
    expect(r.unattributedPowerUw).toBe(0);
    const none = step(first(), [proc(1, 3), proc(2, 0)], { busyTicks: 0 });
    expect(processFigures(none).map((p) => p.powerUw)).toEqual([50_000_000, 0]);
    expect(none.unattributedPowerUw).toBe(0);
  });

  it('sums processes + unattributed to the model total exactly, over many random intervals', () => {
    const rand = lcg(42);
    for (let round = 0; round < 200; round++) {
      const n = 1 + Math.floor(rand() * 300);
      const prev: ProcessCpu[] = [];
      const cur: ProcessCpu[] = [];
      let ticks = 0;
      for (let i = 0; i < n; i++) {
        const base = Math.floor(rand() * 1e6);
        const grown = Math.floor(rand() * rand() * 500);
        ticks += grown;
        prev.push(proc(i + 1, base));
        cur.push(proc(i + 1, base + grown));
      }
      const hostPowerUw = rand() * 300_000_000;
      const busy = rand();
      const model = rand() < 0.5 ? 'host' : 'active';
      // Busy ticks from 0.5× to 2× the processes' ticks: both the scaled and the remainder case.
      const busyTicks = Math.floor(ticks * (0.5 + rand() * 1.5));
      const r = step(initialState(prev), cur, { hostPowerUw, cpuBusyFraction: busy, busyTicks, model, intervalMs: 500 + rand() * 2000 });
      expect(r.modelTotalUw).toBe(model === 'host' ? Math.round(hostPowerUw) : Math.round(hostPowerUw * busy));
      expect(sumUw(r) + r.unattributedPowerUw).toBe(r.modelTotalUw);
      expect(r.unattributedPowerUw).toBeGreaterThanOrEqual(0);
      for (const p of processFigures(r)) {
        expect(Number.isInteger(p.powerUw)).toBe(true);
        expect(p.powerUw).toBeGreaterThanOrEqual(0);
        // Largest remainder keeps each part within 1 µW of its exact share.
        expect(Math.abs(p.powerUw - r.modelTotalUw * p.cpuShare)).toBeLessThan(1 + 1e-6);
      }
    }
  });

  it('gives every process 0 when none used CPU: the busy time is all unattributed', () => {
    const cpu = [proc(1, 10), proc(2, 20)];
    const r = step(initialState(cpu), cpu);
    expect(processFigures(r).map((p) => [p.powerUw, p.cpuShare, p.energyUj])).toEqual([
      [0, 0, 0],
      [0, 0, 0],
    ]);
    expect(r.unattributedPowerUw).toBe(50_000_000);
  });

  it('counts all the CPU time of a process born inside the interval, none of one that existed before', () => {
    const first = (): AttributionState => initialState([proc(1, 0)]);
    // The previous reading was at 5,000 ticks since boot. pid 7 started at 5,020: born inside the interval.
    // pid 8 started at 4,000 but was missed by the previous reading: its 80 ticks may be older than the interval.
    const cur = [proc(1, 20), proc(7, 60, { starttime: 5_020 }), proc(8, 80, { starttime: 4_000 })];
    const r = step(first(), cur, { bornAfterTicks: 5_000 });
    expect(processFigures(r).map((p) => [cur[p.index]?.pid, p.cpuTicks, p.powerUw])).toEqual([
      [1, 20, 5_000_000],
      [7, 60, 15_000_000],
    ]);
    // Without /proc/uptime scaph cannot tell: a new process counts from its second reading.
    const unknown = step(first(), cur, { bornAfterTicks: null });
    expect(processFigures(unknown).map((p) => cur[p.index]?.pid)).toEqual([1]);
  });
});

describe('attribute: reaped children', () => {
  it('gives the growth of cutime + cstime to the parent', () => {
    const first = (): AttributionState => initialState([proc(100, 0)]);
    // The shell spent 10 ticks itself and waited for jobs that used 90 ticks between the readings.
    const cur = [proc(100, 10, { childTicksTotal: 90 })];
    const r = step(first(), cur);
    expect(processFigures(r)[0]).toMatchObject({ cpuTicks: 10, childCpuTicks: 90, cpuShare: 0.5, powerUw: 25_000_000 });
    expect(processFigures(r)[0]?.cpuUsagePercent).toBe(2.5); // its own CPU use only
    const off = step(first(), cur, { reapedChildren: false });
    expect(processFigures(off)[0]).toMatchObject({ cpuTicks: 10, childCpuTicks: 0, powerUw: 2_500_000 });
    expect(off.unattributedPowerUw).toBe(47_500_000);
  });

  it('counts a child seen alive for 3 intervals and then reaped once', () => {
    const shell = (own: number, children: number) => proc(100, own, { childTicksTotal: children });
    const child = (ticks: number) => proc(200, ticks, { ppid: 100 });
    let state = initialState([shell(0, 0)]);
    let childEnergy = 0;
    let shellEnergy = 0;
    // Interval 1: the child is born (after the previous reading at 0 ticks since boot) and has used 30 ticks.
    const readings: ProcessCpu[][] = [
      [shell(1, 0), child(30)],
      [shell(2, 0), child(70)], // +40
      [shell(3, 0), child(100)], // +30
      [shell(4, 120)], // the child used 20 more ticks, ended and was waited for: cutime = its 120 ticks
    ];
    let childPower = 0;
    for (const cur of readings) {
      const r = step(state, cur, { bornAfterTicks: 0 });
      childPower += powerOf(r, cur, 200) ?? 0;
      shellEnergy = processFigures(r).find((p) => cur[p.index]?.pid === 100)?.energyUj ?? shellEnergy;
      childEnergy = processFigures(r).find((p) => cur[p.index]?.pid === 200)?.energyUj ?? childEnergy;
      state = r.next;
    }
    // Each of the child's 120 ticks was counted once: 100 while alive (30 + 40 + 30), 20 through the shell.
    expect(childPower).toBe(25_000_000 * (100 / 100));
    expect(childEnergy).toBe(25_000_000);
    expect(shellEnergy).toBe(((4 + 20) / 200) * 50_000_000);
  });

  it('charges a child whose parent ended in the same interval to the grandparent that reaped both', () => {
    const state = initialState([
      proc(1, 0, { childTicksTotal: 0, starttime: 1 }),
      proc(10, 5, { ppid: 1 }),
      proc(20, 50, { ppid: 10 }),
    ]);
    // Both ended; pid 1 waited for pid 10, which had waited for pid 20: cutime of 1 grew by 10's 8 ticks
    // + its cutime (20's 60 ticks). Of those, 5 + 50 were seen at the previous reading.
    const cur = [proc(1, 0, { childTicksTotal: 68, starttime: 1 })];
    const r = step(state, cur);
    expect(processFigures(r)[0]).toMatchObject({ childCpuTicks: 13, powerUw: (13 / 200) * 50_000_000 });
  });

  it('charges a child that ended and was replaced by a new one with the same pid to its parent once', () => {
    const state = initialState([proc(100, 0), proc(42, 300, { ppid: 100, starttime: 100 })]);
    // Old 42 used 20 more ticks, ended, was reaped (cutime +320); a new 42 born inside the interval used 5.
    const cur = [proc(100, 2, { childTicksTotal: 320 }), proc(42, 5, { ppid: 100, starttime: 900 })];
    const r = step(state, cur, { bornAfterTicks: 800 });
    expect(processFigures(r).map((p) => [cur[p.index]?.pid, p.cpuTicks, p.childCpuTicks])).toEqual([
      [100, 2, 20],
      [42, 5, 0],
    ]);
  });

  it('treats a reused pid as a new process: energy restarts and its parent is not charged twice', () => {
    let r = step(initialState([proc(42, 0, { starttime: 100 })]), [proc(42, 50, { starttime: 100 })]);
    expect(processFigures(r)[0]?.energyUj).toBe(12_500_000); // 50 of 200 busy ticks of 50 W, 1 s
    r = step(r.next, [proc(42, 90, { starttime: 100 })], { intervalMs: 2000 });
    expect(processFigures(r)[0]?.energyUj).toBe(12_500_000 + 20_000_000);
    // pid 42 now belongs to a process started later: the old one ended, the new one starts at 0.
    r = step(r.next, [proc(42, 5, { starttime: 900 })], { bornAfterTicks: 800 });
    expect(r.ended).toEqual([{ pid: 42, starttime: 100 }]);
    expect(processFigures(r)[0]).toMatchObject({ cpuTicks: 5, energyUj: 1_250_000 });
    expect(r.next.get(42)).toMatchObject({ starttime: 900, cpuTicksTotal: 5 });
    r = step(r.next, [proc(42, 15, { starttime: 900 })], { hostPowerUw: 10_000_000 });
    expect(r.ended).toEqual([]);
    expect(processFigures(r)[0]?.energyUj).toBe(1_250_000 + 500_000);
  });

  it('an orphan reaped by init after its parent was killed: init gets what the orphan ran since it was seen, no more', () => {
    // bash (50) waits for make (60), which runs cc1 (70). make is killed: bash reaps make, init reaps cc1.
    const state = initialState([
      proc(1, 1000, { ppid: 0, starttime: 1 }),
      proc(50, 10),
      proc(60, 5, { ppid: 50 }),
      proc(70, 3000, { ppid: 60 }),
      proc(80, 0),
    ]);
    // cc1 ran 10 more ticks before it ended: init's cutime grew by its 3,010; bash's by make's 5; a burner used 150.
    const cur = [proc(1, 1000, { ppid: 0, starttime: 1, childTicksTotal: 3010 }), proc(50, 10, { childTicksTotal: 5 }), proc(80, 150)];
    const r = step(state, cur);
    const by = (pid: number) => processFigures(r).find((p) => cur[p.index]?.pid === pid);
    expect(by(80)?.powerUw).toBe(37_500_000); // its own 150 of 200 busy ticks, untouched
    expect(by(1)).toMatchObject({ childCpuTicks: 10, powerUw: 2_500_000 });
    expect(by(50)?.childCpuTicks).toBe(0);
    expect(sumUw(r) + r.unattributedPowerUw).toBe(50_000_000);
  });

  it('a debit that comes before its growth (parent read before the reap) waits for it on the parent', () => {
    const s0 = initialState([proc(100, 0), proc(200, 5000, { ppid: 100 }), proc(300, 0)]);
    // Reading N: the parent's stat was read before the child was reaped; the child's was gone.
    let cur = [proc(100, 1), proc(300, 150)];
    let r = step(s0, cur);
    expect(processFigures(r).map((p) => p.powerUw)).toEqual([250_000, 37_500_000]);
    expect(r.next.get(100)).toMatchObject({ pendingDebitTicks: 5000, pendingDebitAge: 1 });
    // Reading N+1: the growth arrives; only what the child ran after its last reading (10 ticks) is credited.
    cur = [proc(100, 2, { childTicksTotal: 5010 }), proc(300, 300)];
    r = step(r.next, cur);
    expect(processFigures(r).map((p) => [p.childCpuTicks, p.powerUw])).toEqual([
      [10, 2_750_000],
      [0, 37_500_000],
    ]);
    expect(r.next.get(100)?.pendingDebitTicks).toBe(0);
  });

  it('never lets a growth that escaped its debit (child read alive just before the reap) take another process\'s own ticks', () => {
    // pid wrap: the child (50) is read alive, then reaped, then its parent (900) read with the grown cutime.
    const s0 = initialState([proc(50, 5000, { ppid: 900 }), proc(900, 0), proc(300, 0)]);
    let cur = [proc(50, 5005, { ppid: 900 }), proc(300, 150), proc(900, 1, { childTicksTotal: 5010 })];
    let r = step(s0, cur);
    const burner = () => processFigures(r).find((p) => cur[p.index]?.pid === 300)?.powerUw;
    expect(burner()).toBe(37_500_000);
    // The parent's credit is bounded by the busy ticks no process's own time explains: 200 - 156.
    expect(processFigures(r).find((p) => cur[p.index]?.pid === 900)?.childCpuTicks).toBe(44);
    cur = [proc(300, 300), proc(900, 2, { childTicksTotal: 5010 })];
    r = step(r.next, cur);
    expect(burner()).toBe(37_500_000);
    // The late debit waits on the parent for its next growth, then expires: it cannot eat credits forever.
    expect(r.next.get(900)).toMatchObject({ pendingDebitTicks: 5005, pendingDebitAge: 1 });
    for (let k = 0; k < 3; k++) r = step(r.next, [proc(300, 450 + 150 * k), proc(900, 3 + k, { childTicksTotal: 5010 + 20 * (k + 1) })]);
    expect(processFigures(r).find((p) => p.index === 1)?.childCpuTicks).toBe(20);
  });

  it('never gives a parent a negative credit when a child\'s last ticks exceed what its cutime grew by', () => {
    // The child was reparented to init before it ended: the parent's cutime did not grow.
    const state = initialState([proc(100, 0), proc(200, 80, { ppid: 100 })]);
    const r = step(state, [proc(100, 10, { childTicksTotal: 0 })]);
    expect(processFigures(r)[0]).toMatchObject({ childCpuTicks: 0, cpuTicks: 10 });
  });

  it('reports processes that disappeared and forgets them', () => {
    const state = initialState([proc(1, 0), proc(2, 0)]);
    const r = step(state, [proc(1, 3)]);
    expect(r.ended).toEqual([{ pid: 2, starttime: 20 }]);
    expect([...r.next.keys()]).toEqual([1]);
  });

  it('updates the state in place: one entry per process for as long as it lives, a new one when its pid is reused', () => {
    const state = initialState([proc(1, 0), proc(2, 0), proc(3, 0)]);
    const entryOf1 = state.get(1);
    let r = step(state, [proc(1, 40), proc(2, 10), proc(3, 0)]);
    expect(r.next).toBe(state);
    expect(r.next.get(1)).toBe(entryOf1);
    expect(r.next.get(1)).toMatchObject({ cpuTicksTotal: 40, energyUj: 10_000_000 });
    expect(r.ended).toEqual([]);
    // pid 2 now names another process (started at 2,000 ticks), pid 3 ended, pid 4 is new.
    r = step(r.next, [proc(1, 80), proc(2, 5, { starttime: 2_000 }), proc(4, 7)], { bornAfterTicks: 1_000 });
    expect(r.ended).toEqual([{ pid: 2, starttime: 20 }, { pid: 3, starttime: 30 }]);
    expect(r.next.get(1)).toBe(entryOf1);
    expect(r.next.get(1)).toMatchObject({ cpuTicksTotal: 80, energyUj: 20_000_000 });
    expect(r.next.get(2)).toMatchObject({ starttime: 2_000, cpuTicksTotal: 5 });
    expect(r.next.has(3)).toBe(false);
    expect(processFigures(r).map((p) => [r.figures.count, p.index, p.cpuTicks])).toEqual([[2, 0, 40], [2, 1, 5]]);
    // pid 4 was not seen before and started before the previous reading: it counts from the next interval.
    expect(r.next.get(4)).toMatchObject({ starttime: 40, cpuTicksTotal: 7, energyUj: 0 });
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

  it('gives what largest remainder with ties in index order gives, on many shares (ties, zeros, non-participants)', () => {
    // The rule written plainly: floors, then one µW each to the largest fractions, equal ones by index.
    const plain = (w: Float64Array, sum: number, total: number): number[] => {
      const out = [...w].map((x) => (x > 0 ? Math.floor((total * x) / sum) : 0));
      let left = total - out.reduce((a, b) => a + b, 0);
      const idx = [...w.keys()].filter((i) => (w[i] as number) > 0);
      idx.sort((a, b) => (total * (w[b] as number)) / sum - (out[b] as number) - ((total * (w[a] as number)) / sum - (out[a] as number)));
      for (const i of idx) if (left-- > 0) out[i] = (out[i] as number) + 1;
      return out;
    };
    const rand = seededRandom(33);
    for (let round = 0; round < 200; round++) {
      const n = 1 + Math.floor(rand() * 400);
      // Few distinct weights: many equal fractions, so the order of ties decides who gets the µW.
      const w = Float64Array.from({ length: n }, () => (rand() < 0.2 ? (rand() < 0.5 ? 0 : -1) : 1 + Math.floor(rand() * 7)));
      const sum = [...w].filter((x) => x > 0).reduce((a, b) => a + b, 0);
      const total = Math.floor(rand() * 90_000_000);
      const out = distribute(w, sum, total);
      expect([...out]).toEqual(plain(w, sum, total));
      if (sum > 0) expect([...out].reduce((a, b) => a + b, 0)).toBe(total);
    }
  });
});
