/**
 * What scaph reads of the DMTF Redfish schemas (DSP8010, redfish.dmtf.org/schemas), as a hostile or broken
 * BMC may answer it: every value is checked, never trusted.
 * - ServiceRoot: `Chassis` (link to the chassis collection), `Links.Sessions` (the session collection).
 * - ChassisCollection: `Members[]` (links). Chassis: `Id`, and links to `EnvironmentMetrics` (Chassis v1.15,
 *   2020.4) and `Power` (deprecated in 2020.4 for PowerSubsystem, still what most BMCs serve).
 * - EnvironmentMetrics: `PowerWatts` (a Sensor excerpt: `Reading` in W, `DataSourceUri` the Sensor behind it).
 * - Power: `PowerControl[].PowerConsumedWatts` (W). The first entry is the chassis; some BMCs list
 *   sub-systems after it (CPU, memory) that are parts of it: the first entry with a reading is taken, never a sum.
 * - Sensor (v1.1): `SensingInterval`, an ISO 8601 duration: how often the BMC refreshes the reading.
 * Links are followed only to the BMC the user named (same origin): a BMC that points elsewhere would
 * otherwise get scaph to send its credentials there.
 */
import { platformPowerProblem } from '../platform-limits.js';

export type PowerRead =
  | { readonly ok: true; readonly watts: number; readonly sensorPath: string | null }
  | { readonly ok: false; readonly problem: string };

export type PowerSchema = 'EnvironmentMetrics' | 'Power';

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** `value['@odata.id']` when it is a path on the BMC itself (`/redfish/v1/...`), else null. */
export function odataPath(value: unknown): string | null {
  if (!isObject(value)) return null;
  const id = value['@odata.id'];
  if (typeof id !== 'string' || !id.startsWith('/') || id.startsWith('//') || id.length > 1024 || /[\s\\]/.test(id)) return null;
  return id;
}

/** The link a resource's `property` holds (`{"@odata.id": ...}`), or null. */
export function linkOf(resource: unknown, property: string): string | null {
  return isObject(resource) ? odataPath(resource[property]) : null;
}

/** The service root's session collection (`Links.Sessions`), or null. */
export function sessionsLink(root: unknown): string | null {
  return isObject(root) ? linkOf(root['Links'], 'Sessions') : null;
}

/** A collection's member links; null when the answer is no collection (no `Members` array). */
export function memberPaths(collection: unknown): string[] | null {
  if (!isObject(collection) || !Array.isArray(collection['Members'])) return null;
  return (collection['Members'] as unknown[]).map(odataPath).filter((p): p is string => p !== null).slice(0, 256);
}

/** A chassis's `Id`, else the last segment of its path. */
export function chassisId(chassis: unknown, path: string): string {
  const id = isObject(chassis) ? chassis['Id'] : undefined;
  return typeof id === 'string' && id !== '' && id.length <= 256 ? id : (path.replace(/\/+$/, '').split('/').pop() ?? path);
}

/** EnvironmentMetrics.PowerWatts.Reading. */
export function environmentPower(resource: unknown): PowerRead {
  const excerpt = isObject(resource) ? resource['PowerWatts'] : undefined;
  if (!isObject(excerpt)) return { ok: false, problem: 'no PowerWatts in its EnvironmentMetrics' };
  const watts = wattsOf(excerpt['Reading'], 'PowerWatts.Reading');
  if (!watts.ok) return watts;
  const source = excerpt['DataSourceUri'];
  const sensorPath = typeof source === 'string' ? odataPath({ '@odata.id': source }) : null;
  return { ok: true, watts: watts.watts, sensorPath };
}

/** The first Power.PowerControl[] entry that has a PowerConsumedWatts reading. */
export function powerControlPower(resource: unknown): PowerRead {
  const list = isObject(resource) ? resource['PowerControl'] : undefined;
  if (!Array.isArray(list) || list.length === 0) return { ok: false, problem: 'no PowerControl in its Power resource' };
  for (const [i, entry] of (list as unknown[]).entries()) {
    if (!isObject(entry) || entry['PowerConsumedWatts'] === undefined || entry['PowerConsumedWatts'] === null) continue;
    const watts = wattsOf(entry['PowerConsumedWatts'], `PowerControl[${i}].PowerConsumedWatts`);
    return watts.ok ? { ok: true, watts: watts.watts, sensorPath: null } : watts;
  }
  return { ok: false, problem: 'no PowerControl entry has a PowerConsumedWatts reading' };
}

/** The reading of `schema`'s resource. */
export function powerOf(schema: PowerSchema, resource: unknown): PowerRead {
  return schema === 'EnvironmentMetrics' ? environmentPower(resource) : powerControlPower(resource);
}

/**
 * A reading in W: a JSON number (the schemas' Edm.Decimal), or a string holding one as some BMCs send;
 * null (the BMC has none now), anything else, negative or beyond 100 kW is refused.
 */
function wattsOf(value: unknown, where: string): { ok: true; watts: number } | { ok: false; problem: string } {
  if (value === null || value === undefined) return { ok: false, problem: `${where} is null (the BMC has no reading now)` };
  const watts = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : Number.NaN;
  if (typeof value !== 'number' && Number.isNaN(watts)) return { ok: false, problem: `${where} is not a number: ${JSON.stringify(value).slice(0, 40)}` };
  const problem = platformPowerProblem(watts * 1e6);
  return problem === null ? { ok: true, watts } : { ok: false, problem: `${where}: ${problem}` };
}

/** Sensor.SensingInterval in ms, or null. */
export function sensingIntervalMs(sensor: unknown): number | null {
  const text = isObject(sensor) ? sensor['SensingInterval'] : undefined;
  return typeof text === 'string' ? isoDurationMs(text) : null;
}

const DURATION = /^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/** An ISO 8601 duration as Redfish writes them (`PT5S`, `PT0.5S`, `PT1M`, `P1DT2H`), ms; null when not one. */
export function isoDurationMs(text: string): number | null {
  const m = DURATION.exec(text.trim());
  if (!m || text.trim() === 'P' || text.trim().endsWith('T')) return null;
  const [days, hours, minutes, seconds] = [m[1], m[2], m[3], m[4]].map((v) => (v === undefined ? 0 : Number(v)));
  const ms = ((((days ?? 0) * 24 + (hours ?? 0)) * 60 + (minutes ?? 0)) * 60 + (seconds ?? 0)) * 1000;
  return Number.isFinite(ms) ? ms : null;
}
