/**
 * Turns each sample's energy into emissions counters: a counter's growth over a step is the growth of the
 * sensor's energy counter behind it (host, unattributed, each group, each process: the sensor's counters, not
 * power × time) × the intensity in force when the sample is taken.
 *
 * Exact sums. Counters are kept in whole micrograms. The host's is the rounded running total of
 * ΔE(µJ) × I(g/kWh) / 3.6e6 (µg; 1 kWh = 3.6e12 µJ). What the attribution model distributes (the host's
 * grams with `--attribution host`; the active part's, accounted the same way, with `active`) is then split,
 * each step, between the processes and the unattributed remainder in proportion to their energy growth,
 * by cumulative rounding (each part gets the floor or the ceiling of its exact share; the parts sum to the
 * total, no sort, no allocation per process). So Σ process grams + unattributed grams = the model's grams
 * exactly, as Σ process power + unattributed power = the model's power in µW. Each group kind is split the
 * same way against the rest of the model's total: a kind's groups never sum to more than it. Without
 * `--carbon-per-process` the processes are one share (their energy from the host's figures): no work per
 * process at all.
 *
 * A counter follows the sensor's: a group whose energy counter starts again (back after its retention)
 * starts its emissions again; a process is (pid, starttime). A step without an intensity (a provider failing
 * with no static fallback) moves the energy baselines and counts nothing.
 */
import { GROUP_ENERGY_RETENTION_MS, type CarbonSample, type GroupKind, type GroupSample, type ProcessSample, type Sample } from '../core/sample.js';
import type { Intensity } from './intensity.js';

/** µJ × (g/kWh) / this = µg. */
const UJ_G_PER_KWH_TO_UG = 3.6e6;
const GROUP_KINDS: readonly GroupKind[] = ['container', 'pod', 'namespace', 'systemd_unit'];
/** Twice the sensor's retention: a counter the sensor continues is never forgotten here first. */
const GROUP_STATE_RETENTION_MS = 2 * GROUP_ENERGY_RETENTION_MS;

export interface AccountantOptions {
  /** Keep a counter per process (--carbon-per-process). */
  readonly perProcess: boolean;
}

interface Counter {
  lastUj: number;
  ug: number;
}

interface GroupCounter extends Counter {
  lastSeenMs: number;
}

interface ProcessCounter extends Counter {
  readonly starttime: number;
  seen: number;
}

/** A running total of exact µg and the whole µg it has been rounded to. */
class Rounded {
  private exactUg = 0;
  ug = 0;
  /** Adds `exactUg`; returns the whole µg this step adds. */
  add(exactUg: number): number {
    this.exactUg += exactUg;
    const whole = Math.round(this.exactUg);
    const step = whole - this.ug;
    this.ug = whole;
    return step;
  }
}

/** Splits a whole `total` across parts in proportion to their weights (Σ weights = `weightSum`), by cumulative rounding. */
class Split {
  private prefix = 0;
  private given = 0;
  constructor(
    private readonly total: number,
    private readonly weightSum: number,
  ) {}
  take(weight: number): number {
    if (this.weightSum <= 0 || weight <= 0) return 0;
    this.prefix += weight;
    const upTo = this.prefix >= this.weightSum ? this.total : Math.round((this.total * this.prefix) / this.weightSum);
    const part = Math.max(0, upTo - this.given);
    this.given += part;
    return part;
  }
  get rest(): number {
    return this.total - this.given;
  }
}

export class CarbonAccountant {
  private readonly host = new Rounded();
  private readonly model = new Rounded();
  private lastHostUj = 0;
  private lastUnattributedUj = 0;
  private unattributedUg = 0;
  private readonly groups = new Map<string, GroupCounter>();
  private readonly processes = new Map<number, ProcessCounter>();
  private step = 0;
  /** Scratch, reused: each group's energy growth this step. */
  private readonly groupGrowth: number[] = [];

  constructor(private readonly options: AccountantOptions) {}

  account(sample: Sample, intensity: Intensity | null): CarbonSample {
    this.step += 1;
    const h = sample.host;
    const hostUj = growth(h.energyUj, this.lastHostUj);
    this.lastHostUj = h.energyUj;
    const unattributedUj = growth(h.unattributedEnergyUj, this.lastUnattributedUj);
    this.lastUnattributedUj = h.unattributedEnergyUj;
    const g = intensity === null ? 0 : intensity.gPerKwh / UJ_G_PER_KWH_TO_UG;
    const hostStepUg = this.host.add(hostUj * g);
    const processGrowth = this.options.perProcess ? this.processGrowth(sample.processes) : null;
    const processesUj = processGrowth === null ? processesEnergyUj(sample) : sumOf(processGrowth);
    const modelUj = processesUj + unattributedUj;
    const modelStepUg = h.attribution === 'active' ? this.model.add(modelUj * g) : hostStepUg;
    const processGrams = processGrowth === null ? null : this.splitProcesses(sample.processes, processGrowth, modelStepUg, modelUj);
    if (processGrowth === null) this.unattributedUg += new Split(modelStepUg, modelUj).take(unattributedUj);
    const groupGrams = this.splitGroups(sample.groups, sample.timestampMs, modelStepUg, modelUj);
    return {
      intensityGPerKwh: intensity === null ? null : intensity.gPerKwh,
      source: intensity === null ? null : intensity.source,
      zone: intensity?.zone ?? '',
      hostGrams: this.host.ug / 1e6,
      unattributedGrams: this.unattributedUg / 1e6,
      groupGrams,
      processGrams,
    };
  }

  /** Processes with a counter (with --carbon-per-process): those of the latest sample. */
  get trackedProcesses(): number {
    return this.processes.size;
  }

  /** Each process's energy growth (same index), its counter made or continued; ended ones forgotten. */
  private processGrowth(list: readonly ProcessSample[]): number[] {
    const step = this.step;
    const out = new Array<number>(list.length);
    for (let i = 0; i < list.length; i++) {
      const p = list[i] as ProcessSample;
      let c = this.processes.get(p.pid);
      if (c === undefined || c.starttime !== p.starttime) {
        c = { starttime: p.starttime, lastUj: 0, ug: 0, seen: step };
        this.processes.set(p.pid, c);
      }
      c.seen = step;
      out[i] = growth(p.energyUj, c.lastUj);
      c.lastUj = p.energyUj;
    }
    // keys() + get(), not entries(): no pair allocated per process.
    for (const pid of this.processes.keys()) if ((this.processes.get(pid) as ProcessCounter).seen !== step) this.processes.delete(pid);
    return out;
  }

  /** The model's step split over processes (in the sample's order) then the unattributed remainder. */
  private splitProcesses(list: readonly ProcessSample[], growthUj: readonly number[], stepUg: number, modelUj: number): number[] {
    const split = new Split(stepUg, modelUj);
    const grams = new Array<number>(list.length);
    for (let i = 0; i < list.length; i++) {
      const c = this.processes.get((list[i] as ProcessSample).pid) as ProcessCounter;
      c.ug += split.take(growthUj[i] as number);
      grams[i] = c.ug / 1e6;
    }
    this.unattributedUg += split.rest;
    return grams;
  }

  /** Each group's counter grown by its share of the model's step within its kind; groups gone long enough forgotten. */
  private splitGroups(groups: readonly GroupSample[], nowMs: number, stepUg: number, modelUj: number): number[] {
    const growthUj = this.groupGrowth;
    growthUj.length = groups.length;
    const kindUj = [0, 0, 0, 0];
    for (let i = 0; i < groups.length; i++) {
      const gs = groups[i] as GroupSample;
      const key = `${gs.kind}\u0000${gs.key}`;
      let c = this.groups.get(key);
      if (c === undefined) {
        c = { lastUj: 0, ug: 0, lastSeenMs: nowMs };
        this.groups.set(key, c);
      }
      // The sensor started this group's energy again (back after its retention): so do its emissions.
      if (gs.energyUj < c.lastUj) {
        c.lastUj = 0;
        c.ug = 0;
      }
      const uj = gs.energyUj - c.lastUj;
      c.lastUj = gs.energyUj;
      c.lastSeenMs = nowMs;
      growthUj[i] = uj;
      const k = GROUP_KINDS.indexOf(gs.kind);
      kindUj[k] = (kindUj[k] as number) + uj;
    }
    // Against the model's total (the rest being what runs outside the kind's groups); the groups' own sum if larger.
    const splits = kindUj.map((uj) => new Split(stepUg, Math.max(uj, modelUj)));
    const grams = new Array<number>(groups.length);
    for (let i = 0; i < groups.length; i++) {
      const gs = groups[i] as GroupSample;
      const c = this.groups.get(`${gs.kind}\u0000${gs.key}`) as GroupCounter;
      c.ug += (splits[GROUP_KINDS.indexOf(gs.kind)] as Split).take(growthUj[i] as number);
      grams[i] = c.ug / 1e6;
    }
    const oldestMs = nowMs - GROUP_STATE_RETENTION_MS;
    for (const key of this.groups.keys()) if ((this.groups.get(key) as GroupCounter).lastSeenMs < oldestMs) this.groups.delete(key);
    return grams;
  }
}

/** A counter's growth; a counter lower than before started again: all of it is growth. */
function growth(nowUj: number, lastUj: number): number {
  return nowUj >= lastUj ? nowUj - lastUj : nowUj;
}

function sumOf(list: readonly number[]): number {
  let sum = 0;
  for (const v of list) sum += v;
  return sum;
}

/**
 * The processes' energy this step without listing them: Σ process power = the model's total − unattributed
 * power (whole µW, exactly), over the sample's interval.
 */
function processesEnergyUj(sample: Sample): number {
  const h = sample.host;
  const modelUw = h.attribution === 'active' ? h.activePowerUw : Math.max(0, Math.round(h.powerUw));
  return (Math.max(0, modelUw - h.unattributedPowerUw) * sample.intervalMs) / 1000;
}
