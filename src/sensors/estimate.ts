/**
 * Host power modelled from CPU load, for machines without RAPL (VMs, most cloud instances, ARM).
 *
 *   host power = cpuCount × (idle + (max − idle) × busy fraction)
 *
 * Default coefficients are Cloud Carbon Footprint's averages for AWS x86 hardware, per vCPU:
 * 0.74 W at idle and 3.5 W at full load ("Cloud Carbon Footprint methodology, compute coefficients",
 * https://www.cloudcarbonfootprint.org/docs/methodology/, derived from the SPECpower database).
 * CCF publishes 0.71 / 4.26 W for GCP and 0.78 / 3.76 W for Azure: pass those as options there.
 *
 * The estimate reports no sockets: socket and RAPL domain series mean "measured by a RAPL counter",
 * and an invented socket would show a model as a measurement on dashboards. The host series carry
 * value_source="estimate" instead.
 */
import { UsageError } from '../core/errors.js';
import type { PowerReadContext, PowerReading, PowerSource } from './power-source.js';

/** Cloud Carbon Footprint, AWS average minimum watts per vCPU. */
export const CCF_IDLE_WATTS_PER_CPU = 0.74;
/** Cloud Carbon Footprint, AWS average maximum watts per vCPU. */
export const CCF_MAX_WATTS_PER_CPU = 3.5;

export interface EstimateSourceOptions {
  /** Watts one logical CPU draws when idle (default 0.74, CCF AWS average). */
  readonly idleWattsPerCpu?: number;
  /** Watts one logical CPU draws at 100 % (default 3.5, CCF AWS average). */
  readonly maxWattsPerCpu?: number;
}

/** Modelled host power in µW for a busy fraction (clamped to 0..1). */
export function estimateHostPowerUw(
  cpuCount: number,
  cpuBusyFraction: number,
  idleWattsPerCpu = CCF_IDLE_WATTS_PER_CPU,
  maxWattsPerCpu = CCF_MAX_WATTS_PER_CPU,
): number {
  const busy = Math.min(1, Math.max(0, cpuBusyFraction));
  return cpuCount * (idleWattsPerCpu + (maxWattsPerCpu - idleWattsPerCpu) * busy) * 1e6;
}

export class EstimateSource implements PowerSource {
  readonly kind = 'estimate' as const;
  readonly idleWattsPerCpu: number;
  readonly maxWattsPerCpu: number;

  constructor(options: EstimateSourceOptions = {}) {
    this.idleWattsPerCpu = options.idleWattsPerCpu ?? CCF_IDLE_WATTS_PER_CPU;
    this.maxWattsPerCpu = options.maxWattsPerCpu ?? CCF_MAX_WATTS_PER_CPU;
    if (!(this.idleWattsPerCpu >= 0) || !(this.maxWattsPerCpu >= this.idleWattsPerCpu)) {
      throw new UsageError(
        `estimate coefficients must satisfy 0 <= idle (${this.idleWattsPerCpu} W) <= max (${this.maxWattsPerCpu} W) per CPU: fix the idle/max watts options`,
      );
    }
  }

  async start(): Promise<void> {
    // Nothing to open: the model needs only what the machine sensor passes to read().
  }

  async read(context: PowerReadContext): Promise<PowerReading> {
    const hostPowerUw = estimateHostPowerUw(
      context.cpuCount,
      context.cpuBusyFraction,
      this.idleWattsPerCpu,
      this.maxWattsPerCpu,
    );
    return {
      hostPowerUw,
      hostEnergyDeltaUj: (hostPowerUw * Number(context.intervalNs)) / 1e9,
      sockets: [],
      psysEnergyUj: null,
      valueSource: 'estimate',
      readAtMs: Date.now(),
      // A model of the CPU load: no energy reading is kept.
      hostRecordsKept: 0,
    };
  }
}
