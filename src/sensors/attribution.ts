/**
 * Per-process power, by the model of Scaphandre's documentation: a process's share of an interval is
 * the CPU time it spent over the CPU time the whole machine spent doing something (busy ticks of
 * /proc/stat), and that share is applied to the host's power. Pure: the state of one step goes in, the
 * next state comes out.
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
import type { AttributionState, EndedKey, ProcessCpu, ProcessState } from './attribution-state.js';
import { creditReapedChildren } from './reaped-children.js';

export type { AttributionModel } from '../core/sample.js';
export type { AttributionState, EndedKey, ProcessCpu, ProcessState } from './attribution-state.js';
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
  readonly processes: readonly ProcessFigures[];
  /** (pid, starttime) in `previous` that are not in `current`. */
  readonly ended: readonly EndedKey[];
  readonly next: AttributionState;
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
  const state = new Map<number, ProcessState>();
  for (const p of current) state.set(p.pid, stateOf(p, 0));
  return state;
}

export function attribute(input: AttributionInput): AttributionResult {
  const { previous, current } = input;
  const { activeUw, idleUw } = splitHostPower(input.hostPowerUw, input.cpuBusyFraction);
  const modelTotalUw = input.model === 'active' ? activeUw : Math.max(0, Math.round(input.hostPowerUw));
  const own = new Float64Array(current.length).fill(-1);
  const children = new Float64Array(current.length);
  const next = new Map<number, { -readonly [K in keyof ProcessState]: ProcessState[K] }>();
  /** Some process reaped a child or still waits to match a debit: the credits have work to do. */
  let reaping = false;
  for (let i = 0; i < current.length; i++) {
    const p = current[i] as ProcessCpu;
    const before = previous.get(p.pid);
    const seenBefore = before !== undefined && before.starttime === p.starttime;
    next.set(p.pid, stateOf(p, seenBefore ? before.energyUj : 0));
    if (seenBefore) {
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
  const ended = endedKeys(previous, next);
  const credits = input.reapedChildren && (reaping || ended.length > 0)
    ? creditReapedChildren({ previous, current, own, growth: children, ended, startOfLive: (pid) => next.get(pid)?.starttime, busyTicks: input.busyTicks })
    : null;
  const weights = own;
  let attributedTicks = 0;
  for (let i = 0; i < current.length; i++) {
    if ((own[i] as number) < 0) continue;
    const credit = credits ? (credits.ticks[i] as number) : 0;
    children[i] = credit;
    weights[i] = (own[i] as number) + credit;
    attributedTicks += weights[i] as number;
    if (credits && (credits.carryTicks[i] as number) > 0) {
      const state = next.get((current[i] as ProcessCpu).pid) as { pendingDebitTicks: number; pendingDebitAge: number };
      state.pendingDebitTicks = credits.carryTicks[i] as number;
      state.pendingDebitAge = credits.carryAge[i] as number;
    }
  }
  const denominator = Math.max(input.busyTicks, attributedTicks);
  const attributedUw = denominator > 0 ? Math.round((modelTotalUw * attributedTicks) / denominator) : 0;
  const powers = distribute(weights, attributedTicks, attributedUw);
  const processes: ProcessFigures[] = [];
  for (let i = 0; i < current.length; i++) {
    const weight = weights[i] as number;
    if (weight < 0) continue;
    const p = current[i] as ProcessCpu;
    const powerUw = powers[i] as number;
    // Written in place: the state object was made for this step a few lines up.
    const state = next.get(p.pid) as { energyUj: number };
    const energyUj = state.energyUj + energyUjFromPower(powerUw, input.intervalMs);
    state.energyUj = energyUj;
    const childCpuTicks = children[i] as number;
    processes.push({
      index: i,
      cpuTicks: weight - childCpuTicks,
      childCpuTicks,
      cpuShare: denominator > 0 ? weight / denominator : 0,
      cpuUsagePercent: cpuUsagePercent(weight - childCpuTicks, input.intervalMs, input.cpuCount),
      powerUw,
      energyUj,
    });
  }
  return {
    activePowerUw: activeUw,
    idlePowerUw: idleUw,
    modelTotalUw,
    unattributedPowerUw: modelTotalUw - attributedUw,
    attributedTicks,
    scale: attributedTicks > input.busyTicks && attributedTicks > 0 ? input.busyTicks / attributedTicks : 1,
    processes,
    ended,
    next,
  };
}

function stateOf(p: ProcessCpu, energyUj: number): ProcessState {
  return {
    starttime: p.starttime,
    ppid: p.ppid,
    cpuTicksTotal: p.cpuTicksTotal,
    childTicksTotal: p.childTicksTotal,
    energyUj,
    pendingDebitTicks: 0,
    pendingDebitAge: 0,
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

function endedKeys(previous: AttributionState, next: AttributionState): EndedKey[] {
  const ended: EndedKey[] = [];
  // keys() + get(), not entries(): an entries() loop allocates a pair per process, every sample.
  for (const pid of previous.keys()) {
    const state = previous.get(pid) as ProcessState;
    const now = next.get(pid);
    if (!now || now.starttime !== state.starttime) ended.push({ pid, starttime: state.starttime });
  }
  return ended;
}
