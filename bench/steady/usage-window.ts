/**
 * How the steady section measures a program: after a warm-up, the CPU time (utime + stime) and minor page
 * faults each of its processes has over a fixed window, their VmHWM (peak RSS, start-up included), the
 * highest and the median VmRSS sampled once a second during the window, and the bytes they wrote over it
 * (sockets and logs).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { median } from '../stats.js';
import { bytesWrittenOf, cpuSecondsOf, minorFaultsOf, peakRssMbOf, rssMbOf } from './agent-usage.js';

export interface ProcessUsage {
  readonly cpuSeconds: number;
  /** Minor page faults over the window. */
  readonly minorFaults: number;
  readonly peakRssMb: number;
  readonly windowRssMaxMb: number;
  /** The median of the VmRSS samples of the window (once a second): what it settles at between collections. */
  readonly settledRssMb: number;
  /** Bytes passed to write-type system calls over the window (`wchar`): what it sent, plus its logs. */
  readonly bytesWritten: number;
}

/**
 * Waits `warmupMs`, then measures every pid over `windowMs`. `check` is called before and after the
 * window and throws when a measured process has gone (its error says which, with its output).
 */
export async function measureWindow(pids: readonly number[], warmupMs: number, windowMs: number, check: () => void): Promise<ProcessUsage[]> {
  await sleep(warmupMs);
  check();
  const cpuBefore = pids.map(cpuSecondsOf);
  const writtenBefore = pids.map(bytesWrittenOf);
  const faultsBefore = pids.map(minorFaultsOf);
  const rssSamples = pids.map((pid) => [rssMbOf(pid)]);
  const probeRss = (): void => {
    pids.forEach((pid, i) => {
      try {
        rssSamples[i]?.push(rssMbOf(pid));
      } catch {
        // The process is gone: `check` reports it, with its output.
      }
    });
  };
  const rssProbe = setInterval(probeRss, 1000);
  await sleep(windowMs);
  clearInterval(rssProbe);
  check();
  probeRss();
  return pids.map((pid, i) => ({
    cpuSeconds: cpuSecondsOf(pid) - (cpuBefore[i] as number),
    minorFaults: minorFaultsOf(pid) - (faultsBefore[i] as number),
    peakRssMb: peakRssMbOf(pid),
    windowRssMaxMb: Math.max(...(rssSamples[i] ?? [])),
    settledRssMb: median(rssSamples[i] ?? []),
    bytesWritten: bytesWrittenOf(pid) - (writtenBefore[i] as number),
  }));
}

/** CPU seconds over a window as a percentage of one core. */
export function percentOfOneCore(cpuSeconds: number, windowMs: number): number {
  return (cpuSeconds / (windowMs / 1000)) * 100;
}
