import { describe, expect, it } from 'vitest';
import { CarbonAccountant } from '../../../src/carbon/accountant.js';
import type { Intensity } from '../../../src/carbon/intensity.js';
import type { GroupSample, ProcessSample, Sample } from '../../../src/core/sample.js';
import { makeProcess, makeSample } from '../../support/fixtures/sample.js';
import { seededRandom as mulberry32 } from '../../support/fixtures/prng.js';

const fixed = (gPerKwh: number): Intensity => ({ gPerKwh, source: 'fixed', zone: '' });
/** µJ × g/kWh → whole µg, as docs/carbon.md defines it. */
const ug = (uj: number, gPerKwh: number): number => (uj * gPerKwh) / 3.6e6;
const toUg = (grams: number): number => Math.round(grams * 1e6);

interface Step {
  readonly hostUj: number;
  readonly unattributedUj: number;
  readonly processes: readonly ProcessSample[];
  readonly groups?: readonly GroupSample[];
  readonly attribution?: 'host' | 'active';
  /** The processes' energy this step as the host's powers say it (what the accountant uses without --carbon-per-process); default 80 J. */
  readonly processesStepUj?: number;
}

/** A sample whose counters are the running totals given. */
function sampleOf(s: Step, t: number): Sample {
  return makeSample({
    timestampMs: Date.UTC(2026, 0, 1) + t * 2000,
    host: {
      ...makeSample().host,
      energyUj: s.hostUj,
      unattributedEnergyUj: s.unattributedUj,
      attribution: s.attribution ?? 'host',
      ...(s.processesStepUj === undefined ? {} : { powerUw: s.processesStepUj / 2, unattributedPowerUw: 0 }),
    },
    processes: [...s.processes],
    groups: [...(s.groups ?? [])],
  });
}

function group(kind: GroupSample['kind'], key: string, energyUj: number): GroupSample {
  return { kind, key, container: { containerId: key }, powerUw: 0, energyUj, source: 'cgroup' };
}

describe('CarbonAccountant', () => {
  it('a fixed intensity gives host emissions = energy (kWh) x intensity, exactly at every step', () => {
    const acc = new CarbonAccountant({ perProcess: false });
    // 36 J a step at 250 g/kWh: 10 Wh... 36e6 µJ x 250 / 3.6e6 = 2,500 µg a step.
    for (let n = 1; n <= 50; n++) {
      const c = acc.account(sampleOf({ hostUj: n * 36_000_000, unattributedUj: n * 6_000_000, processes: [] }, n), fixed(250));
      expect(toUg(c.hostGrams)).toBe(n * 2500);
      expect(c.hostGrams).toBe((n * 2500) / 1e6);
      expect(c).toMatchObject({ intensityGPerKwh: 250, source: 'fixed', zone: '' });
    }
  });

  it('irregular energies: host µg = round(Σ ΔE x I / 3.6e6) at every step, within 1 µg of E x I', () => {
    const rnd = mulberry32(7);
    const acc = new CarbonAccountant({ perProcess: false });
    let energy = 0;
    for (let n = 1; n <= 200; n++) {
      energy += 1_000_000 + rnd() * 80_000_000;
      const c = acc.account(sampleOf({ hostUj: energy, unattributedUj: energy / 3, processes: [] }, n), fixed(417.3));
      expect(Math.abs(toUg(c.hostGrams) - ug(energy, 417.3))).toBeLessThanOrEqual(1);
    }
  });

  it('an intensity changing mid-run gives the piecewise sum exactly', () => {
    const acc = new CarbonAccountant({ perProcess: false });
    const intensities = [100, 100, 100, 400, 400, 52, 52, 52, 52, 1000];
    let expectedUg = 0;
    intensities.forEach((g, k) => {
      const n = k + 1;
      expectedUg += ug(18_000_000, g);
      const c = acc.account(sampleOf({ hostUj: n * 18_000_000, unattributedUj: 0, processes: [] }, n), fixed(g));
      expect(toUg(c.hostGrams)).toBe(Math.round(expectedUg));
      expect(c.intensityGPerKwh).toBe(g);
    });
    // 3 x 500 + 2 x 2000 + 4 x 260 + 5000 µg
    expect(toUg(acc.account(sampleOf({ hostUj: 10 * 18_000_000, unattributedUj: 0, processes: [] }, 11), null).hostGrams)).toBe(11_540);
  });

  it('a step without an intensity counts nothing and publishes none, then counting resumes from the new energy only', () => {
    const acc = new CarbonAccountant({ perProcess: false });
    acc.account(sampleOf({ hostUj: 36_000_000, unattributedUj: 0, processes: [] }, 1), fixed(100));
    const none = acc.account(sampleOf({ hostUj: 72_000_000, unattributedUj: 0, processes: [] }, 2), null);
    expect(none).toMatchObject({ intensityGPerKwh: null, source: null, hostGrams: 0.001 });
    const back = acc.account(sampleOf({ hostUj: 108_000_000, unattributedUj: 0, processes: [] }, 3), fixed(100));
    expect(toUg(back.hostGrams)).toBe(2000);
  });

  it('per process: Σ process + unattributed = host exactly in µg at every step, each process near its own energy x intensity', () => {
    const rnd = mulberry32(11);
    const acc = new CarbonAccountant({ perProcess: true });
    const energies = new Map<number, number>();
    const starts = new Map<number, number>();
    let unattributed = 0;
    let host = 0;
    /** Each (pid, starttime)'s last counter, ended ones included: their grams stay counted. */
    const counted = new Map<string, number>();
    for (let n = 1; n <= 100; n++) {
      const processes: ProcessSample[] = [];
      let stepUj = 0;
      for (let pid = 1; pid <= 30; pid++) {
        if ((pid + n) % 17 === 0) {
          energies.delete(pid); // ended; a new one takes the pid next step
          continue;
        }
        const d = rnd() * 3_000_000;
        stepUj += d;
        energies.set(pid, (energies.get(pid) ?? 0) + d);
        const starttime = energies.get(pid) === d ? 1000 * n + pid : (starts.get(pid) as number);
        starts.set(pid, starttime);
        processes.push(makeProcess({ pid, starttime, energyUj: energies.get(pid) as number }));
      }
      const u = rnd() * 5_000_000;
      unattributed += u;
      host += stepUj + u + (rnd() - 0.5) * 10; // the host counter is not exactly the sum of the shares
      const c = acc.account(sampleOf({ hostUj: host, unattributedUj: unattributed, processes }, n), fixed(333));
      processes.forEach((p, i) => {
        const grams = (c.processGrams as number[])[i] as number;
        counted.set(`${p.pid}/${p.starttime}`, toUg(grams));
        // Each step it gets the floor or ceiling of its share: within 1 µg a step of its energy x intensity.
        expect(Math.abs(toUg(grams) - ug(p.energyUj, 333))).toBeLessThanOrEqual(n + 1);
      });
      const sum = [...counted.values()].reduce((a, g) => a + g, 0) + toUg(c.unattributedGrams);
      expect(sum).toBe(toUg(c.hostGrams));
    }
  });

  it('per process: a process gets the whole-µg floor or ceiling of its share, a new (pid, starttime) starts from its counter', () => {
    const acc = new CarbonAccountant({ perProcess: true });
    const p = (pid: number, energyUj: number, starttime = 1000 + pid) => makeProcess({ pid, energyUj, starttime });
    // 36 J host: 18 J for pid 1, 9 J for pid 2, 9 J unattributed, 1000 g/kWh: 5000, 2500, 2500 µg.
    let c = acc.account(sampleOf({ hostUj: 36e6, unattributedUj: 9e6, processes: [p(1, 18e6), p(2, 9e6)] }, 1), fixed(1000));
    expect((c.processGrams as number[]).map(toUg)).toEqual([5000, 2500]);
    expect(toUg(c.unattributedGrams)).toBe(2500);
    // pid 2 is another process now (new starttime): its counter starts from its own energy.
    c = acc.account(sampleOf({ hostUj: 72e6, unattributedUj: 18e6, processes: [p(1, 36e6), p(2, 9e6, 5000)] }, 2), fixed(1000));
    expect((c.processGrams as number[]).map(toUg)).toEqual([10000, 2500]);
    expect(toUg(c.unattributedGrams)).toBe(5000);
    expect(acc.trackedProcesses).toBe(2);
    acc.account(sampleOf({ hostUj: 73e6, unattributedUj: 19e6, processes: [] }, 3), fixed(1000));
    expect(acc.trackedProcesses).toBe(0);
  });

  it('groups: within each kind Σ groups ≤ host, the rest being what runs outside; a counter started again starts again', () => {
    const acc = new CarbonAccountant({ perProcess: false });
    // 36 J host, 100 g/kWh: 1000 µg. Containers a (9 J) and b (18 J); one unit (36 J: all of it).
    const groups1 = [group('container', 'a', 9e6), group('container', 'b', 18e6), group('systemd_unit', 'u', 36e6)];
    let c = acc.account(sampleOf({ hostUj: 36e6, unattributedUj: 0, processes: [], groups: groups1, processesStepUj: 36e6 }, 1), fixed(100));
    expect(c.groupGrams.map(toUg)).toEqual([250, 500, 1000]);
    const groups2 = [group('container', 'a', 9e6 + 36e6), group('container', 'b', 4e6), group('systemd_unit', 'u', 72e6)];
    c = acc.account(sampleOf({ hostUj: 72e6, unattributedUj: 0, processes: [], groups: groups2, processesStepUj: 36e6 }, 2), fixed(100));
    // b's counter went down (the sensor started it again): its emissions start again too. a grew 36 J and b 4 J,
    // more than the 36 J the model shares: the kind gets all of the step's 1000 µg, in proportion (900, 100).
    expect(c.groupGrams.map(toUg)).toEqual([1150, 100, 2000]);
    expect(c.groupGrams[0] as number).toBeLessThanOrEqual(c.hostGrams);
  });

  it('attribution active: processes + unattributed = the active part, counted at the same intensity', () => {
    const acc = new CarbonAccountant({ perProcess: true });
    const processes = [makeProcess({ pid: 1, energyUj: 7.2e6 }), makeProcess({ pid: 2, energyUj: 3.6e6 })];
    const c = acc.account(sampleOf({ hostUj: 36e6, unattributedUj: 3.6e6, processes, attribution: 'active' }, 1), fixed(500));
    expect(toUg(c.hostGrams)).toBe(5000);
    expect((c.processGrams as number[]).map(toUg)).toEqual([1000, 500]);
    expect(toUg(c.unattributedGrams)).toBe(500);
  });

  it('without --carbon-per-process no process is listed and unattributed is its share of the host', () => {
    const acc = new CarbonAccountant({ perProcess: false });
    // makeSample: host 100 W, unattributed 60 W over 2 s: processes 80 J; unattributed grew 40 J of 120 J.
    const c = acc.account(sampleOf({ hostUj: 120e6, unattributedUj: 40e6, processes: [makeProcess({ pid: 9, energyUj: 80e6 })] }, 1), fixed(90));
    expect(c.processGrams).toBeNull();
    expect(toUg(c.hostGrams)).toBe(3000);
    expect(toUg(c.unattributedGrams)).toBe(1000); // 40 J of the 120 J of shares (80 J processes + 40 J)
    expect(acc.trackedProcesses).toBe(0);
  });
});
