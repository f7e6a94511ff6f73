/**
 * [carbon] of a run config: the carbon flags as keys (docs/carbon.md), each value checked as its flag is
 * (src/carbon/settings.ts), then together, every problem reported at its key.
 */
import {
  apiUrlProblem,
  CARBON_KEY_NAMES,
  carbonPlan,
  intensityProblem,
  providerProblem,
  refreshProblem,
  zoneSyntaxProblem,
  type CarbonSettings,
} from '../carbon/settings.js';
import type { CarbonProvider } from '../carbon/providers.js';
import { valueProblem } from '../exporters/parse.js';
import type { KeyPath } from './source.js';
import { durationMs, isTable, show } from './values.js';

/** The keys [carbon] takes (the bad-input suite feeds each of them bad values). */
export const CARBON_KEYS: readonly string[] = Object.values(CARBON_KEY_NAMES);

type Report = (path: KeyPath, message: string) => void;

/**
 * [carbon] as written, or null without one. `resolvePath` makes token_file absolute (relative to the file);
 * `unreadable`, when --check asks for it, says why a file cannot be read.
 */
export function carbonConfig(raw: unknown, report: Report, resolvePath: (key: string, value: string) => string, unreadable: ((file: string) => string | null) | null): CarbonSettings | null {
  if (raw === undefined) return null;
  if (!isTable(raw)) {
    report(['carbon'], 'must be a table ([carbon])');
    return null;
  }
  const at = (k: string): KeyPath => ['carbon', k];
  for (const key of Object.keys(raw)) if (!CARBON_KEYS.includes(key)) report(at(key), `unknown key; valid keys: ${CARBON_KEYS.join(', ')}`);
  let count = 0;
  const say: Report = (path, message) => {
    count += 1;
    report(path, message);
  };
  const text = (k: string, problem: (v: string) => string | null): string | undefined => {
    const v = raw[k];
    if (v === undefined) return undefined;
    const why = typeof v !== 'string' ? `must be a string, got ${show(v)}` : (valueProblem(v) ?? problem(v));
    if (why !== null) say(at(k), why);
    return why === null ? (v as string) : undefined;
  };
  const intensity = raw['intensity'];
  let intensityGPerKwh: number | undefined;
  if (intensity !== undefined) {
    const why = typeof intensity !== 'number' ? `must be a number of gCO2e/kWh, got ${show(intensity)}` : intensityProblem(intensity);
    if (why !== null) say(at('intensity'), why);
    else intensityGPerKwh = intensity as number;
  }
  let refreshMs: number | undefined;
  if (raw['refresh'] !== undefined) {
    try {
      refreshMs = durationMs(raw['refresh']);
      const why = refreshProblem(refreshMs);
      if (why !== null) {
        say(at('refresh'), `${why}, got ${show(raw['refresh'])}`);
        refreshMs = undefined;
      }
    } catch (err) {
      say(at('refresh'), (err as Error).message);
    }
  }
  const perProcess = raw['per_process'];
  if (perProcess !== undefined && typeof perProcess !== 'boolean') say(at('per_process'), `must be true or false, got ${show(perProcess)}`);
  const tokenFile = text('token_file', () => null);
  const tokenPath = tokenFile === undefined ? undefined : resolvePath('token_file', tokenFile);
  const unreadableWhy = tokenPath === undefined || unreadable === null ? null : unreadable(tokenPath);
  if (unreadableWhy !== null) say(at('token_file'), unreadableWhy);
  const zone = text('zone', zoneSyntaxProblem);
  const settings: CarbonSettings = {
    intensityGPerKwh,
    zone: zone?.toUpperCase(),
    provider: text('provider', providerProblem) as CarbonProvider | undefined,
    tokenFile: tokenPath,
    apiUrl: text('api_url', apiUrlProblem),
    refreshMs,
    perProcess: typeof perProcess === 'boolean' ? perProcess : undefined,
  };
  // Together only when each key is good: a bad one is reported once, at itself.
  if (count === 0) {
    for (const problem of carbonPlan(settings, CARBON_KEY_NAMES).problems) report(['carbon'], problem);
  }
  return settings;
}
