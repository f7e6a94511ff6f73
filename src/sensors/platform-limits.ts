/**
 * What a platform meter (hwmon, Redfish BMC) may plausibly read. A server, a blade enclosure or a GPU node
 * draws from a few watts to some kilowatts: a reading beyond 100 kW is a driver's or a BMC's garbage (a
 * counter read as power, a unit mistaken), never published as a measurement.
 */
export const MAX_PLATFORM_POWER_UW = 100_000 * 1e6;

/** Why `powerUw` cannot be a machine's power, or null when it can. */
export function platformPowerProblem(powerUw: number): string | null {
  if (!Number.isFinite(powerUw) || powerUw < 0) return `${String(powerUw / 1e6)} W is not a power`;
  if (powerUw > MAX_PLATFORM_POWER_UW) return `${(powerUw / 1e6).toPrecision(4)} W is beyond the 100 kW a machine can draw: refused as garbage`;
  return null;
}
