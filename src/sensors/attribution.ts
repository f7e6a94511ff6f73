/**
 * Per-process power, by the model of Scaphandre's documentation: a process's share of an interval is
 * the CPU time it spent over the CPU time the whole machine spent doing something (busy ticks of
 * /proc/stat), and that share is applied to the host's power. One call per interval: the state the
 * previous call returned goes in and is updated in place into the next (others only read it between calls).
 *
 * - **Denominator**: the machine's busy ticks over the interval, never the ticks of the processes scaph
 *   happened to see. CPU time of processes that lived and ended between two readings therefore stays
 *   unattributed instead of inflating the survivors.
 * - **Models**: `host` (default) gives each process host power × share; `active` gives active power
 *   (host × busy fraction) × share, so idle power stays out of process figures.
 * - **Born inside the interval**: a process not seen at the previous reading whose starttime is after it
 *   spent all its CPU time inside the interval: all of it counts. One that existed before (missed by a
 *   racing read, or any process at start-up) enters the state and counts from the next interval.
 * - **Reaped children**: the growth of a process's cutime + cstime is the CPU time of children that
 *   ended and were waited for. It goes to the parent, minus what those children had used by the time
 *   scaph last saw them: see reaped-children.ts for the bookkeeping (scan order, orphans, bounds).
 * - **Remainder**: model total − Σ process power is `unattributed`: interrupts, processes that ended
 *   unobserved or unreaped, clock skew between the reads. When Σ process ticks exceeds the busy ticks
 *   (the reads of /proc/stat and /proc/PID/stat are not simultaneous), the shares are scaled down so they
 *   sum to 1: nothing is ever negative.
 * - **Whole µW**: the attributed part is distributed by largest remainder, so Σ process power +
 *   unattributed = the model total exactly (integers, no float drift).
 * - Energy per process (µJ) accumulates powerUw × interval per (pid, starttime); a pid whose starttime
 *   changed is a new process whose energy restarts at 0.
 */
import { energyUjFromPower } from '../core/energy.js';
import type { AttributionModel, ProcessSample } from '../core/sample.js';
import { USER_HZ } from './procfs/reader.js';
import type { AttributionState, EndedKey, ProcessCpu, TrackedProcess } from './attribution-state.js';
import { creditReapedChildren, type Credits } from './reaped-children.js';

export type { AttributionModel } from '../core/sample.js';
export type { AttributionState, EndedKey, ProcessCpu, ProcessState, TrackedProcess } from './attribution-state.js';
export const ATTRIBUTION_MODELS: readonly AttributionModel[] = ['host', 'active'];

export interface AttributionInput {
  readonly previous: AttributionState;
  readonly current: readonly ProcessCpu[];
  readonly hostPowerUw: number;
  /** 0..1, clamped: busy ticks / all ticks over the interval. */
  readonly cpuBusyFraction: number;
  /** Busy ticks of the whole machine over the interval (user + nice + system + irq + softirq). */
  readonly busyTicks: number;
  readonly intervalMs: number;
  readonly cpuCount: number;
  readonly model: AttributionModel;
  /** Give reaped children's CPU time to their parent. */
  readonly reapedChildren: boolean;
  /**
   * Ticks since boot at the previous reading: a process not seen then with a starttime at or after this
   * was born inside the interval. null when unknown (no /proc/uptime).
   */
  readonly bornAfterTicks: number | null;
}

/** What the model works out for one process over the interval: the figures its ProcessSample carries. */
export interface ProcessFigures
  extends Pick<ProcessSample, 'cpuTicks' | 'childCpuTicks' | 'cpuShare' | 'cpuUsagePercent' | 'powerUw' | 'energyUj'> {
  /** Index of the process in `input.current`. */
  readonly index: number;
}

/**
 * The figures of the processes attributed this interval, as columns (entry k of each array is the k-th
 * attributed process, in `current` order; `count` of them): typed arrays live outside the JavaScript heap,
 * where 10,000 figure objects a step would live through the step's scavenges.
 */
export interface ProcessFigureColumns {
  readonly count: number;
  /** Index of the process in `input.current`. */
  readonly index: Int32Array;
  readonly cpuTicks: Float64Array;
  readonly childCpuTicks: Float64Array;
  readonly cpuShare: Float64Array;
  readonly cpuUsagePercent: Float64Array;
  readonly powerUw: Float64Array;
  readonly energyUj: Float64Array;
}

export interface AttributionResult {
  readonly activePowerUw: number;
  readonly idlePowerUw: number;
  /** What the model distributes, whole µW: round(host power) for `host`, active power for `active`. */
  readonly modelTotalUw: number;
  /** modelTotalUw − Σ process power, ≥ 0: what no live process explains. */
  readonly unattributedPowerUw: number;
  /** Σ process ticks (own + reaped children) over the interval. */
  readonly attributedTicks: number;
  /** ≤ 1: the factor shares were scaled by because Σ process ticks exceeded the busy ticks. */
  readonly scale: number;
  /** Processes attributed this interval, in `current` order. */
  readonly figures: ProcessFigureColumns;
  /** (pid, starttime) in `previous` that are not in `current`. */
  readonly ended: readonly EndedKey[];
  /** The state for the next interval: `previous`, updated in place. */
  readonly next: AttributionState;
}

/** The attributed processes' figures as objects (for tests and readers that want them one by one). */
export function processFigures(result: AttributionResult): ProcessFigures[] {
  const f = result.figures;
  const list: ProcessFigures[] = [];
  for (let k = 0; k < f.count; k++) {
    list.push({
      index: f.index[k] as number,
      cpuTicks: f.cpuTicks[k] as number,
      childCpuTicks: f.childCpuTicks[k] as number,
      cpuShare: f.cpuShare[k] as number,
      cpuUsagePercent: f.cpuUsagePercent[k] as number,
      powerUw: f.powerUw[k] as number,
      energyUj: f.energyUj[k] as number,
    });
  }
  return list;
}

export function splitHostPower(hostPowerUw: number, cpuBusyFraction: number): { activeUw: number; idleUw: number } {
  const busy = Math.min(1, Math.max(0, cpuBusyFraction));
  const activeUw = Math.round(hostPowerUw * busy);
  // Rounding active power to whole µW can overshoot a fractional host power by < 1 µW at 100 % busy:
  // idle is then 0, never a (printed) negative zero.
  return { activeUw, idleUw: Math.max(0, hostPowerUw - activeUw) };
}

/** cpuUsagePercent: ticks as a percentage of all CPUs' capacity over the interval. */
export function cpuUsagePercent(ticks: number, intervalMs: number, cpuCount: number): number {
  const capacityTicks = (intervalMs / 1000) * USER_HZ * cpuCount;
  return capacityTicks > 0 ? (ticks / capacityTicks) * 100 : 0;
}

/** The state after the first reading: every process known, none attributed (there is no interval yet). */
export function initialState(current: readonly ProcessCpu[]): AttributionState {
  const state = new Map<number, TrackedProcess>();
  for (const p of current) state.set(p.pid, trackedOf(p, 0));
  return state;
}

/** Numbers the attribute() calls, so a state entry tells whether this call found its pid. */
let passes = 0;

/**
 * One interval. `input.previous` is updated in place into the next state (returned as `next`): hand the
 * result's `next` to the following call, not an older state.
 */
export function attribute(input: AttributionInput): AttributionResult {
  const { current } = input;
  const state = input.previous as Map<number, TrackedProcess>;
  const pass = ++passes;
  const { activeUw, idleUw } = splitHostPower(input.hostPowerUw, input.cpuBusyFraction);
  const modelTotalUw = input.model === 'active' ? activeUw : Math.max(0, Math.round(input.hostPowerUw));
  const n = current.length;
  const own = new Float64Array(n).fill(-1);
  const children = new Float64Array(n);
  /** Some process reaped a child or still waits to match a debit: the credits have work to do. */
  let reaping = false;
  /** State entries whose pid is in `current`, and those of them that are still the same process. */
  let found = 0;
  let same = 0;
  // Read only: until the credits are worked out, every entry holds what the previous reading knew.
  for (let i = 0; i < n; i++) {
    const p = current[i] as ProcessCpu;
    const before = state.get(p.pid);
    if (before !== undefined) {
      if (before.seenInPass !== pass) found += 1;
      before.seenInPass = pass;
      before.liveStarttime = p.starttime;
    }
    if (before !== undefined && before.starttime === p.starttime) {
      same += 1;
      // Counters never decrease for a live process; guard anyway so a share is never negative.
      own[i] = Math.max(0, p.cpuTicksTotal - before.cpuTicksTotal);
      children[i] = Math.max(0, p.childTicksTotal - before.childTicksTotal);
      reaping ||= (children[i] as number) > 0 || before.pendingDebitTicks > 0;
    } else if (input.bornAfterTicks !== null && p.starttime >= input.bornAfterTicks) {
      own[i] = p.cpuTicksTotal;
      children[i] = p.childTicksTotal;
      reaping ||= (children[i] as number) > 0;
    }
  }
  // Every entry found and still the same process: nothing ended (the common step), no walk.
  const ended = found === state.size && same === found ? NOTHING_ENDED : endedKeys(state, pass);
  const startOfLive = (pid: number): number | undefined => {
    const s = state.get(pid);
    return s !== undefined && s.seenInPass === pass ? s.liveStarttime : undefined;
  };
  const credits = input.reapedChildren && (reaping || ended.length > 0)
    ? creditReapedChildren({ previous: state, current, own, growth: children, ended, startOfLive, busyTicks: input.busyTicks })
    : null;
  const weights = own;
  let attributedTicks = 0;
  for (let i = 0; i < n; i++) {
    if ((own[i] as number) < 0) continue;
    const credit = credits ? (credits.ticks[i] as number) : 0;
    children[i] = credit;
    weights[i] = (own[i] as number) + credit;
    attributedTicks += weights[i] as number;
  }
  const denominator = Math.max(input.busyTicks, attributedTicks);
  const attributedUw = denominator > 0 ? Math.round((modelTotalUw * attributedTicks) / denominator) : 0;
  const powers = distribute(weights, attributedTicks, attributedUw);
  const figures = figureColumns(n);
  let k = 0;
  // Now the state becomes the next one: each live process's entry takes this reading's counters.
  for (let i = 0; i < n; i++) {
    const p = current[i] as ProcessCpu;
    let s = state.get(p.pid);
    if (s !== undefined && s.starttime === p.starttime) {
      s.ppid = p.ppid;
      s.cpuTicksTotal = p.cpuTicksTotal;
      s.childTicksTotal = p.childTicksTotal;
    } else {
      s = trackedOf(p, pass);
      state.set(p.pid, s);
    }
    const weight = weights[i] as number;
    const carry = credits !== null && weight >= 0 ? (credits.carryTicks[i] as number) : 0;
    s.pendingDebitTicks = carry > 0 ? carry : 0;
    s.pendingDebitAge = carry > 0 ? (credits as Credits).carryAge[i] as number : 0;
    if (weight < 0) continue;
    const powerUw = powers[i] as number;
    const energyUj = s.energyUj + energyUjFromPower(powerUw, input.intervalMs);
    s.energyUj = energyUj;
    const childCpuTicks = children[i] as number;
    figures.index[k] = i;
    figures.cpuTicks[k] = weight - childCpuTicks;
    figures.childCpuTicks[k] = childCpuTicks;
    figures.cpuShare[k] = denominator > 0 ? weight / denominator : 0;
    figures.cpuUsagePercent[k] = cpuUsagePercent(weight - childCpuTicks, input.intervalMs, input.cpuCount);
    figures.powerUw[k] = powerUw;
    figures.energyUj[k] = energyUj;
    k += 1;
  }
  // Ended processes leave the state (a reused pid's entry was replaced by its new process's above).
  for (const key of ended) if (state.get(key.pid)?.starttime === key.starttime) state.delete(key.pid);
  return {
    activePowerUw: activeUw,
    idlePowerUw: idleUw,
    modelTotalUw,
    unattributedPowerUw: modelTotalUw - attributedUw,
    attributedTicks,
    scale: attributedTicks > input.busyTicks && attributedTicks > 0 ? input.busyTicks / attributedTicks : 1,
    figures: { ...figures, count: k },
    ended,
    next: state,
  };
}

const NOTHING_ENDED: readonly EndedKey[] = Object.freeze([]);

function figureColumns(n: number): Omit<ProcessFigureColumns, 'count'> {
  return {
    index: new Int32Array(n),
    cpuTicks: new Float64Array(n),
    childCpuTicks: new Float64Array(n),
    cpuShare: new Float64Array(n),
    cpuUsagePercent: new Float64Array(n),
    powerUw: new Float64Array(n),
    energyUj: new Float64Array(n),
  };
}

function trackedOf(p: ProcessCpu, pass: number): TrackedProcess {
  return {
    starttime: p.starttime,
    ppid: p.ppid,
    cpuTicksTotal: p.cpuTicksTotal,
    childTicksTotal: p.childTicksTotal,
    energyUj: 0,
    pendingDebitTicks: 0,
    pendingDebitAge: 0,
    seenInPass: pass,
    liveStarttime: p.starttime,
  };
}

/**
 * Whole-µW shares of `totalUw` proportional to `weights` (entries < 0 are not participants), by
 * largest remainder so the parts sum to `totalUw` exactly.
 */
export function distribute(weights: Float64Array, weightSum: number, totalUw: number): Float64Array {
  const out = new Float64Array(weights.length);
  if (weightSum <= 0 || totalUw <= 0) return out;
  // Each participant's fractional part, and the participants in index order: sorted below by a comparator
  // that reads the fractions and returns -1, 0 or 1, so no double is boxed per comparison (a closure
  // computing the fractions inside the comparator allocated two heap numbers per comparison: ~1 MB a step
  // at 10,000 processes).
  const fractions = new Float64Array(weights.length);
  const order = new Int32Array(weights.length);
  let participants = 0;
  let assigned = 0;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i] as number;
    if (w <= 0) continue;
    const exact = (totalUw * w) / weightSum;
    const whole = Math.floor(exact);
    out[i] = whole;
    fractions[i] = exact - whole;
    assigned += whole;
    order[participants++] = i;
  }
  let left = totalUw - assigned;
  if (left > 0) {
    // Largest fraction first; equal fractions in index order (what a stable sort of the indices gives).
    const ranked = order.subarray(0, participants).sort((a, b) => {
      const d = (fractions[b] as number) - (fractions[a] as number);
      return d > 0 ? 1 : d < 0 ? -1 : a - b;
    });
    for (let k = 0; left > 0 && k < ranked.length; k++, left--) {
      const i = ranked[k] as number;
      out[i] = (out[i] as number) + 1;
    }
  }
  return out;
}

/** (pid, starttime) of the entries this pass did not find, or found naming another process, in state order. */
function endedKeys(state: Map<number, TrackedProcess>, pass: number): EndedKey[] {
  const ended: EndedKey[] = [];
  // keys() + get(), not entries(): an entries() loop allocates a pair per process, every sample.
  for (const pid of state.keys()) {
    const s = state.get(pid) as TrackedProcess;
    if (s.seenInPass !== pass || s.liveStarttime !== s.starttime) ended.push({ pid, starttime: s.starttime });
  }
  return ended;
}
