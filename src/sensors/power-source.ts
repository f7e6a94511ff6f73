import { MeasurementUnavailableError } from '../core/sensor.js';
import type { SensorFallbackReason, SocketSample, ValueSource } from '../core/sample.js';

/**
 * What a power source (powercap RAPL counters, or the CPU-load estimate) reports for one interval.
 * The machine sensor combines it with /proc figures into a Sample.
 */
export interface PowerReading {
  /** Mean host power over the interval, µW (psys if present, else Σ sockets' package + dram; or a platform meter's). */
  readonly hostPowerUw: number;
  /** Host energy over this interval, µJ (wrap-corrected). */
  readonly hostEnergyDeltaUj: number;
  /** Sockets with their domains; energyUj fields are cumulative since start, powerUw over the interval. */
  readonly sockets: readonly SocketSample[];
  /** Raw psys energy_uj as read, when the machine has a psys zone. */
  readonly psysEnergyUj: number | null;
  readonly valueSource: ValueSource;
  /** With a platform meter beside readable RAPL: platform power - RAPL's host sum, µW, never negative. */
  readonly outsideRaplPowerUw?: number;
  /** Why this estimate stands in for RAPL (`--sensor auto`); absent when the source is the one asked for. */
  readonly fallback?: SensorFallbackReason;
  /** Wall-clock time of the reading (the counters' read, or the estimate's computation), ms since the epoch. */
  readonly readAtMs: number;
  /** Energy counter readings the source keeps to compute host power: one per zone it sums, 0 for a model. */
  readonly hostRecordsKept: number;
}

export interface PowerReadContext {
  /** Busy share of all CPUs over the interval (0..1), from /proc/stat; the estimate needs it. */
  readonly cpuBusyFraction: number;
  /** Interval length from the caller's monotonic clock, ns (the estimate uses it; powercap keeps its own). */
  readonly intervalNs: bigint;
  /** Number of logical CPUs (the estimate scales per-CPU coefficients by it). */
  readonly cpuCount: number;
}

/**
 * Host power cannot be measured for this step (zones gone, unreadable, or just back without a baseline).
 * Not a failure of the run: the step is not published (a figure scaph cannot measure is never shown as a
 * measurement), and the source starts a new interval at this reading, so the caller must too.
 */
export class PowerUnavailableError extends MeasurementUnavailableError {
  constructor(readonly problems: readonly string[]) {
    super(`host power cannot be measured: ${problems.join('; ')}`);
  }
}

/** What a source measures with: RAPL, the load model, or a platform meter (hwmon, Redfish BMC). */
export type PowerSourceKind = 'powercap_rapl' | 'estimate' | 'hwmon' | 'redfish';

export interface PowerSource {
  readonly kind: PowerSourceKind;
  /** First reading; throws a ScaphError subclass with guidance when the source is missing or unreadable. */
  start(): Promise<void>;
  /** Throws PowerUnavailableError when this step cannot be measured (the next one may be). */
  read(context: PowerReadContext): Promise<PowerReading>;
  /** Releases open files; optional. */
  close?(): Promise<void>;
}
