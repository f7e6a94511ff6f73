import { join } from 'node:path';
import { energyDeltaUj, powerUwFromEnergy } from '../../core/energy.js';
import { silentLogger, type Logger } from '../../core/log.js';
import type { DomainSample, SocketSample, ValueSource } from '../../core/sample.js';
import { EnergyCounterFile, type CounterRead } from './counter.js';
import { PowercapMissingError, PowercapPermissionError, PowercapUnusableError } from './errors.js';
import { discoverZones, type PowercapZone } from './zones.js';
import { PowerUnavailableError, type PowerReadContext, type PowerReading, type PowerSource } from '../power-source.js';
import { errorCode } from '../../core/errors.js';

export { PowercapMissingError, PowercapPermissionError, PowercapUnusableError } from './errors.js';
export type { PowercapZone } from './zones.js';

export interface PowercapSourceOptions {
  /** Root of the powercap tree: /sys/class/powercap, or the directory `scaph qemu` exports to a guest. */
  readonly powercapPath: string;
  readonly logger: Logger;
  /** Monotonic clock in ns; tests inject the fixture's clock. Defaults to process.hrtime.bigint. */
  readonly now?: () => bigint;
}

/** Per-zone counter state: the previous reading and what was made of it. */
interface ZoneState {
  readonly zone: PowercapZone;
  readonly counter: EnergyCounterFile;
  prevUj: number;
  /** When prevUj was read; -1n: no baseline (never read, or the file was lost since). */
  prevNs: bigint;
  cumulativeUj: number;
  powerUw: number;
  lastDeltaUj: number;
  /** This step's power is known: read now, from a baseline. */
  fresh: boolean;
  /** This step's read failed. */
  failed: boolean;
  lastProblem: string;
  warnedProblem: boolean;
  warnedReset: boolean;
}

interface SocketStates {
  readonly id: number;
  readonly pkg: ZoneState | null;
  readonly domains: readonly ZoneState[];
}

/**
 * Host, socket and domain power from RAPL energy counters. Each zone keeps its own previous reading and
 * timestamp. A figure that cannot be measured is never published, neither as 0 W nor as the last value:
 * - a host zone (psys, or each socket's package and dram) that cannot be read makes the step unavailable
 *   (read() throws PowerUnavailableError): nothing is published, and every host zone starts a new interval
 *   there (one that failed, at its next good read), so the next published power covers exactly the
 *   interval of the caller's next CPU reading. Readings resume by themselves when the files come back.
 * - a domain (or a socket's package under psys) that cannot be read is left out of that step; when its
 *   file stayed in place it catches up with the energy it missed on its next good read (the mean over the
 *   gap: no interval dropped, zeroed or doubled); a file that went away starts a new baseline.
 */
export class PowercapSource implements PowerSource {
  readonly kind = 'powercap_rapl' as const;
  private readonly now: () => bigint;
  private zones: ZoneState[] = [];
  private sockets: SocketStates[] = [];
  private psys: ZoneState | null = null;
  private started = false;
  /** Host energy since start, wrap-corrected, µJ. */
  hostEnergyUj = 0;

  constructor(private readonly options: PowercapSourceOptions) {
    this.now = options.now ?? process.hrtime.bigint;
  }

  async start(): Promise<void> {
    const discovered = await discoverZones(this.options.powercapPath);
    const candidates = discovered.map((zone) => newState(zone));
    const atNs = await this.primeAll(candidates);
    const usable = candidates.filter((s) => s.prevNs === atNs);
    const problems = (): string[] => candidates.filter((s) => !usable.includes(s)).map((s) => `${s.counter.path}: ${s.lastProblem}`);
    if (usable.length === 0) {
      await closeAll(candidates);
      throw new PowercapUnusableError(this.options.powercapPath, problems());
    }
    this.arrange(usable, candidates);
    if (this.hostZones().length === 0) {
      // Domains alone cannot give host power: publishing their sum (or 0 W) as host power would lie.
      await closeAll(candidates);
      throw new PowercapUnusableError(this.options.powercapPath, [...problems(), 'no package or psys zone is readable, so host power cannot be measured']);
    }
    this.started = true;
    this.options.logger.info(
      { zones: this.zones.map((s) => `${s.zone.zoneName}=${s.zone.name}`), valueSource: this.valueSource() },
      'powercap zones found',
    );
  }

  /** First reading of every zone; EACCES anywhere stops start-up with the group-read (tmpfiles/udev) guidance. */
  private async primeAll(states: readonly ZoneState[]): Promise<bigint> {
    // allSettled, not all: every open must have finished before we close them on the way out.
    const opened = await Promise.allSettled(states.map((s) => s.counter.open()));
    const denied = opened.findIndex((r) => r.status === 'rejected' && errorCode(r.reason) === 'EACCES');
    if (denied >= 0) {
      await closeAll(states);
      throw new PowercapPermissionError(states[denied]?.counter.path ?? this.options.powercapPath);
    }
    const t0 = this.now();
    const reads = await Promise.all(states.map((s) => s.counter.read()));
    const atNs = midpoint(t0, this.now());
    reads.forEach((r, i) => {
      const s = states[i];
      if (s === undefined) return;
      if (r.ok) {
        s.prevUj = r.valueUj;
        s.prevNs = atNs;
      } else this.warnProblem(s, r.problem);
    });
    return atNs;
  }

  /** Groups usable zones into psys and sockets; a socket whose package zone is unusable is left out. */
  private arrange(usable: readonly ZoneState[], all: readonly ZoneState[]): void {
    this.psys = usable.find((s) => s.zone.role === 'psys') ?? null;
    const psysSockets = new Set(all.filter((s) => s.zone.role === 'psys').map((s) => s.zone.socketId));
    const brokenPackages = new Set(all.filter((s) => s.zone.role === 'package' && !usable.includes(s)).map((s) => s.zone.socketId));
    const ids = [...new Set(usable.map((s) => s.zone.socketId))].filter((id) => !psysSockets.has(id) && !brokenPackages.has(id));
    this.sockets = ids.map((id) => ({
      id,
      pkg: usable.find((s) => s.zone.socketId === id && s.zone.role === 'package') ?? null,
      domains: usable.filter((s) => s.zone.socketId === id && s.zone.role === 'domain'),
    }));
    this.zones = [...(this.psys ? [this.psys] : []), ...this.sockets.flatMap((s) => (s.pkg ? [s.pkg, ...s.domains] : s.domains))];
    const kept = new Set(this.zones);
    void closeAll(all.filter((s) => !kept.has(s)));
    for (const id of brokenPackages) {
      this.options.logger.warn({ socket: id }, 'package zone unusable: socket left out of the readings');
    }
  }

  async read(_context?: PowerReadContext): Promise<PowerReading> {
    if (!this.started) throw new Error('PowercapSource.read() called before start()');
    const t0 = this.now();
    const reads = await Promise.all(this.zones.map((s) => s.counter.read()));
    const atNs = midpoint(t0, this.now());
    const readAtMs = Date.now();
    reads.forEach((r, i) => {
      const s = this.zones[i];
      if (s !== undefined) this.advance(s, r, atNs);
    });
    const unknown = this.hostZones().filter((z) => !z.fresh);
    if (unknown.length > 0) {
      // A host zone that failed starts its new interval at its next good read (the others did so now).
      for (const z of unknown) if (z.failed) z.prevNs = -1n;
      throw new PowerUnavailableError(unknown.map((z) => `${z.counter.path}: ${z.lastProblem}`));
    }
    for (const s of this.zones) if (s.failed) this.warnProblem(s, s.lastProblem);
    return this.reading(readAtMs);
  }

  /** Folds one counter reading into its zone; see the class comment for failed reads. */
  private advance(s: ZoneState, r: CounterRead, atNs: bigint): void {
    s.lastDeltaUj = 0;
    s.fresh = false;
    s.failed = !r.ok;
    if (!r.ok) {
      s.lastProblem = r.problem;
      if (r.fileLost) s.prevNs = -1n;
      return;
    }
    if (s.warnedProblem) {
      s.warnedProblem = false;
      this.options.logger.warn({ file: s.counter.path }, 'RAPL energy file readable again');
    }
    if (s.prevNs < 0n) {
      s.prevUj = r.valueUj;
      s.prevNs = atNs;
      s.lastProblem = 'readable again; its power is known from the next reading';
      return;
    }
    s.fresh = true;
    if (atNs <= s.prevNs) return;
    const valueUj = r.valueUj;
    const delta = energyDeltaUj(s.prevUj, valueUj, s.zone.maxRangeUj);
    if (delta.kind === 'reset') {
      this.resetInterval(s, valueUj, atNs);
      return;
    }
    if (delta.kind === 'wrapped') {
      this.options.logger.debug({ file: s.counter.path }, 'energy counter wrapped');
    }
    s.powerUw = powerUwFromEnergy(delta.deltaUj, atNs - s.prevNs);
    s.lastDeltaUj = delta.deltaUj;
    s.cumulativeUj += delta.deltaUj;
    s.prevUj = valueUj;
    s.prevNs = atNs;
  }

  /**
   * A counter that went down on a zone without max_energy_range_uj: a reset for that interval. Nothing is
   * counted (energy since a reset is unknowable: the writer may have set it anywhere), the zone is left out
   * of this step (a host zone: no sample this step, never a 0 W or a spike), and the reading is the baseline
   * of the next interval. Warned once per file.
   */
  private resetInterval(s: ZoneState, valueUj: number, atNs: bigint): void {
    if (!s.warnedReset) {
      s.warnedReset = true;
      this.options.logger.warn(
        { file: s.counter.path, previousUj: s.prevUj, currentUj: valueUj },
        'energy counter went down and the zone has no max_energy_range_uj: a counter reset, so that interval is not measured (no figure published for it); power resumes from the next reading (warned once per file)',
      );
    }
    s.fresh = false;
    s.lastProblem = 'its energy counter went down (a reset): its power is known from the next reading';
    s.prevUj = valueUj;
    s.prevNs = atNs;
  }

  /** The zones host power is made of: psys, or each socket's package plus its dram. */
  private hostZones(): ZoneState[] {
    return this.psys ? [this.psys] : this.sockets.flatMap(hostZonesOf);
  }

  /** This step's figures: only zones read now (a socket whose package was not, and such domains, are left out). */
  private reading(readAtMs: number): PowerReading {
    const sockets: SocketSample[] = [];
    for (const s of this.sockets) {
      if (s.pkg && !s.pkg.fresh) continue;
      sockets.push({
        id: s.id,
        energyUj: s.pkg?.cumulativeUj ?? 0,
        powerUw: s.pkg?.powerUw ?? 0,
        domains: s.domains
          .filter((d) => d.fresh)
          .map((d): DomainSample => ({ name: d.zone.name, id: d.zone.domainId, energyUj: d.cumulativeUj, powerUw: d.powerUw, energyRecordsKept: recordsKept(d) })),
        energyRecordsKept: s.pkg ? recordsKept(s.pkg) : 0,
      });
    }
    let hostPowerUw = 0;
    let hostEnergyDeltaUj = 0;
    let hostRecordsKept = 0;
    for (const z of this.hostZones()) {
      hostPowerUw += z.powerUw;
      hostEnergyDeltaUj += z.lastDeltaUj;
      hostRecordsKept += recordsKept(z);
    }
    this.hostEnergyUj += hostEnergyDeltaUj;
    return {
      hostPowerUw,
      hostEnergyDeltaUj,
      sockets,
      psysEnergyUj: this.psys ? this.psys.prevUj : null,
      valueSource: this.valueSource(),
      readAtMs,
      hostRecordsKept,
    };
  }

  private valueSource(): ValueSource {
    return this.psys ? 'powercap_rapl_psys' : 'powercap_rapl_pkg';
  }

  private warnProblem(s: ZoneState, problem: string): void {
    s.lastProblem = problem;
    if (s.warnedProblem) return;
    s.warnedProblem = true;
    this.options.logger.warn(
      { file: s.counter.path, problem },
      'cannot use this RAPL energy file; carrying on with the other zones (warned once per file)',
    );
  }

  /** Closes the counter files (the source can be started again afterwards). */
  async close(): Promise<void> {
    this.started = false;
    await closeAll(this.zones);
  }
}

function newState(zone: PowercapZone): ZoneState {
  return {
    zone,
    counter: new EnergyCounterFile(join(zone.dir, 'energy_uj')),
    prevUj: 0,
    prevNs: -1n,
    cumulativeUj: 0,
    powerUw: 0,
    lastDeltaUj: 0,
    fresh: false,
    failed: false,
    lastProblem: '',
    warnedProblem: false,
    warnedReset: false,
  };
}

/**
 * Readings a zone keeps in memory: its previous counter value (the baseline of the next interval), or none
 * before its first good read. Nothing else is buffered: power is the delta between two readings.
 */
function recordsKept(s: ZoneState): number {
  return s.prevNs >= 0n ? 1 : 0;
}

/** Host power without psys: each socket's package plus its dram (RAPL dram is outside the package). */
function hostZonesOf(s: SocketStates): ZoneState[] {
  const zones = s.domains.filter((d) => d.zone.name === 'dram');
  return s.pkg ? [s.pkg, ...zones] : zones;
}

function midpoint(t0: bigint, t1: bigint): bigint {
  return t0 + (t1 - t0) / 2n;
}

async function closeAll(states: readonly ZoneState[]): Promise<void> {
  await Promise.all(states.map((s) => s.counter.close()));
}

export type PowercapProbe = 'ok' | 'missing' | 'permission';

/** A probe's answer, with the energy file this user may not read when the answer is 'permission'. */
export type PowercapProbeResult = { readonly status: 'ok' | 'missing' } | { readonly status: 'permission'; readonly file: string };

/**
 * What `--sensor auto` needs to know: can this machine be metered with powercap here?
 * 'missing' also covers a tree whose zones are all unusable.
 */
export async function probePowercap(powercapPath: string, logger: Logger = silentLogger()): Promise<PowercapProbe> {
  return (await inspectPowercap(powercapPath, logger)).status;
}

/** probePowercap, naming the first energy_uj this user may not read. */
export async function inspectPowercap(powercapPath: string, logger: Logger = silentLogger()): Promise<PowercapProbeResult> {
  const source = new PowercapSource({ powercapPath, logger });
  try {
    await source.start();
    return { status: 'ok' };
  } catch (err) {
    if (err instanceof PowercapPermissionError) return { status: 'permission', file: err.file };
    if (err instanceof PowercapMissingError || err instanceof PowercapUnusableError) return { status: 'missing' };
    throw err;
  } finally {
    await source.close();
  }
}
