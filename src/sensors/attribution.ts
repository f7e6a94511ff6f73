/**
 * Splits host power between CPU activity and the rest, and the active part between processes by
 * their share of CPU time. Pure: the state of one step goes in, the next state comes out.
 *
 * - active power = host power × busy fraction (rounded to whole µW); idle power = host − active.
 * - Each process seen in both readings gets active power × its ticks / Σ ticks of those processes.
 *   Shares are distributed in whole µW by largest remainder, so Σ process power = active power
 *   exactly (integers, no float drift).
 * - When no observed process used CPU in the interval (Σ ticks = 0), every process gets 0 and
 *   active power keeps its host-level definition (host × busy): that busy time was spent in
 *   interrupts or by processes that ended within the interval, which no observed process explains.
 * - Energy per process (µJ) accumulates powerUw × interval per (pid, starttime); a pid whose
 *   starttime changed is a new process whose energy restarts at 0, and the old one has ended.
 * - A process seen for the first time enters the state with 0 energy and is attributed from the
 *   next interval on (its CPU time before the first reading cannot be placed in an interval).
 */
import { energyUjFromPower } from '../core/energy.js';
import { USER_HZ } from './procfs.js';

export interface ProcessCpu {
  readonly pid: number;
  readonly starttime: number;
  /** Cumulative utime + stime, USER_HZ ticks. */
  readonly cpuTicksTotal: number;
}

export interface ProcessState {
  readonly starttime: number;
  readonly cpuTicksTotal: number;
  readonly energyUj: number;
}

/** pid → what the last step knew of the process. */
export type AttributionState = ReadonlyMap<number, ProcessState>;

export interface AttributionInput {
  readonly previous: AttributionState;
  readonly current: readonly ProcessCpu[];
  readonly hostPowerUw: number;
  /** 0..1, clamped. */
  readonly cpuBusyFraction: number;
  readonly intervalMs: number;
  readonly cpuCount: number;
}

export interface ProcessFigures {
  /** Index of the process in `input.current`. */
  readonly index: number;
  readonly cpuTicks: number;
  readonly cpuShare: number;
  readonly cpuUsagePercent: number;
  readonly powerUw: number;
  readonly energyUj: number;
}

export interface EndedKey {
  readonly pid: number;
  readonly starttime: number;
}

export interface AttributionResult {
  readonly activePowerUw: number;
  readonly idlePowerUw: number;
  /** Processes present in both readings, in `current` order. */
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

export function attribute(input: AttributionInput): AttributionResult {
  const { previous, current } = input;
  const { activeUw, idleUw } = splitHostPower(input.hostPowerUw, input.cpuBusyFraction);
  const deltas = new Float64Array(current.length).fill(-1);
  let totalTicks = 0;
  for (let i = 0; i < current.length; i++) {
    const p = current[i] as ProcessCpu;
    const before = previous.get(p.pid);
    if (!before || before.starttime !== p.starttime) continue;
    // Ticks never decrease for a live process; guard anyway so a share is never negative.
    const delta = Math.max(0, p.cpuTicksTotal - before.cpuTicksTotal);
    deltas[i] = delta;
    totalTicks += delta;
  }
  const powers = distribute(deltas, totalTicks, activeUw);
  const processes: ProcessFigures[] = [];
  const next = new Map<number, ProcessState>();
  for (let i = 0; i < current.length; i++) {
    const p = current[i] as ProcessCpu;
    const delta = deltas[i] as number;
    if (delta < 0) {
      next.set(p.pid, { starttime: p.starttime, cpuTicksTotal: p.cpuTicksTotal, energyUj: 0 });
      continue;
    }
    const powerUw = powers[i] as number;
    const energyUj = (previous.get(p.pid) as ProcessState).energyUj + energyUjFromPower(powerUw, input.intervalMs);
    next.set(p.pid, { starttime: p.starttime, cpuTicksTotal: p.cpuTicksTotal, energyUj });
    processes.push({
      index: i,
      cpuTicks: delta,
      cpuShare: totalTicks > 0 ? delta / totalTicks : 0,
      cpuUsagePercent: cpuUsagePercent(delta, input.intervalMs, input.cpuCount),
      powerUw,
      energyUj,
    });
  }
  return { activePowerUw: activeUw, idlePowerUw: idleUw, processes, ended: endedKeys(previous, next), next };
}

/**
 * Whole-µW shares of `totalUw` proportional to `weights` (entries < 0 are not participants), by
 * largest remainder so the parts sum to `totalUw` exactly.
 */
export function distribute(weights: Float64Array, weightSum: number, totalUw: number): Float64Array {
  const out = new Float64Array(weights.length);
  if (weightSum <= 0 || totalUw <= 0) return out;
  const remainders: number[] = [];
  let assigned = 0;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i] as number;
    if (w <= 0) continue;
    const exact = (totalUw * w) / weightSum;
    const whole = Math.floor(exact);
    out[i] = whole;
    assigned += whole;
    remainders.push(i);
  }
  let left = totalUw - assigned;
  if (left > 0) {
    const fraction = (i: number): number => (totalUw * (weights[i] as number)) / weightSum - (out[i] as number);
    remainders.sort((a, b) => fraction(b) - fraction(a));
    for (let k = 0; left > 0 && k < remainders.length; k++, left--) {
      const i = remainders[k] as number;
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
