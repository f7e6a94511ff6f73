/** Small statistics for timings: medians resist the load spikes of a shared box better than means. */

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function nowNs(): bigint {
  return process.hrtime.bigint();
}

/** Elapsed ns since `startNs` as a number (safe: passes are far below 2^53 ns). */
export function elapsedNs(startNs: bigint): number {
  return Number(process.hrtime.bigint() - startNs);
}

/** Rounds to `digits` significant digits for the JSON file and the table. */
export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value) || value === 0) return value;
  return Number(value.toPrecision(digits));
}

/** min, median and max of repeated measurements, rounded (NaN when there are none). */
export function spread(values: readonly number[]): { min: number; median: number; max: number } {
  if (values.length === 0) return { min: Number.NaN, median: Number.NaN, max: Number.NaN };
  return { min: round(Math.min(...values)), median: round(median(values)), max: round(Math.max(...values)) };
}
