import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ScaphError } from '../../../../src/core/errors.js';
import { PowerUnavailableError, type PowerReading } from '../../../../src/sensors/power-source.js';
import {
  PowercapMissingError,
  PowercapPermissionError,
  PowercapSource,
  PowercapUnusableError,
  probePowercap,
} from '../../../../src/sensors/powercap/source.js';
import { createPowercapTree, type PowercapTree, type PowercapTreeOptions, type PresetName } from '../../../support/fixtures/powercap-tree.js';

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly file?: string;
}

function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { logger, lines };
}

const WARN = 40;
const CONTEXT = { cpuBusyFraction: 0.5, intervalNs: 1_000_000_000n, cpuCount: 8 } as const;

const trees: PowercapTree[] = [];
const sources: PowercapSource[] = [];
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.close()));
  for (const t of trees.splice(0)) t.close();
});

function tree(preset: PresetName | Parameters<typeof createPowercapTree>[0], options?: PowercapTreeOptions): PowercapTree {
  const t = createPowercapTree(preset, options);
  trees.push(t);
  return t;
}

async function startSource(t: PowercapTree, logger: Logger = pino({ level: 'silent' }), path = t.powercapPath): Promise<PowercapSource> {
  const source = new PowercapSource({ powercapPath: path, logger, now: t.now });
  sources.push(source);
  await source.start();
  return source;
}

/** Truth over one interval: each zone's exact energy (µJ) and mean power (µW). */
class Truth {
  private before = new Map<string, number>();
  private startEnergy = new Map<string, number>();
  private t0: bigint;
  /** origin: count sinceStartUj from the origin's creation (the source's start) rather than from now. */
  constructor(
    private readonly t: PowercapTree,
    origin?: Truth,
  ) {
    for (const z of t.zones) this.startEnergy.set(z, origin ? origin.startEnergy.get(z) ?? Number.NaN : t.energyUj(z));
    this.t0 = t.now();
    this.mark();
  }
  mark(): void {
    for (const z of this.t.zones) this.before.set(z, this.t.energyUj(z));
    this.t0 = this.t.now();
  }
  deltaUj(zone: string): number {
    return this.t.energyUj(zone) - (this.before.get(zone) ?? Number.NaN);
  }
  powerUw(zone: string): number {
    return (this.deltaUj(zone) * 1e9) / Number(this.t.now() - this.t0);
  }
  sinceStartUj(zone: string): number {
    return this.t.energyUj(zone) - (this.startEnergy.get(zone) ?? Number.NaN);
  }
}

function expectWithin(measured: number, truth: number, relative = 0.005): void {
  expect(truth).toBeGreaterThan(0);
  expect(Math.abs(measured - truth) / truth).toBeLessThanOrEqual(relative);
}

/** Steps of varied length with wattage changes in mid-interval; every ranged zone must wrap along the way. */
const STEPS_MS = [1000, 1000, 1500, 800, 1200, 1000, 2000, 1000, 900, 1100, 1300, 700];

async function runIntervals(
  t: PowercapTree,
  source: PowercapSource,
  check: (reading: PowerReading, truth: Truth) => void,
): Promise<void> {
  const truth = new Truth(t);
  const initialW = new Map(t.zones.map((z) => [z, t.powerW(z)]));
  for (const [i, ms] of STEPS_MS.entries()) {
    t.advance(ms / 2);
    for (const [j, zone] of t.zones.entries()) t.setPower(zone, (initialW.get(zone) ?? 0) * powerFactor(i + j));
    t.advance(ms / 2);
    const reading = await source.read(CONTEXT);
    check(reading, truth);
    truth.mark();
  }
}

/** Wattage changes stay within the ranges' headroom: at most 1.15 × 2 s of energy < 2.5 s (one wrap per interval). */
function powerFactor(i: number): number {
  return [0.7, 1.1, 0.85, 1.15, 0.9, 1.0][i % 6] ?? 1;
}

function socketZone(id: number): string {
  return `intel-rapl:${id}`;
}

function checkSockets(reading: PowerReading, truth: Truth, t: PowercapTree): void {
  for (const socket of reading.sockets) {
    expectWithin(socket.powerUw, truth.powerUw(socketZone(socket.id)));
    expectWithin(socket.energyUj, truth.sinceStartUj(socketZone(socket.id)));
    for (const d of socket.domains) {
      const zone = `intel-rapl:${socket.id}:${d.id}`;
      expect(t.zones).toContain(zone);
      expectWithin(d.powerUw, truth.powerUw(zone));
      expectWithin(d.energyUj, truth.sinceStartUj(zone));
    }
  }
}

function expectEveryRangedZoneWrapped(t: PowercapTree): void {
  for (const z of t.zones) if (t.maxRangeUj(z) !== null) expect(t.wraps(z), z).toBeGreaterThanOrEqual(2);
}

describe('PowercapSource on a 2-socket server', () => {
  it('reports every socket and domain within 0.5 % of the truth across wraps', async () => {
    const t = tree('server2s');
    const source = await startSource(t);
    const hostZones = ['intel-rapl:0', 'intel-rapl:0:2', 'intel-rapl:1', 'intel-rapl:1:2'];
    const hostEnergyAt = (): number => hostZones.reduce((sum, z) => sum + t.energyUj(z), 0);
    const hostAtStartUj = hostEnergyAt();
    let readings = 0;
    await runIntervals(t, source, (reading, truth) => {
      readings += 1;
      expect(reading.valueSource).toBe('powercap_rapl_pkg');
      expect(reading.psysEnergyUj).toBeNull();
      expect(reading.sockets.map((s) => s.id)).toEqual([0, 1]);
      for (const s of reading.sockets) {
        expect(s.domains.map((d) => [d.id, d.name])).toEqual([[0, 'core'], [1, 'uncore'], [2, 'dram']]);
      }
      checkSockets(reading, truth, t);
      // Host = Σ package + dram; the mmio twin of package 0 is not added.
      const hostTruthUw = hostZones.reduce((sum, z) => sum + truth.powerUw(z), 0);
      expectWithin(reading.hostPowerUw, hostTruthUw);
      expectWithin(reading.hostEnergyDeltaUj, hostZones.reduce((sum, z) => sum + truth.deltaUj(z), 0));
    });
    expect(readings).toBe(STEPS_MS.length);
    expectEveryRangedZoneWrapped(t);
    expectWithin(source.hostEnergyUj, hostEnergyAt() - hostAtStartUj);
  });

  it('does not count the intel-rapl-mmio twin even when it disagrees wildly', async () => {
    const t = tree('server2s');
    const source = await startSource(t);
    t.setPower('intel-rapl-mmio:0', 500);
    const truth = new Truth(t);
    t.advance(1000);
    const reading = await source.read(CONTEXT);
    const hostTruthUw = ['intel-rapl:0', 'intel-rapl:0:2', 'intel-rapl:1', 'intel-rapl:1:2'].reduce((sum, z) => sum + truth.powerUw(z), 0);
    expectWithin(reading.hostPowerUw, hostTruthUw);
    expect(hostTruthUw).toBeCloseTo((62 + 11.25 + 48 + 9.5) * 1e6, 0);
  });

  it('finds each zone once whether given /sys/class/powercap (symlinks), the devices dir, or a flat tree', async () => {
    const viaClass = tree('server2s');
    const devicesPath = join(viaClass.powercapPath, '..', '..', 'devices', 'virtual', 'powercap');
    const flat = tree('server2s', { layout: 'flat' });
    for (const [t, path] of [[viaClass, viaClass.powercapPath], [viaClass, devicesPath], [flat, flat.powercapPath]] as const) {
      const source = await startSource(t, undefined, path);
      const truth = new Truth(t);
      t.advance(1000);
      const reading = await source.read(CONTEXT);
      expect(reading.sockets.map((s) => [s.id, s.domains.length])).toEqual([[0, 3], [1, 3]]);
      checkSockets(reading, truth, t);
    }
  });
});

describe('PowercapSource on a laptop with psys', () => {
  it('takes host power from psys, reports package 0 as the only socket and ignores the mmio twin', async () => {
    const t = tree('laptop');
    const source = await startSource(t);
    await runIntervals(t, source, (reading, truth) => {
      expect(reading.valueSource).toBe('powercap_rapl_psys');
      expect(reading.sockets.map((s) => s.id)).toEqual([0]);
      expectWithin(reading.hostPowerUw, truth.powerUw('intel-rapl:1'));
      expectWithin(reading.hostEnergyDeltaUj, truth.deltaUj('intel-rapl:1'));
      checkSockets(reading, truth, t);
      // psysEnergyUj is the raw counter as the kernel shows it (wrapped), not the cumulative energy.
      const range = t.maxRangeUj('intel-rapl:1') ?? 0;
      expect(reading.psysEnergyUj).toBeLessThanOrEqual(range);
      expect(reading.psysEnergyUj).toBe(Number.parseInt(readCounter(t, 'intel-rapl:1'), 10));
    });
    expectEveryRangedZoneWrapped(t);
  });
});

describe('PowercapSource on an AMD box', () => {
  it('reports package and core only, host = package', async () => {
    const t = tree('amd');
    const source = await startSource(t);
    await runIntervals(t, source, (reading, truth) => {
      expect(reading.valueSource).toBe('powercap_rapl_pkg');
      expect(reading.sockets).toHaveLength(1);
      expect(reading.sockets[0]?.domains.map((d) => [d.id, d.name])).toEqual([[0, 'core']]);
      expectWithin(reading.hostPowerUw, truth.powerUw('intel-rapl:0'));
      checkSockets(reading, truth, t);
    });
    expectEveryRangedZoneWrapped(t);
  });
});

describe('PowercapSource on a VM tree written by scaph qemu (no max_energy_range_uj)', () => {
  it('treats a decreasing counter as a reset for that interval: no figure for it (no 0 W, no spike), then exact again; warned once', async () => {
    const t = tree('vm');
    const { logger, lines } = captureLogger();
    const source = await startSource(t, logger);
    await runIntervals(t, source, (reading, truth) => {
      expectWithin(reading.hostPowerUw, truth.powerUw('intel-rapl:0'));
      checkSockets(reading, truth, t);
    });

    for (let round = 0; round < 2; round += 1) {
      t.advance(400);
      t.resetCounter('intel-rapl:0');
      t.advance(600);
      // The host zone's interval is not measured: the step is unavailable, never 0 W or a spike.
      const unavailable = await source.read(CONTEXT).then(() => null, (e: unknown) => e);
      expect(unavailable).toBeInstanceOf(PowerUnavailableError);
      expect((unavailable as Error).message).toContain(`${t.file('intel-rapl:0')}: its energy counter went down (a reset)`);
      const next = new Truth(t);
      t.advance(1000);
      const reading = await source.read(CONTEXT);
      expectWithin(reading.hostPowerUw, next.powerUw('intel-rapl:0'));
      expect(reading.hostEnergyDeltaUj).toBeGreaterThan(0);
    }
    const resetWarnings = lines.filter((l) => l.level === WARN && l.msg.includes('reset'));
    expect(resetWarnings).toHaveLength(1);
    expect(resetWarnings[0]?.file).toBe(t.file('intel-rapl:0'));
  });
});

function readCounter(t: PowercapTree, zone: string): string {
  return readFileSync(t.file(zone), 'latin1').trim();
}

describe('PowercapSource errors and broken zones', () => {
  function emptyDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'scaph-powercap-empty-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  function expectMissingGuidance(err: unknown): void {
    expect(err).toBeInstanceOf(PowercapMissingError);
    expect(err).toBeInstanceOf(ScaphError);
    const e = err as PowercapMissingError;
    expect(e.exitCode).toBe(1);
    expect(e.message).toContain('modprobe intel_rapl_common');
    expect(e.message).toContain('`intel_rapl` on kernels older than 5.0');
    expect(e.message).toContain('scaph qemu');
    expect(e.message).toContain('--vm');
    expect(e.message).toContain('--sensor estimate');
  }

  it('throws PowercapMissingError with guidance when the tree does not exist', async () => {
    const path = join(emptyDir(), 'no-such-powercap');
    const source = new PowercapSource({ powercapPath: path, logger: pino({ level: 'silent' }) });
    const err = await source.start().then(() => null, (e: unknown) => e);
    expectMissingGuidance(err);
    expect((err as Error).message).toContain(path);
    expect(await probePowercap(path)).toBe('missing');
  });

  it('throws PowercapMissingError when the tree holds no intel-rapl zone (only an mmio twin)', async () => {
    const dir = emptyDir();
    mkdirSync(join(dir, 'intel-rapl-mmio:0'));
    writeFileSync(join(dir, 'intel-rapl-mmio:0', 'name'), 'package-0\n');
    writeFileSync(join(dir, 'intel-rapl-mmio:0', 'energy_uj'), '1234\n');
    const err = await new PowercapSource({ powercapPath: dir, logger: pino({ level: 'silent' }) }).start().then(
      () => null,
      (e: unknown) => e,
    );
    expectMissingGuidance(err);
    expect(await probePowercap(dir)).toBe('missing');
  });

  it('throws PowercapPermissionError naming the file when energy_uj is root-only and we are not root', async () => {
    const t = tree('server2s');
    const denied = t.file('intel-rapl:1:1');
    chmodSync(denied, 0o400); // what the kernel does since CVE-2020-8694
    const err = await asNonRoot(() => startSource(t).then(() => null, (e: unknown) => e));
    expect(err).toBeInstanceOf(PowercapPermissionError);
    const e = err as PowercapPermissionError;
    expect(e.exitCode).toBe(1);
    expect(e.file).toBe(denied);
    expect(e.message).toContain(denied);
    expect(e.message).toContain('CVE-2020-8694');
    expect(e.message).toContain('run scaph as root');
    // The fix the packages ship: group scaph reads, through their tmpfiles.d (or udev) rule.
    expect(e.message).toContain('`sudo systemd-tmpfiles --create scaph-powercap.conf` (/usr/lib/tmpfiles.d/scaph-powercap.conf;');
    expect(e.message).toContain('the udev rule /usr/lib/udev/rules.d/99-scaph-powercap.rules');
    expect(e.message).toContain('run scaph in group scaph');
    // Never the advice to open the counters to every user.
    expect(e.message).not.toMatch(/o\+r|a\+r|chmod/);
    expect(e.message).toContain('Do not make energy_uj readable by all users');
    expect(await asNonRoot(() => probePowercap(t.powercapPath))).toBe('permission');
    // Same tree, readable: the failure above was the permission and nothing else.
    chmodSync(denied, 0o444);
    expect(await asNonRoot(() => probePowercap(t.powercapPath))).toBe('ok');
  });

  it('warns once about a malformed zone at start and reports the others accurately', async () => {
    const t = tree('server2s');
    t.corrupt('intel-rapl:1:2', 'N/A');
    const { logger, lines } = captureLogger();
    const source = await startSource(t, logger);
    const origin = new Truth(t);
    for (let i = 0; i < 4; i += 1) {
      const truth = new Truth(t, origin);
      t.advance(1000);
      const reading = await source.read(CONTEXT);
      expect(reading.sockets.map((s) => s.domains.map((d) => d.name))).toEqual([['core', 'uncore', 'dram'], ['core', 'uncore']]);
      checkSockets(reading, truth, t);
      const hostTruth = ['intel-rapl:0', 'intel-rapl:0:2', 'intel-rapl:1'].reduce((sum, z) => sum + truth.powerUw(z), 0);
      expectWithin(reading.hostPowerUw, hostTruth);
    }
    const warnings = lines.filter((l) => l.level === WARN && l.file === t.file('intel-rapl:1:2'));
    expect(warnings).toHaveLength(1);
  });

  it('leaves a domain that turns malformed out of the readings (never its stale power), warns once, and catches up on its energy after', async () => {
    const t = tree('server2s');
    const { logger, lines } = captureLogger();
    const source = await startSource(t, logger);
    const whole = new Truth(t);
    let truth = new Truth(t);
    t.advance(1000);
    const before = (await source.read(CONTEXT)).sockets[0]?.domains[0]?.powerUw ?? 0;
    expectWithin(before, truth.powerUw('intel-rapl:0:0'));
    t.corrupt('intel-rapl:0:0', '');
    truth = new Truth(t);
    for (let i = 0; i < 3; i += 1) {
      const step = new Truth(t);
      t.setPower('intel-rapl:0:0', 30 + i * 4);
      t.advance(500);
      const reading = await source.read(CONTEXT);
      expect(reading.sockets[0]?.domains.map((d) => d.name)).toEqual(['uncore', 'dram']);
      expectWithin(reading.sockets[0]?.powerUw ?? 0, step.powerUw('intel-rapl:0'));
    }
    t.repair('intel-rapl:0:0');
    t.advance(500);
    const after = await source.read(CONTEXT);
    expect(after.sockets[0]?.domains.map((d) => d.name)).toEqual(['core', 'uncore', 'dram']);
    // The first good read covers the 2 s since the last good one: their mean, not a 4× spike.
    expectWithin(after.sockets[0]?.domains[0]?.powerUw ?? 0, truth.powerUw('intel-rapl:0:0'));
    expectWithin(after.sockets[0]?.domains[0]?.energyUj ?? 0, whole.sinceStartUj('intel-rapl:0:0'));
    // Said once when it broke, once when it came back.
    expect(lines.filter((l) => l.level === WARN && l.file === t.file('intel-rapl:0:0')).map((l) => l.msg)).toEqual([
      'cannot use this RAPL energy file; carrying on with the other zones (warned once per file)',
      'RAPL energy file readable again',
    ]);
  });

  it('throws PowercapUnusableError naming the files when no zone is usable at start', async () => {
    const t = tree('amd');
    t.corrupt('intel-rapl:0', 'garbage');
    t.corrupt('intel-rapl:0:0', '-5');
    const err = await startSource(t).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(PowercapUnusableError);
    expect((err as Error).message).toContain(t.file('intel-rapl:0'));
    expect((err as Error).message).toContain(t.file('intel-rapl:0:0'));
    expect(await probePowercap(t.powercapPath)).toBe('missing');
  });
});

describe('real-clock fixture mode', () => {
  it('advances the counters in real time for spawned processes', async () => {
    const t = tree('server2s', { clock: 'real', refreshMs: 10 });
    const source = new PowercapSource({ powercapPath: t.powercapPath, logger: pino({ level: 'silent' }) });
    sources.push(source);
    await source.start();
    const before = t.energyUj('intel-rapl:0');
    const t0 = process.hrtime.bigint();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const reading = await source.read(CONTEXT);
    const elapsedS = Number(process.hrtime.bigint() - t0) / 1e9;
    expect(t.energyUj('intel-rapl:0') - before).toBeGreaterThan(62e6 * 0.3);
    // Timing on a loaded box: the timer may lag a few refreshes behind, so only a loose bound here.
    expect(reading.sockets[0]?.powerUw ?? 0).toBeGreaterThan(62e6 * 0.7);
    expect(reading.sockets[0]?.powerUw ?? 0).toBeLessThan(62e6 * 1.3);
    expect(elapsedS).toBeGreaterThan(0.45);
  });
});

/**
 * Root reads any file whatever its mode, so a permission test must drop privileges. seteuid is
 * reversible (the saved uid stays 0) and, through glibc, applies to libuv's threads too.
 */
async function asNonRoot<T>(fn: () => Promise<T>): Promise<T> {
  if (process.getuid?.() !== 0) return fn();
  if (typeof process.seteuid !== 'function') throw new Error('need process.seteuid (run vitest with the forks pool)');
  process.seteuid(65534);
  try {
    return await fn();
  } finally {
    process.seteuid(0);
  }
}

describe('PowercapSource with a top-level dram zone', () => {
  it('files it as a domain of the socket S of its directory and counts it in the host total', async () => {
    const t = tree([
      { path: 'intel-rapl:0', name: 'package-0', powerW: 40 },
      { path: 'intel-rapl:0/intel-rapl:0:0', name: 'core', powerW: 25 },
      { path: 'intel-rapl:1', name: 'dram', powerW: 6 },
    ]);
    const source = await startSource(t);
    const truth = new Truth(t);
    t.advance(1000);
    const reading = await source.read(CONTEXT);
    expect(reading.sockets.map((s) => [s.id, s.domains.map((d) => [d.id, d.name])])).toEqual([
      [0, [[0, 'core']]],
      [1, [[0, 'dram']]],
    ]);
    // Socket 1 has no package zone: no package power to report for it.
    expect(reading.sockets[1]?.powerUw).toBe(0);
    expectWithin(reading.sockets[1]?.domains[0]?.powerUw ?? 0, truth.powerUw('intel-rapl:1'));
    expectWithin(reading.hostPowerUw, truth.powerUw('intel-rapl:0') + truth.powerUw('intel-rapl:1'));
  });
});

describe('what PowercapSource keeps in memory (Scaphandre scaph_self_*_records_nb)', () => {
  it('one previous reading per zone: per socket, per domain, and the zones host power sums; the read time in wall-clock ms', async () => {
    const server = await startSource(tree('server2s'));
    const before = Date.now();
    const reading = await server.read(CONTEXT);
    expect(reading.readAtMs).toBeGreaterThanOrEqual(before);
    expect(reading.readAtMs).toBeLessThanOrEqual(Date.now());
    expect(reading.sockets.map((s) => [s.id, s.energyRecordsKept, s.domains.map((d) => d.energyRecordsKept)])).toEqual([
      [0, 1, [1, 1, 1]],
      [1, 1, [1, 1, 1]],
    ]);
    // No psys: host power sums both packages and both drams.
    expect(reading.hostRecordsKept).toBe(4);
    const laptop = await startSource(tree('laptop'));
    expect((await laptop.read(CONTEXT)).hostRecordsKept).toBe(1);
  });

  it('a zone left out at start keeps nothing and is not counted', async () => {
    const t = tree('server2s');
    t.corrupt('intel-rapl:1:2', 'N/A');
    const reading = await (await startSource(t)).read(CONTEXT);
    expect(reading.sockets[1]?.domains.map((d) => [d.name, d.energyRecordsKept])).toEqual([['core', 1], ['uncore', 1]]);
    expect(reading.hostRecordsKept).toBe(3);
  });
});
