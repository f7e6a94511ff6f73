import { createHash } from 'node:crypto';
import type { ExporterConfig } from '../config/run-config.js';
import type { Logger } from '../core/log.js';
import { readMachineId } from '../core/machine-id.js';

/**
 * Splay: a fleet restarted together (a config change pushed to every host at once) would otherwise push
 * to its backend in the same second of every step. Each host lays its schedule on a wall-clock grid
 * `phase + k × step` whose phase comes from a hash of the host's identity: stable across restarts,
 * uniform across hosts. Samples are not held back: the sampling loop ticks on the grid, and an exporter
 * whose step is longer than the loop's picks the sample nearest to its own grid. Only the start-up reading
 * (taken within a second of start, for local exporters) waits for a splayed exporter's first push.
 */

/**
 * Wall-clock time (ms since the epoch) that advances with the monotonic clock: read from the system clock
 * once, at process start. Grids are laid on it, so a clock stepped by NTP during the run neither fires a
 * burst of ticks nor stalls the loop (the next start picks the new time up).
 */
export function gridClockMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Where this host falls within any step, in [0, 1): the first 48 bits of SHA-256(salt, key). A
 * cryptographic hash spreads similar names (web-001, web-002, …) uniformly; 48 bits keep the division exact
 * in a double.
 */
export function splayFraction(key: string, salt: string): number {
  const digest = createHash('sha256').update(salt).update('\0').update(key).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

/** The first point of the grid `phaseMs + k × periodMs` (k any integer) at or after `tMs`. */
export function gridPointAtOrAfter(tMs: number, phaseMs: number, periodMs: number): number {
  return phaseMs + Math.ceil((tMs - phaseMs) / periodMs) * periodMs;
}

/** The first point of the grid strictly after `tMs`. */
export function gridPointAfter(tMs: number, phaseMs: number, periodMs: number): number {
  return phaseMs + (Math.floor((tMs - phaseMs) / periodMs) + 1) * periodMs;
}

/** A schedule laid on the wall clock: points at `phaseMs + k × periodMs`, phaseMs in [0, periodMs). */
export interface SplayGrid {
  readonly phaseMs: number;
  readonly periodMs: number;
}

/** What the host's phases are derived from: its machine id and the host name on its series, or the name alone. */
export interface SplayKey {
  readonly key: string;
  /** For the log line: which identity the key holds. */
  readonly from: 'machine-id and host name' | 'host name';
}

/**
 * The machine id and the host name together. The machine id alone is not enough: a golden image cloned
 * without clearing it, or a container image shipping one, gives every host the same id (and one phase);
 * the host name is each series' `instance`/`host`, distinct per host wherever the fleet's series must not
 * collide. Either one changing moves the phase; both are stable across restarts.
 */
export function splayKey(hostname: string, env: NodeJS.ProcessEnv = process.env): SplayKey {
  const machineId = readMachineId(env);
  return machineId === null ? { key: hostname, from: 'host name' } : { key: `${machineId} ${hostname}`, from: 'machine-id and host name' };
}

/** The sampling loop's phase within its step. Its own salt: correlated with an exporter's, their ticks would bunch. */
export function samplingPhaseMs(key: string, stepMs: number): number {
  return splayFraction(key, 'sampling') * stepMs;
}

/** A push exporter's phase within its own step (salted by its type: the same whether run alone or in `scaph run`). */
export function exporterPhaseMs(key: string, type: string, stepMs: number): number {
  return splayFraction(key, `exporter ${type}`) * stepMs;
}

/** What one run splays: the loop's grid phase, and each exporter's grid (null: not splayed). */
export interface SplayPlan {
  /** The sampling loop's phase within the sensor step; null when no exporter splays (the loop keeps its start-relative steps). */
  readonly samplingPhaseMs: number | null;
  gridOf(e: ExporterConfig): SplayGrid | null;
}

/**
 * Each splayed exporter's grid: one at or below the sensor step takes every sample, so its grid is the
 * loop's; a longer one has its own phase within its own step. Independent phases make the sample an
 * exporter picks (the loop's tick nearest its grid point) uniform over its step across hosts: with one
 * shared phase, a 10 s exporter over a 2 s loop would only ever push in 2 of the 10 seconds.
 */
export function splayPlan(exporters: readonly ExporterConfig[], sensorStepMs: number, key: string): SplayPlan {
  const splayed = exporters.filter((e) => e.settings.splay === true);
  const sampling = splayed.length > 0 ? samplingPhaseMs(key, sensorStepMs) : null;
  const grids = new Map<ExporterConfig, SplayGrid>();
  for (const e of splayed) {
    const own = e.stepMs > sensorStepMs;
    grids.set(e, own ? { phaseMs: exporterPhaseMs(key, e.type, e.stepMs), periodMs: e.stepMs } : { phaseMs: sampling ?? 0, periodMs: sensorStepMs });
  }
  return { samplingPhaseMs: sampling, gridOf: (e) => grids.get(e) ?? null };
}

/** The host's splay plan for this run, said once (info): each splayed exporter's second within its step. */
export function hostSplayPlan(exporters: readonly ExporterConfig[], sensorStepMs: number, key: SplayKey, logger: Logger): SplayPlan {
  const plan = splayPlan(exporters, sensorStepMs, key.key);
  saySplay(plan, exporters, key, logger);
  return plan;
}

/** One info line per exporter of `exporters` that `plan` splays: its second within its step. */
export function saySplay(plan: SplayPlan, exporters: readonly ExporterConfig[], key: SplayKey, logger: Logger): void {
  for (const e of exporters) {
    const grid = plan.gridOf(e);
    if (!grid) continue;
    logger.info(
      { exporter: e.type, offsetS: Number((grid.phaseMs / 1000).toFixed(3)), stepS: grid.periodMs / 1000, from: key.from },
      `splay: ${e.type} sends near ${(grid.phaseMs / 1000).toFixed(3)} s past every multiple of ${grid.periodMs / 1000} s of the clock (this host's offset; "splay = false" or --no-splay turns it off)`,
    );
  }
}
