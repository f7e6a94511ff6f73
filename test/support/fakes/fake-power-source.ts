import type { PowerReadContext, PowerReading, PowerSource } from '../../../src/sensors/power-source.js';

/** A power source drawing a constant host power; records the contexts it was read with. */
export class ConstantPowerSource implements PowerSource {
  readonly kind = 'powercap_rapl' as const;
  readonly contexts: PowerReadContext[] = [];
  started = false;

  constructor(readonly hostPowerUw: number) {}

  async start(): Promise<void> {
    this.started = true;
  }

  async read(context: PowerReadContext): Promise<PowerReading> {
    this.contexts.push(context);
    return {
      hostPowerUw: this.hostPowerUw,
      hostEnergyDeltaUj: (this.hostPowerUw * Number(context.intervalNs)) / 1e9,
      sockets: [],
      psysEnergyUj: null,
      valueSource: 'powercap_rapl_pkg',
      readAtMs: Date.now(),
      hostRecordsKept: 1,
    };
  }
}
