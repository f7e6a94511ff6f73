import { describe, expect, it } from 'vitest';
import { initialState, type ProcessCpu } from '../../../src/sensors/attribution.js';
import { nearestLiveAncestor, reapersOfEnded } from '../../../src/sensors/reaped-children.js';

const proc = (pid: number, ppid: number, starttime = pid * 10): ProcessCpu => ({ pid, starttime, ppid, cpuTicksTotal: 0, childTicksTotal: 0 });

describe('reapersOfEnded: whom the sensor reads again after its scan', () => {
  // init(1) -> sshd(10) -> bash(20) -> make(30) -> cc1(40); cron(50) -> job(60)
  const previous = initialState([proc(1, 0), proc(10, 1), proc(20, 10), proc(30, 20), proc(40, 30), proc(50, 1), proc(60, 50)]);
  const alive = (pids: Record<number, number>) => (pid: number): number | undefined => pids[pid];

  it('names the live parent of each ended process, once', () => {
    const live = alive({ 1: 10, 10: 100, 20: 200, 30: 300, 50: 500 }); // cc1 and job ended
    expect(reapersOfEnded(previous, live).sort((a, b) => a - b)).toEqual([30, 50]);
  });

  it('walks up past parents that ended too, and stops at a pid reused by another process', () => {
    // make and cc1 ended: bash reaps both (make waited for cc1, or cc1 was charged through make).
    expect(nearestLiveAncestor(previous, 30, alive({ 1: 10, 10: 100, 20: 200 }))).toBe(20);
    // bash's pid now belongs to a new process: not the ancestor; its parent sshd is.
    expect(nearestLiveAncestor(previous, 30, alive({ 1: 10, 10: 100, 20: 9999 }))).toBe(10);
    // A parent scaph never saw: nobody to charge.
    expect(nearestLiveAncestor(previous, 777, alive({ 1: 10 }))).toBe(-1);
  });

  it('stops on a cycle of stale ppids', () => {
    const cyclic = initialState([proc(5, 6), proc(6, 5)]);
    expect(nearestLiveAncestor(cyclic, 5, () => undefined)).toBe(-1);
  });
});
