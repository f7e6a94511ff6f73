/**
 * The carbon options (docs/carbon.md), declared once: global flags on the command line, and the keys of a
 * run config's [carbon] table (which replaces the flags when the file has one: agent/assemble.ts). Each
 * value is checked as src/carbon/settings.ts says, on both; the settings together by carbonPlan.
 */
import { apiUrlProblem, intensityProblem, refreshProblem, zoneSyntaxProblem } from '../carbon/settings.js';
import { carbonApiUrlFlag, carbonIntensityFlag, carbonRefreshFlag, carbonZoneFlag } from '../carbon/flags.js';
import { CARBON_PROVIDERS } from '../carbon/providers.js';
import { choiceOption, fileText, switchOption, textOption, valueOption, type SwitchDecl, type ValueDecl } from './declared-options.js';
import { durationMs, show } from './values.js';

export const CARBON_OPTIONS = {
  intensityGPerKwh: valueOption('--carbon-intensity <g/kWh>', 'count emissions (docs/carbon.md) at this fixed carbon intensity, gCO2e/kWh', carbonIntensityFlag, {
    unit: 'grams per kWh',
    readFile: fileIntensity,
  }),
  zone: valueOption(
    '--carbon-zone <code>',
    "count emissions at scaph's static value for this country (ISO 3166-1 alpha-2, e.g. FR; WORLD: the world average; docs/carbon.md lists them), or the zone a --carbon-provider is asked for (its country's static value while it fails)",
    carbonZoneFlag,
    { readFile: fileZone },
  ),
  provider: choiceOption(
    '--carbon-provider <name>',
    'count emissions at a live grid signal: electricitymaps (needs --carbon-zone and --carbon-token-file) or uk-carbon-intensity (Great Britain, no token)',
    CARBON_PROVIDERS,
  ),
  tokenFile: textOption('--carbon-token-file <file>', '--carbon-provider electricitymaps: file holding your API token', { role: 'input-file' }),
  apiUrl: valueOption('--carbon-api-url <url>', "--carbon-provider: the API's base URL (default: the provider's own)", carbonApiUrlFlag, { readFile: fileApiUrl }),
  refreshMs: valueOption('--carbon-refresh <seconds>', '--carbon-provider: ask it every this many seconds, at least 60 (default 900)', carbonRefreshFlag, {
    unit: 'seconds',
    readFile: fileRefreshMs,
  }),
  perProcess: switchOption('--carbon-per-process', 'with a carbon intensity: an emissions counter per process too (one more series per process)'),
};

/** The keys of [carbon], each the global option it stands for. Every key of CARBON_OPTIONS is here (a test checks). */
export const CARBON_TABLE: Readonly<Record<string, SwitchDecl | ValueDecl<unknown>>> = {
  intensity: CARBON_OPTIONS.intensityGPerKwh,
  zone: CARBON_OPTIONS.zone,
  provider: CARBON_OPTIONS.provider,
  token_file: CARBON_OPTIONS.tokenFile,
  api_url: CARBON_OPTIONS.apiUrl,
  refresh: CARBON_OPTIONS.refreshMs,
  per_process: CARBON_OPTIONS.perProcess,
};

function fileIntensity(value: unknown): number {
  const problem = typeof value !== 'number' ? `must be a number of gCO2e/kWh, got ${show(value)}` : intensityProblem(value);
  if (problem !== null) throw new Error(problem);
  return value as number;
}

function fileZone(value: unknown): string {
  const zone = fileText(value);
  const problem = zoneSyntaxProblem(zone);
  if (problem !== null) throw new Error(problem);
  return zone.toUpperCase();
}

function fileApiUrl(value: unknown): string {
  const url = fileText(value);
  const problem = apiUrlProblem(url);
  if (problem !== null) throw new Error(problem);
  return url;
}

/** refresh: a duration (seconds, or "15m"), as ms. */
function fileRefreshMs(value: unknown): number {
  const ms = durationMs(value);
  const problem = refreshProblem(ms);
  if (problem !== null) throw new Error(`${problem}, got ${show(value)}`);
  return ms;
}
