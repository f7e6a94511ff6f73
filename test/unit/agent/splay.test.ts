import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gridStartMs } from '../../../src/agent/scheduler.js';
import { exporterPhaseMs, gridPointAtOrAfter, samplingPhaseMs, splayFraction, splayKey, splayPlan } from '../../../src/agent/splay.js';
import { SteppedExporter } from '../../../src/agent/stepped-exporter.js';
import { validateRunConfig, type ExporterConfig } from '../../../src/config/run-config.js';
import { parseConfigText } from '../../../src/config/source.js';
import type { Exporter } from '../../../src/core/exporter.js';
import { MACHINE_ID_FILE_ENV, readMachineId } from '../../../src/core/machine-id.js';
import { seededRandom } from '../../support/fixtures/prng.js';
import { syntheticSample } from '../../support/fixtures/synthetic-sample.js';

const dir = mkdtempSync(join(tmpdir(), 'scaph-splay-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function hex32(random: () => number): string {
  let out = '';
  for (let i = 0; i < 32; i++) out += Math.floor(random() * 16).toString(16);
  return out;
}

/** Pearson's χ² of counts against a uniform expectation. */
function chiSquare(counts: readonly number[]): number {
  const expected = counts.reduce((a, b) => a + b, 0) / counts.length;
  return counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
}

/** χ² above which uniformity is rejected at p = 0.001, by degrees of freedom (bins - 1). */
const CHI2_P001: Readonly<Record<number, number>> = { 9: 27.88, 19: 43.82 };

function histogram(values: readonly number[], bins: number, periodMs: number): number[] {
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) {
    const bin = Math.floor((((v % periodMs) + periodMs) % periodMs) / (periodMs / bins));
    counts[bin] = (counts[bin] ?? 0) + 1;
  }
  return counts;
}

/** Kolmogorov-Smirnov distance between the values (in [0, 1)) and the uniform distribution. */
function ksDistance(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  let d = 0;
  sorted.forEach((v, i) => (d = Math.max(d, Math.abs((i + 1) / sorted.length - v), Math.abs(v - i / sorted.length))));
  return d;
}

/** The [[exporter]] of a config with one remote-write exporter at `exporterStep` over a `sensorStep` loop. */
function remoteWrite(sensorStepS: number, exporterStepS: number, splay: boolean | null): ExporterConfig {
  const text =
    `[sensor]\nstep = ${sensorStepS}\n\n[[exporter]]\ntype = "remote-write"\nurl = "http://127.0.0.1:9/api/v1/write"\nstep = ${exporterStepS}\n` +
    (splay === null ? '' : `splay = ${splay}\n`);
  const config = validateRunConfig('splay.toml', parseConfigText('splay.toml', text));
  return config.exporters[0] as ExporterConfig;
}

describe('the host offset (splay)', () => {
  const random = seededRandom(26);
  const hosts = Array.from({ length: 20_000 }, (_, i) => `${hex32(random)} node-${i}`);

  it('lies in [0, step) for any step, and is the same for the same host every time', () => {
    for (const stepMs of [1, 250, 2000, 10_000, 3_600_000]) {
      for (const key of hosts.slice(0, 2000)) {
        const phase = samplingPhaseMs(key, stepMs);
        expect(phase).toBeGreaterThanOrEqual(0);
        expect(phase).toBeLessThan(stepMs);
        expect(samplingPhaseMs(key, stepMs)).toBe(phase);
        const own = exporterPhaseMs(key, 'remote-write', stepMs);
        expect(own >= 0 && own < stepMs).toBe(true);
      }
    }
    // Across versions too: a new hash would move every host of a fleet at the upgrade. SHA-256 of
    // "sampling\0<key>" starts with 64ade3c69c37 (sha256sum), / 2^48.
    expect(splayFraction('0123456789abcdef0123456789abcdef web-001', 'sampling')).toBe(0x64ade3c69c37 / 2 ** 48);
    expect(splayFraction('web-001', 'exporter remote-write')).toBe(0xd9395e5c855c / 2 ** 48);
  });

  it('is uniform across hosts: random machine ids, and bare host names one character apart', () => {
    const names = Array.from({ length: 20_000 }, (_, i) => `web-${String(i).padStart(5, '0')}`);
    for (const keys of [hosts, names]) {
      for (const salt of ['sampling', 'exporter remote-write']) {
        const fractions = keys.map((k) => splayFraction(k, salt));
        expect(Math.min(...fractions)).toBeGreaterThanOrEqual(0);
        expect(Math.max(...fractions)).toBeLessThan(1);
        expect(chiSquare(histogram(fractions, 20, 1))).toBeLessThan(CHI2_P001[19] as number);
        // KS critical distance at p = 0.01: 1.63 / sqrt(n).
        expect(ksDistance(fractions)).toBeLessThan(1.63 / Math.sqrt(fractions.length));
      }
    }
  });

  it("gives the loop and each exporter phases independent of each other (else their ticks bunch)", () => {
    const a = hosts.map((k) => splayFraction(k, 'sampling'));
    const b = hosts.map((k) => splayFraction(k, 'exporter remote-write'));
    const mean = (xs: readonly number[]): number => xs.reduce((x, y) => x + y, 0) / xs.length;
    const ma = mean(a);
    const mb = mean(b);
    const cov = mean(a.map((x, i) => (x - ma) * ((b[i] as number) - mb)));
    const correlation = cov / Math.sqrt(mean(a.map((x) => (x - ma) ** 2)) * mean(b.map((y) => (y - mb) ** 2)));
    expect(Math.abs(correlation)).toBeLessThan(0.03);
  });
});

describe('the splay key: machine id and host name', () => {
  const write = (name: string, content: string): string => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  const id = '4c4c4544004a3510804cb6c04f4d3332';

  it('holds /etc/machine-id (or $SCAPH_MACHINE_ID_FILE) and the host name', () => {
    const env = { [MACHINE_ID_FILE_ENV]: write('machine-id', `${id}\n`) };
    expect(readMachineId(env)).toBe(id);
    expect(splayKey('web-7', env)).toEqual({ key: `${id} web-7`, from: 'machine-id and host name' });
    // A clone with the same machine id but its own name gets its own phase.
    expect(samplingPhaseMs(splayKey('web-8', env).key, 10_000)).not.toBe(samplingPhaseMs(splayKey('web-7', env).key, 10_000));
  });

  it('falls back to the host name alone when the machine id is missing, empty, uninitialized or malformed', () => {
    mkdirSync(join(dir, 'a-directory'));
    const cases = [
      join(dir, 'absent'),
      join(dir, 'a-directory'),
      write('empty', ''),
      write('uninitialized', 'uninitialized\n'),
      write('short', `${id.slice(1)}\n`),
      write('not-hex', `${id.slice(1)}z\n`),
    ];
    for (const path of cases) {
      const env = { [MACHINE_ID_FILE_ENV]: path };
      expect(readMachineId(env), path).toBeNull();
      expect(splayKey('web-7', env)).toEqual({ key: 'web-7', from: 'host name' });
    }
    expect(readMachineId({ [MACHINE_ID_FILE_ENV]: write('upper', `${id.toUpperCase()}\n`) })).toBe(id);
  });
});

describe('the splay plan of a run', () => {
  it('splays push exporters by default, not with splay = false; the loop only when one exporter splays', () => {
    const on = remoteWrite(2, 10, null);
    const off = remoteWrite(2, 10, false);
    expect(on.settings.splay).toBe(true);
    expect(off.settings.splay).toBe(false);
    const key = 'f00dfeedf00dfeedf00dfeedf00dfeed web-1';
    const plan = splayPlan([on], 2000, key);
    expect(plan.samplingPhaseMs).toBe(samplingPhaseMs(key, 2000));
    expect(plan.gridOf(on)).toEqual({ phaseMs: exporterPhaseMs(key, 'remote-write', 10_000), periodMs: 10_000 });
    expect(splayPlan([off], 2000, key)).toMatchObject({ samplingPhaseMs: null });
    expect(splayPlan([off], 2000, key).gridOf(off)).toBeNull();
    // At or below the sensor step the exporter takes every sample: the loop's grid is its grid.
    const every = remoteWrite(10, 10, true);
    expect(splayPlan([every], 10_000, key).gridOf(every)).toEqual({ phaseMs: samplingPhaseMs(key, 10_000), periodMs: 10_000 });
  });
});

describe('the splayed schedule', () => {
  it('starts the grid at least half a step (a whole one in a VM guest) after the first tick', () => {
    expect(gridPointAtOrAfter(12_345, 3_700, 10_000)).toBe(13_700);
    expect(gridPointAtOrAfter(13_700, 3_700, 10_000)).toBe(13_700);
    expect(gridPointAtOrAfter(-1, 250, 1000)).toBe(250);
    const startWall = 1_000_000_500;
    // First tick at 1 s; the grid (3.7 s past every 10 s) from 1 + 5 s on: 1_000_013_700, 13.2 s after start.
    expect(gridStartMs({ stepMs: 10_000, firstTickMs: 1000, phaseMs: 3700 }, startWall)).toBe(13_200);
    expect(gridStartMs({ stepMs: 10_000, firstTickMs: 1000, phaseMs: 7000 }, startWall)).toBe(6_500);
    // --vm: the first tick one step after start, the grid at least a step after it.
    expect(gridStartMs({ stepMs: 10_000, firstTickMs: 10_000, phaseMs: 3700 }, startWall)).toBe(23_200);
    // A 1 s step: the first at 1 s, the next at least 1 s later.
    expect(gridStartMs({ stepMs: 1000, firstTickMs: 1000, phaseMs: 200 }, 0)).toBe(2_200);
  });

  /** When the simulated fleet starts (within the following second), ms since the epoch: a multiple of every step. */
  const T0 = 1_800_000_000_000;

  /**
   * `hosts` agents started within the same second: each loop ticks as the Scheduler does (first tick, then
   * its grid, or every step without splay), 30 ms late (reading + timer), into a SteppedExporter built as
   * `runAgent` builds it, for 60 s. Returns the wall times each host pushed at.
   */
  function fleet(hosts: number, sensorStepS: number, exporterStepS: number, splay: boolean): number[][] {
    const random = seededRandom(1_000 + sensorStepS);
    const e = remoteWrite(sensorStepS, exporterStepS, splay);
    const S = sensorStepS * 1000;
    const firstTickMs = Math.min(S, 1000);
    const out: number[][] = [];
    for (let h = 0; h < hosts; h++) {
      const plan = splayPlan([e], S, `${hex32(random)} web-${h}`);
      const startWall = T0 + random() * 1000;
      let now = 0;
      const pushed: number[] = [];
      // One push per moment the exporter is handed samples (the first carries the start-up reading too).
      const inner: Exporter = { name: 'rec', start: async () => undefined, stop: async () => undefined, export: () => void (pushed.at(-1) !== now && pushed.push(now)) };
      const gate = new SteppedExporter(inner, e.stepMs, S, () => now, plan.gridOf(e));
      const gridStart = plan.samplingPhaseMs === null ? firstTickMs + S : gridStartMs({ stepMs: S, firstTickMs, phaseMs: plan.samplingPhaseMs }, startWall);
      const ticks = [firstTickMs];
      for (let t = gridStart; t < 60_000; t += S) ticks.push(t);
      for (const t of ticks) {
        now = startWall + t + 30;
        gate.export(syntheticSample({ timestampMs: now }));
      }
      out.push(pushed);
    }
    return out;
  }

  it.each([
    ['scaph remote-write -S 10 (loop and exporter at 10 s)', 10, 10],
    ['scaph run: a 2 s loop, a 10 s exporter', 2, 10],
    ['scaph run: a 2 s loop, a 5 s exporter (not a multiple)', 2, 5],
  ])('spreads a fleet started together uniformly over the step: %s', (_name, sensorStepS, exporterStepS) => {
    const E = exporterStepS * 1000;
    const pushed = fleet(2000, sensorStepS, exporterStepS, true);
    for (const times of pushed) {
      expect(times.length).toBeGreaterThanOrEqual(Math.floor(60_000 / E) - 2);
      // One push per exporter step, none skipped (at most a sensor step off it when the steps do not divide).
      for (let i = 1; i < times.length; i++) expect(Math.abs((times[i] as number) - (times[i - 1] as number) - E)).toBeLessThanOrEqual(sensorStepS * 1000);
    }
    // What the backend sees: the pushes of one whole step, once every host has started pushing (a host
    // pushes at the same second of every step, so one step at a time), by 1/10 of the step.
    for (const from of [T0 + 20_000, T0 + 40_000]) {
      const inStep = pushed.flat().filter((t) => t >= from && t < from + E);
      expect(inStep.length).toBeGreaterThan(1900);
      const counts = histogram(inStep, 10, E);
      expect(chiSquare(counts), counts.join(' ')).toBeLessThan(CHI2_P001[9] as number);
      expect(Math.max(...counts)).toBeLessThan((inStep.length / 10) * 1.25);
    }
  });

  it('holds the start-up reading until the first push at the offset (1.5 steps + 1 s at most), then sends it first', async () => {
    for (const [sensorStepS, exporterStepS] of [[10, 10], [2, 10]] as const) {
      const random = seededRandom(77);
      const e = remoteWrite(sensorStepS, exporterStepS, true);
      const S = sensorStepS * 1000;
      for (let h = 0; h < 200; h++) {
        const plan = splayPlan([e], S, `${hex32(random)} web-${h}`);
        let now = 0;
        const got: Array<{ sampleMs: number; atMs: number }> = [];
        const gate = new SteppedExporter(
          { name: 'rec', start: async () => undefined, stop: async () => undefined, export: (x) => void got.push({ sampleMs: x.timestampMs, atMs: now }) },
          e.stepMs,
          S,
          () => now,
          plan.gridOf(e),
        );
        const gridStart = gridStartMs({ stepMs: S, firstTickMs: 1000, phaseMs: plan.samplingPhaseMs }, 0);
        now = 1000;
        gate.export(syntheticSample({ timestampMs: now }));
        expect(got).toEqual([]);
        for (let t = gridStart; got.length === 0; t += S) {
          now = t;
          gate.export(syntheticSample({ timestampMs: now }));
        }
        expect(got).toEqual([
          { sampleMs: 1000, atMs: now },
          { sampleMs: now, atMs: now },
        ]);
        expect(now).toBeLessThanOrEqual(1.5 * exporterStepS * 1000 + 1000);
        expect(now).toBeGreaterThanOrEqual(1000 + S / 2);
      }
    }
    // Stopped before its first push: the start-up reading is still delivered.
    const e = remoteWrite(10, 10, true);
    const got: number[] = [];
    const gate = new SteppedExporter({ name: 'rec', start: async () => undefined, stop: async () => undefined, export: (x) => void got.push(x.timestampMs) }, 10_000, 10_000, () => 1000, splayPlan([e], 10_000, 'web-1').gridOf(e));
    gate.export(syntheticSample({ timestampMs: 1000 }));
    expect(got).toEqual([]);
    await gate.stop(1000);
    expect(got).toEqual([1000]);
  });

  it('without splay, a fleet started in the same second pushes in the same second (today)', () => {
    const pushed = fleet(2000, 10, 10, false);
    const counts = histogram(pushed.flat(), 10, 10_000);
    // Started within one second: every push falls in one or two adjacent 1 s bins.
    const sorted = [...counts].sort((a, b) => b - a);
    expect((sorted[0] as number) + (sorted[1] as number)).toBe(pushed.flat().length);
    // Today's schedule: the start-up reading is pushed, then one every step.
    for (const times of pushed) expect((times[1] as number) - (times[0] as number)).toBe(10_000);
  });

  it('after a gap (suspend, skipped ticks) sends the overdue sample, then is back on its grid', () => {
    const e = remoteWrite(2, 10, true);
    const grid = { phaseMs: 4_300, periodMs: 10_000 };
    let now = 0;
    const pushed: number[] = [];
    const gate = new SteppedExporter({ name: 'rec', start: async () => undefined, stop: async () => undefined, export: (x) => void pushed.push(x.timestampMs) }, e.stepMs, 2000, () => now, grid);
    // The loop's grid: 700 ms past every 2 s; start-up reading at 1 s.
    const ticks = [1000, ...Array.from({ length: 12 }, (_, k) => 2700 + 2000 * k), ...Array.from({ length: 8 }, (_, k) => 60_700 + 2000 * k)];
    for (const t of ticks) {
      now = t;
      gate.export(syntheticSample({ timestampMs: t }));
    }
    // The start-up reading with the tick nearest 4.3 s, then those nearest 14.3, 24.3 s; nothing from 26.7
    // to 60.7 s; the first sample after the gap is overdue (34.3 s) and goes at once; then the ticks nearest
    // 64.3 and 74.3 s: back on the grid.
    expect(pushed).toEqual([1_000, 4_700, 14_700, 24_700, 60_700, 64_700, 74_700]);
  });
});
