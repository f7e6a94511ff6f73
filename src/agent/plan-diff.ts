/**
 * What a reload changes: the running plan against the one a re-read config asks for. Pure: no I/O, no
 * running exporter touched (reload.ts applies the result).
 *
 * Exporters are compared by identity (exporter-identity.ts: type + parsed options + step + spool + the
 * content of its input files), never field by field:
 * - kept: a running exporter with the identity a new table asks for goes on as it is (its queue, spool,
 *   process selection, place in its step), wherever the table now sits in the file;
 * - rebuilt: a running exporter that leaves, paired with a new table that replaces it: the one holding the
 *   same spool directory (the new exporter replays what the old one had not sent), else the next one of
 *   the same type, in file order;
 * - added, removed: the rest.
 */
import type { CarbonSettings } from '../carbon/settings.js';
import type { ExporterConfig } from '../config/run-config.js';
import type { SensorSettings } from '../sensors/settings.js';

/** An [[exporter]] table with what identifies it. */
export interface PlanEntry {
  readonly config: ExporterConfig;
  /** exporterIdentity(config); equal identities are the same exporter. */
  readonly identity: string;
  /** The spool directory as the file system resolves it, or null without a spool. */
  readonly spoolKey: string | null;
}

export interface Pairing<R, N> {
  readonly from: R;
  readonly to: N;
}

export interface ExporterDiff<R extends PlanEntry, N extends PlanEntry> {
  readonly kept: ReadonlyArray<Pairing<R, N>>;
  readonly rebuilt: ReadonlyArray<Pairing<R, N>>;
  readonly added: readonly N[];
  readonly removed: readonly R[];
}

export function diffExporters<R extends PlanEntry, N extends PlanEntry>(running: readonly R[], next: readonly N[]): ExporterDiff<R, N> {
  const free = new Set<R>(running);
  const claim = (match: (r: R) => boolean): R | null => {
    for (const r of free) {
      if (!match(r)) continue;
      free.delete(r);
      return r;
    }
    return null;
  };
  const kept: Array<Pairing<R, N>> = [];
  const rest: N[] = [];
  for (const to of next) {
    const from = claim((r) => r.identity === to.identity);
    if (from) kept.push({ from, to });
    else rest.push(to);
  }
  const rebuilt: Array<Pairing<R, N>> = [];
  const unpaired: N[] = [];
  for (const to of rest) {
    const from = to.spoolKey === null ? null : claim((r) => r.spoolKey === to.spoolKey);
    if (from) rebuilt.push({ from, to });
    else unpaired.push(to);
  }
  const added: N[] = [];
  for (const to of unpaired) {
    const from = claim((r) => r.config.type === to.config.type);
    if (from) rebuilt.push({ from, to });
    else added.push(to);
  }
  rebuilt.sort((a, b) => a.to.config.index - b.to.config.index);
  return { kept, rebuilt, added, removed: [...free] };
}

/** What the sensor was built for: its settings, and what its exporters need it to find out. */
export interface SensorPlan {
  readonly settings: SensorSettings;
  readonly stepMs: number;
  /** It names the VM of qemu processes (some exporter has qemu). */
  readonly qemu: boolean;
  /** It resolves containers (some exporter has containers). */
  readonly containers: boolean;
  /** The carbon settings it was wrapped with ([carbon], else the flags); absent: none. */
  readonly carbon?: CarbonSettings;
}

export interface SensorDiff {
  /** The new sampling step, or null when it does not change. */
  readonly stepMs: number | null;
  /** Why the new config needs a new sensor (one phrase each), empty when the running one serves it. */
  readonly restartNeeded: readonly string[];
}

/** The [sensor] keys, as the file spells them, of each sensor setting. */
const SENSOR_KEYS: ReadonlyArray<readonly [keyof SensorSettings, string]> = [
  ['kind', 'kind'],
  ['vm', 'vm'],
  ['powercapPath', 'powercap_path'],
  ['procfsPath', 'procfs_path'],
  ['cgroupfsPath', 'cgroupfs_path'],
  ['attribution', 'attribution'],
  ['reapedChildren', 'reaped_children'],
  ['estimateIdleWattsPerCpu', 'estimate_idle_watts_per_cpu'],
  ['estimateMaxWattsPerCpu', 'estimate_max_watts_per_cpu'],
  ['hwmonPath', 'hwmon_path'],
  ['hwmonChannels', 'hwmon_channel'],
  ['redfishUrl', 'redfish_url'],
  ['redfishUser', 'redfish_user'],
  ['redfishPasswordFile', 'redfish_password_file'],
  ['redfishCa', 'redfish_ca'],
  ['redfishInsecure', 'redfish_insecure'],
  ['redfishChassis', 'redfish_chassis'],
  ['redfishIntervalMs', 'redfish_interval (ms)'],
];

/**
 * The step applies from the next tick. Anything else the sensor was built with cannot change under it: its
 * energy counters (host, processes, unattributed) run since it started, and a new sensor would restart
 * them from zero and miss the energy between the two; so such a change needs a restart. A sensor that
 * does more than the new exporters need (names VMs, resolves containers) serves them as it is.
 */
export function diffSensor(running: SensorPlan, next: SensorPlan): SensorDiff {
  const restartNeeded: string[] = [];
  for (const [field, key] of SENSOR_KEYS) {
    const from = running.settings[field];
    const to = next.settings[field];
    if (shown(from) !== shown(to)) restartNeeded.push(`[sensor] ${key} ${shown(from)} -> ${shown(to)}`);
  }
  if (next.qemu && !running.qemu) restartNeeded.push('an exporter now has qemu (the sensor names VMs only when built for it)');
  if (next.containers && !running.containers) restartNeeded.push('an exporter now has containers (the sensor resolves containers only when built for it)');
  const carbonFrom = JSON.stringify(running.carbon ?? {});
  const carbonTo = JSON.stringify(next.carbon ?? {});
  if (carbonFrom !== carbonTo) restartNeeded.push(`[carbon] ${carbonFrom} -> ${carbonTo} (emissions are counted with what the agent started with)`);
  return { stepMs: next.stepMs === running.stepMs ? null : next.stepMs, restartNeeded };
}

function shown(v: unknown): string {
  return v === undefined ? '(default)' : JSON.stringify(v);
}
