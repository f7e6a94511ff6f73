/**
 * Wrap-safe energy arithmetic. This is the only place that knows counters wrap.
 *
 * RAPL counters (energy_uj) grow monotonically and wrap to 0 after max_energy_range_uj. A reading
 * lower than the previous one means the counter wrapped (once: we sample far more often than a wrap
 * takes, about 9 minutes at worst on AMD). With the range known, the true delta is
 * (range - previous) + current. Without it (a VM tree written by Scaphandre's qemu exporter), a decrease
 * is a reset, and a reset is not measured: the counter restarted (from 0, or from wherever a lying writer
 * put it), so nothing tells how much energy the interval held. Counting the current value as "energy since
 * the reset" would turn a counter set back to a large value into a spike; the reading is the next baseline
 * instead (deltaUj 0, and the caller publishes no figure for that interval).
 */

export type DeltaKind = 'normal' | 'wrapped' | 'reset';

export interface EnergyDelta {
  readonly deltaUj: number;
  readonly kind: DeltaKind;
}

/**
 * Energy used between two readings of one counter.
 * @param previousUj the earlier energy_uj reading
 * @param currentUj the later reading
 * @param maxRangeUj the zone's max_energy_range_uj, or null when the zone has none
 */
export function energyDeltaUj(previousUj: number, currentUj: number, maxRangeUj: number | null): EnergyDelta {
  if (currentUj >= previousUj) return { deltaUj: currentUj - previousUj, kind: 'normal' };
  if (maxRangeUj !== null && maxRangeUj > 0 && previousUj <= maxRangeUj) {
    // The counter counts 0..max_energy_range_uj inclusive; the kernel wraps it modulo (range + 1).
    return { deltaUj: maxRangeUj - previousUj + currentUj + 1, kind: 'wrapped' };
  }
  return { deltaUj: 0, kind: 'reset' };
}

/** Largest value of a 32-bit counter, µJ (2^32 - 1). */
export const COUNTER32_MAX_UJ = 2 ** 32 - 1;

/**
 * Energy between two readings of a counter whose range nobody publishes: hwmon `energy*_input` (the
 * kernel's sysfs-interface gives the unit, µJ, and no maximum). A 64-bit µJ counter does not wrap within a
 * machine's life (5,800 years at 100 kW); a 32-bit one does (4,295 J: every 7 minutes at 10 W). So a decrease
 * is a 32-bit wrap when both readings fit 32 bits and the wrapped delta is at most half the range (the
 * counter was in its upper half and is back in its lower one: a wrap that a step of up to 2^31 µJ explains);
 * any other decrease is a reset, not measured (see the module comment).
 */
export function energyDeltaUnknownRangeUj(previousUj: number, currentUj: number): EnergyDelta {
  if (currentUj >= previousUj) return { deltaUj: currentUj - previousUj, kind: 'normal' };
  if (previousUj <= COUNTER32_MAX_UJ && COUNTER32_MAX_UJ - previousUj + currentUj + 1 <= 2 ** 31) {
    return energyDeltaUj(previousUj, currentUj, COUNTER32_MAX_UJ);
  }
  return { deltaUj: 0, kind: 'reset' };
}

/** Mean power over an interval, µW, from energy in µJ and a duration in ns (monotonic clock). */
export function powerUwFromEnergy(deltaUj: number, intervalNs: bigint | number): number {
  const ns = typeof intervalNs === 'bigint' ? Number(intervalNs) : intervalNs;
  if (ns <= 0) return 0;
  return (deltaUj * 1e9) / ns;
}

/** Energy in µJ accumulated at powerUw for a duration in ms. */
export function energyUjFromPower(powerUw: number, intervalMs: number): number {
  return (powerUw * intervalMs) / 1000;
}
