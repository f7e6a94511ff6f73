/**
 * CPU time of reaped children, credited to the processes that reaped them without counting anything twice.
 *
 * When a process waits for a child that ended, the kernel adds the child's whole life (its utime + stime
 * + its own cutime + cstime) to the parent's cutime + cstime. scaph already attributed the part it saw
 * while the child was alive, so each reaper's growth is reduced by a **debit**: the totals its ended
 * children had at their last reading. Three things make that bookkeeping hard, each handled here:
 *
 * - **Scan order.** A parent read before its child is reaped, then the child gone when its own stat is
 *   read, would see the debit one interval before the growth. The sensor re-reads the reaper of every
 *   ended process after its scan (`reapersOfEnded`): a process leaves /proc only once reaped, so the
 *   re-read parent holds the growth.
 * - **Orphans.** A child whose parent died first is reaped by init or a subreaper, not by the ancestor
 *   scaph charges. Debits that find no growth at their ancestor are taken from the other credits of the
 *   same interval (where the orphan's time went), and what is still left is carried on the ancestor for
 *   up to `MAX_CARRY_STEPS` intervals (a child read alive just before its parent's grown cutime).
 * - **Bounds.** The credits of an interval never exceed the busy ticks no process's own CPU time
 *   explains: a reaper's growth that escaped its debit takes from the unattributed remainder, never from
 *   another process's own ticks.
 */
import type { AttributionState, EndedKey, ProcessCpu } from './attribution-state.js';

/** How many intervals an unmatched debit waits for its growth before it is dropped. */
export const MAX_CARRY_STEPS = 2;
/** An ancestor chain longer than this is a cycle in stale ppids (pid reuse), not a real tree. */
const MAX_ANCESTRY = 64;

/**
 * The pid of the nearest ancestor of an ended process that is still the same process now (alive at both
 * readings), or -1 when there is none scaph knows.
 */
export function nearestLiveAncestor(previous: AttributionState, ppid: number, startOfLive: (pid: number) => number | undefined): number {
  let ancestor = ppid;
  for (let depth = 0; depth < MAX_ANCESTRY && ancestor > 0; depth++) {
    const then = previous.get(ancestor);
    if (!then) return -1; // A parent scaph never saw: nothing of this child was attributed through it.
    if (startOfLive(ancestor) === then.starttime) return ancestor;
    ancestor = then.ppid; // The parent ended too: its own reaper received both.
  }
  return -1;
}

/**
 * The live processes to read again after a scan: the reapers of the processes that ended since the
 * previous reading, so their cutime surely includes what they reaped.
 */
export function reapersOfEnded(previous: AttributionState, startOfLive: (pid: number) => number | undefined): number[] {
  const reapers: number[] = [];
  for (const pid of previous.keys()) {
    const state = previous.get(pid);
    if (!state || startOfLive(pid) === state.starttime) continue;
    const reaper = nearestLiveAncestor(previous, state.ppid, startOfLive);
    if (reaper > 0 && !reapers.includes(reaper)) reapers.push(reaper);
  }
  return reapers;
}

export interface CreditInput {
  readonly previous: AttributionState;
  readonly current: readonly ProcessCpu[];
  /** Own ticks per index of `current` (< 0: not attributed this interval). */
  readonly own: Float64Array;
  /** cutime + cstime growth per index of `current`. */
  readonly growth: Float64Array;
  readonly ended: readonly EndedKey[];
  /** pid -> starttime of the processes alive now. */
  readonly startOfLive: (pid: number) => number | undefined;
  readonly busyTicks: number;
}

export interface Credits {
  /** Ticks credited per index of `current`. */
  readonly ticks: Float64Array;
  /** Debit ticks each index still waits to match, and for how many intervals it has waited. */
  readonly carryTicks: Float64Array;
  readonly carryAge: Float64Array;
}

/** Credits of the interval (call it only when something ended, grew or waits: see attribution.ts). */
export function creditReapedChildren(input: CreditInput): Credits {
  const { current, own, growth, previous } = input;
  const n = current.length;
  const ticks = new Float64Array(n);
  const carryTicks = new Float64Array(n);
  const carryAge = new Float64Array(n);
  const fresh = freshDebits(previous, input.ended, input.startOfLive);
  const unmatched = new Float64Array(n);
  let unmatchedTotal = 0;
  let creditTotal = 0;
  let ownTotal = 0;
  for (let i = 0; i < n; i++) {
    if ((own[i] as number) < 0) continue;
    ownTotal += own[i] as number;
    const p = current[i] as ProcessCpu;
    const before = previous.get(p.pid);
    const sameProcess = before !== undefined && before.starttime === p.starttime;
    // Older debits first: they were waiting for exactly this growth.
    const carried = sameProcess && before.pendingDebitAge < MAX_CARRY_STEPS ? before.pendingDebitTicks : 0;
    let credit = (growth[i] as number) - carried;
    if (credit < 0) {
      carryTicks[i] = -credit;
      carryAge[i] = (before?.pendingDebitAge ?? 0) + 1;
      credit = 0;
    }
    credit -= fresh?.get(p.pid) ?? 0;
    if (credit < 0) {
      unmatched[i] = -credit;
      unmatchedTotal -= credit;
      credit = 0;
    }
    ticks[i] = credit;
    creditTotal += credit;
  }
  if (unmatchedTotal > 0) creditTotal = takeFromOtherCredits(ticks, unmatched, unmatchedTotal, creditTotal, carryTicks, carryAge);
  const room = Math.max(0, input.busyTicks - ownTotal);
  if (creditTotal > room) {
    const scale = room / creditTotal;
    for (let i = 0; i < n; i++) ticks[i] = (ticks[i] as number) * scale;
  }
  return { ticks, carryTicks, carryAge };
}

/** Debits of this interval's ended processes, per live reaper. */
function freshDebits(previous: AttributionState, ended: readonly EndedKey[], startOfLive: (pid: number) => number | undefined): Map<number, number> | null {
  if (ended.length === 0) return null;
  const debits = new Map<number, number>();
  for (const key of ended) {
    const gone = previous.get(key.pid);
    if (!gone) continue;
    const reaper = nearestLiveAncestor(previous, gone.ppid, startOfLive);
    if (reaper > 0) debits.set(reaper, (debits.get(reaper) ?? 0) + gone.cpuTicksTotal + gone.childTicksTotal);
  }
  return debits;
}

/**
 * Debits that found no growth at their ancestor: their child was reaped elsewhere (an orphan, taken by
 * init or a subreaper) in this same interval, so they come off the interval's other credits, in
 * proportion; what the credits cannot absorb waits on the ancestor (carry). Returns the new credit total.
 */
function takeFromOtherCredits(
  ticks: Float64Array,
  unmatched: Float64Array,
  unmatchedTotal: number,
  creditTotal: number,
  carryTicks: Float64Array,
  carryAge: Float64Array,
): number {
  const taken = Math.min(unmatchedTotal, creditTotal);
  if (taken > 0) {
    for (let i = 0; i < ticks.length; i++) ticks[i] = (ticks[i] as number) - (taken * (ticks[i] as number)) / creditTotal;
  }
  const leftShare = (unmatchedTotal - taken) / unmatchedTotal;
  if (leftShare > 0) {
    for (let i = 0; i < ticks.length; i++) {
      const u = unmatched[i] as number;
      if (u <= 0) continue;
      if ((carryTicks[i] as number) === 0) carryAge[i] = 1; // else the older debit's age stands for both
      carryTicks[i] = (carryTicks[i] as number) + u * leftShare;
    }
  }
  return creditTotal - taken;
}
