/**
 * Where a step's carbon intensity comes from: a fixed value, scaph's static table, or a live provider
 * (provider-source.ts). The accountant asks `current()` once per sample, synchronously: a source never makes
 * a sample wait (a provider is asked in the background).
 */
import type { IntensitySourceKind } from '../core/sample.js';
import type { StaticZone } from './zones.js';

export interface Intensity {
  readonly gPerKwh: number;
  readonly source: IntensitySourceKind;
  /** The zone it is for; '' for a fixed value given without one. */
  readonly zone: string;
}

export interface IntensitySource {
  /** Takes the first value (a provider: its first answer, within its deadline; a failure is its fallback, not an error). */
  start(): Promise<void>;
  /** The intensity in force now; null when there is none (a provider failing without a static fallback). */
  current(): Intensity | null;
  stop(): Promise<void>;
  /** For the start-up log line: what the figures are counted at. */
  describe(): Record<string, unknown>;
}

/** `--carbon-intensity`: the user's value, always. */
export function fixedIntensity(gPerKwh: number, zone = ''): IntensitySource {
  const value: Intensity = Object.freeze({ gPerKwh, source: 'fixed', zone });
  return {
    start: async () => undefined,
    current: () => value,
    stop: async () => undefined,
    describe: () => ({ intensity: 'fixed', gPerKwh, ...(zone ? { zone } : {}) }),
  };
}

/** `--carbon-zone` alone: the table's yearly figure for the country. */
export function staticIntensity(row: StaticZone): IntensitySource {
  const value: Intensity = Object.freeze({ gPerKwh: row.gPerKwh, source: 'static', zone: row.code });
  return {
    start: async () => undefined,
    current: () => value,
    stop: async () => undefined,
    describe: () => ({ intensity: 'static', zone: row.code, gPerKwh: row.gPerKwh, year: row.year }),
  };
}
