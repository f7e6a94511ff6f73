/**
 * [carbon] of a run config: the carbon options as keys (declared in carbon-options.ts, read by their
 * declarations as [sensor]'s are), then checked together (src/carbon/settings.ts, carbonPlan), every
 * problem reported at its key, a key no option declares with the nearest one.
 */
import { CARBON_KEY_NAMES, carbonPlan, type CarbonSettings } from '../carbon/settings.js';
import { errorText } from '../core/errors.js';
import { CARBON_OPTIONS, CARBON_TABLE } from './carbon-options.js';
import { didYouMean } from './did-you-mean.js';
import { inputFileProblem } from './exporter-options.js';
import type { KeyPath } from './source.js';
import { isTable } from './values.js';

/** The keys [carbon] takes (the bad-input suite feeds each of them bad values). */
export const CARBON_KEYS: readonly string[] = Object.keys(CARBON_TABLE);

type Report = (path: KeyPath, message: string) => void;

/**
 * [carbon] as written, or null without one. `resolvePath` makes token_file absolute (relative to the file);
 * with `checkFiles` (--check, the start, a reload) it must be readable.
 */
export function carbonConfig(raw: unknown, report: Report, resolvePath: (key: string, value: string) => string, checkFiles: boolean): CarbonSettings | null {
  if (raw === undefined) return null;
  if (!isTable(raw)) {
    report(['carbon'], 'must be a table ([carbon])');
    return null;
  }
  const at = (k: string): KeyPath => ['carbon', k];
  let count = 0;
  for (const key of Object.keys(raw)) {
    if (CARBON_KEYS.includes(key)) continue;
    count += 1;
    report(at(key), `unknown key${didYouMean(key, CARBON_KEYS)}; valid keys: ${CARBON_KEYS.join(', ')}`);
  }
  const read = <T>(key: string, decl: { readFile?(value: unknown): T }): T | undefined => {
    const value = raw[key];
    if (value === undefined || !decl.readFile) return undefined;
    try {
      return decl.readFile(value);
    } catch (err) {
      count += 1;
      report(at(key), errorText(err));
      return undefined;
    }
  };
  const o = CARBON_OPTIONS;
  const tokenFile = read('token_file', o.tokenFile);
  const tokenPath = tokenFile === undefined ? undefined : resolvePath('token_file', tokenFile);
  const unreadable = tokenPath === undefined || !checkFiles ? null : inputFileProblem(tokenPath);
  if (unreadable !== null) {
    count += 1;
    report(at('token_file'), unreadable);
  }
  const settings: CarbonSettings = {
    intensityGPerKwh: read('intensity', o.intensityGPerKwh),
    zone: read('zone', o.zone),
    provider: read('provider', o.provider),
    tokenFile: tokenPath,
    apiUrl: read('api_url', o.apiUrl),
    refreshMs: read('refresh', o.refreshMs),
    perProcess: read('per_process', o.perProcess),
  };
  // Together only when each key is good: a bad one is reported once, at itself.
  if (count === 0) for (const problem of carbonPlan(settings, CARBON_KEY_NAMES).problems) report(['carbon'], problem);
  return settings;
}
