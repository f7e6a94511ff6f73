/**
 * The carbon settings (global flags and `[carbon]` in a run config), checked the same way on both: each
 * value's problem in words (null when good), then the settings together (`carbonPlan`): one source of
 * intensity (a fixed value, the static table's zone, or a live provider with its zone), and the options
 * that only mean something with one. Names are given by the caller (`--carbon-zone` or `carbon.zone`).
 */
import { quoted } from '../core/quoted.js';
import { MAX_INTENSITY_G_PER_KWH, UK_ZONE, CARBON_PROVIDERS, DEFAULT_PROVIDER_URLS, type CarbonProvider } from './providers.js';
import { DEFAULT_CARBON_REFRESH_MS } from './provider-source.js';
import { fallbackZone, providerZoneProblem, staticZone, staticZoneProblem, type StaticZone } from './zones.js';

export interface CarbonSettings {
  /** --carbon-intensity, gCO2e/kWh. */
  readonly intensityGPerKwh?: number | undefined;
  /** --carbon-zone: the table's country, or the zone a provider is asked for. */
  readonly zone?: string | undefined;
  readonly provider?: CarbonProvider | undefined;
  /** --carbon-token-file: Electricity Maps' token. */
  readonly tokenFile?: string | undefined;
  /** --carbon-api-url: the provider's base URL. */
  readonly apiUrl?: string | undefined;
  readonly refreshMs?: number | undefined;
  readonly perProcess?: boolean | undefined;
}

export type CarbonSettingName = keyof CarbonSettings;

/** How each setting is named where it was written. */
export type SettingNames = Readonly<Record<CarbonSettingName, string>>;

export const CARBON_FLAG_NAMES: SettingNames = {
  intensityGPerKwh: '--carbon-intensity',
  zone: '--carbon-zone',
  provider: '--carbon-provider',
  tokenFile: '--carbon-token-file',
  apiUrl: '--carbon-api-url',
  refreshMs: '--carbon-refresh',
  perProcess: '--carbon-per-process',
};

/** The keys of [carbon] (the bad-input suite feeds each of them bad values). */
export const CARBON_KEY_NAMES: SettingNames = {
  intensityGPerKwh: 'intensity',
  zone: 'zone',
  provider: 'provider',
  tokenFile: 'token_file',
  apiUrl: 'api_url',
  refreshMs: 'refresh',
  perProcess: 'per_process',
};

export const MIN_CARBON_REFRESH_MS = 60_000;
export const MAX_CARBON_REFRESH_MS = 86_400_000;

export function intensityProblem(g: number): string | null {
  if (!Number.isFinite(g) || g < 0 || g > MAX_INTENSITY_G_PER_KWH) return `must be a number of gCO2e/kWh from 0 to ${MAX_INTENSITY_G_PER_KWH} (coal-fired power is about 1,000)`;
  return null;
}

export function zoneSyntaxProblem(text: string): string | null {
  return providerZoneProblem(text);
}

export function providerProblem(text: string): string | null {
  return (CARBON_PROVIDERS as readonly string[]).includes(text) ? null : `must be one of ${CARBON_PROVIDERS.join(', ')}, got ${quoted(text)}`;
}

export function apiUrlProblem(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `must be an http:// or https:// URL, e.g. ${DEFAULT_PROVIDER_URLS.electricitymaps}, got ${quoted(text)}`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `must be an http:// or https:// URL, got ${quoted(text)}`;
  if (url.username !== '' || url.password !== '') return 'must not hold a user or password: the token goes in --carbon-token-file';
  if (url.search !== '' || url.hash !== '') return `must be the API's base URL, without a query or fragment, got ${quoted(text)}`;
  return null;
}

export function refreshProblem(ms: number): string | null {
  if (!Number.isFinite(ms) || ms < MIN_CARBON_REFRESH_MS) return `must be at least ${MIN_CARBON_REFRESH_MS / 1000} s: grid signals change every 5 to 60 minutes`;
  if (ms > MAX_CARBON_REFRESH_MS) return `must be at most ${MAX_CARBON_REFRESH_MS / 1000} s (a day)`;
  return null;
}

/** What the settings ask for: where the intensity comes from, and per-process counters or not. */
export type CarbonPlan =
  | { readonly kind: 'fixed'; readonly gPerKwh: number; readonly perProcess: boolean }
  | { readonly kind: 'static'; readonly zone: StaticZone; readonly perProcess: boolean }
  | {
      readonly kind: 'provider';
      readonly provider: CarbonProvider;
      readonly zone: string;
      readonly fallback: StaticZone | null;
      readonly url: string;
      readonly tokenFile: string | null;
      readonly refreshMs: number;
      readonly perProcess: boolean;
    };

/** The plan of `s` (null: no carbon), or the problems, one phrase each naming the settings with `names`. */
export function carbonPlan(s: CarbonSettings, names: SettingNames): { readonly plan: CarbonPlan | null; readonly problems: readonly string[] } {
  const problems: string[] = [];
  const n = names;
  const perProcess = s.perProcess === true;
  const onlyWithProvider = (['tokenFile', 'apiUrl', 'refreshMs'] as const).filter((k) => s[k] !== undefined);
  if (s.provider === undefined) {
    for (const k of onlyWithProvider) problems.push(`${n[k]} is for a live provider: add ${n.provider} (${CARBON_PROVIDERS.join(' or ')})`);
  }
  if (s.intensityGPerKwh !== undefined) {
    if (s.provider !== undefined || s.zone !== undefined) {
      problems.push(`${n.intensityGPerKwh} is a fixed value: leave out ${s.provider !== undefined ? n.provider : n.zone}, or ${n.intensityGPerKwh} (give one source of carbon intensity)`);
    }
    return problems.length > 0 ? { plan: null, problems } : { plan: { kind: 'fixed', gPerKwh: s.intensityGPerKwh, perProcess }, problems };
  }
  if (s.provider === undefined) {
    if (s.zone === undefined) {
      if (perProcess) problems.push(`${n.perProcess} needs a carbon intensity: ${n.intensityGPerKwh}, ${n.zone} or ${n.provider}`);
      return { plan: null, problems };
    }
    const row = staticZone(s.zone);
    if (row === null) problems.push(`${n.zone} ${staticZoneProblem(s.zone) ?? ''}`);
    return problems.length > 0 || row === null ? { plan: null, problems } : { plan: { kind: 'static', zone: row, perProcess }, problems };
  }
  const provider = s.provider;
  let zone = s.zone;
  if (provider === 'uk-carbon-intensity') {
    if (zone !== undefined && zone.toUpperCase() !== UK_ZONE) problems.push(`${n.zone} must be ${UK_ZONE} (or left out) with ${n.provider} uk-carbon-intensity: it answers for Great Britain only, got ${quoted(zone)}`);
    if (s.tokenFile !== undefined) problems.push(`${n.tokenFile} is for electricitymaps: the GB Carbon Intensity API takes no token`);
    zone = UK_ZONE;
  } else {
    if (zone === undefined) problems.push(`${n.provider} electricitymaps needs ${n.zone}: the zone to ask for (a country code such as FR, or a grid region such as DK-DK1)`);
    if (s.tokenFile === undefined) problems.push(`${n.provider} electricitymaps needs ${n.tokenFile}: a file holding your Electricity Maps API token`);
  }
  if (problems.length > 0 || zone === undefined) return { plan: null, problems };
  return {
    plan: {
      kind: 'provider',
      provider,
      zone: zone.toUpperCase() === zone ? zone : zone.toUpperCase(),
      fallback: fallbackZone(zone),
      url: s.apiUrl ?? DEFAULT_PROVIDER_URLS[provider],
      tokenFile: s.tokenFile ?? null,
      refreshMs: s.refreshMs ?? DEFAULT_CARBON_REFRESH_MS,
      perProcess,
    },
    problems,
  };
}

/** The run config's [carbon] when it has one (then the carbon flags are not read), else the command line's. */
export function resolveCarbonSettings(cli: CarbonSettings, file: CarbonSettings | null): CarbonSettings {
  return file ?? cli;
}

/** What --check says of a carbon plan (the provider is not contacted). */
export function carbonPlanLine(plan: CarbonPlan): string {
  const perProcess = plan.perProcess ? ', a counter per process' : '';
  if (plan.kind === 'fixed') return `emissions at a fixed ${plan.gPerKwh} gCO2e/kWh${perProcess}`;
  if (plan.kind === 'static') return `emissions at scaph's static value for ${plan.zone.code} (${plan.zone.gPerKwh} gCO2e/kWh, ${plan.zone.year})${perProcess}`;
  const fallback = plan.fallback ? `${plan.fallback.code}'s static value (${plan.fallback.gPerKwh} gCO2e/kWh)` : 'nothing counted (no static value for the zone)';
  return `emissions at ${plan.provider} for ${plan.zone} (${plan.url}, every ${plan.refreshMs / 1000} s; while it fails: ${fallback})${perProcess} (the provider is not contacted by --check)`;
}
