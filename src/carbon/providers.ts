/**
 * The live grid signals scaph reads, each one request and one answer's shape:
 *
 * - Electricity Maps (https://portal.electricitymaps.com/docs/api): `GET /v3/carbon-intensity/latest?zone=<zone>`
 *   with the token in the `auth-token` header; the answer's `carbonIntensity` is gCO2eq/kWh for the hour
 *   starting at `datetime` (its `emissionFactorType`, lifecycle by default, says which factors).
 * - The GB National Grid ESO Carbon Intensity API (https://carbon-intensity.github.io/api-definitions/):
 *   `GET /intensity`, no token; `data[0]` is the current half hour (`from`, `to`) with `intensity.actual`
 *   (null until measured) and `intensity.forecast`, gCO2/kWh, for Great Britain.
 *
 * A parse returns the value and the time it is for, or throws a ProviderAnswerError saying what was wrong
 * with the answer (never its whole text).
 */
import { ScaphError } from '../core/errors.js';

export const CARBON_PROVIDERS = ['electricitymaps', 'uk-carbon-intensity'] as const;
export type CarbonProvider = (typeof CARBON_PROVIDERS)[number];

export const DEFAULT_PROVIDER_URLS: Readonly<Record<CarbonProvider, string>> = {
  electricitymaps: 'https://api.electricitymap.org',
  'uk-carbon-intensity': 'https://api.carbonintensity.org.uk',
};

/** Great Britain: the only zone the GB API answers for (its national figure). */
export const UK_ZONE = 'GB';

/** No grid emits more than this per kWh (coal plants are ~1,000 g): an answer above is not an intensity. */
export const MAX_INTENSITY_G_PER_KWH = 5000;

export class ProviderAnswerError extends ScaphError {}

export interface ProviderReading {
  readonly gPerKwh: number;
  /** Start of the period the value is for, ms since the epoch (null when the answer does not say). */
  readonly forMs: number | null;
}

export interface ProviderRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** The request asking `provider` for `zone`'s latest value, against base URL `base`. */
export function providerRequest(provider: CarbonProvider, base: string, zone: string, token: string | null): ProviderRequest {
  const root = base.replace(/\/+$/, '');
  if (provider === 'electricitymaps') {
    return { url: `${root}/v3/carbon-intensity/latest?zone=${encodeURIComponent(zone)}`, headers: token === null ? {} : { 'auth-token': token } };
  }
  return { url: `${root}/intensity`, headers: {} };
}

/** The value in `body`, as `provider` answers. */
export function parseProviderAnswer(provider: CarbonProvider, body: unknown, zone: string): ProviderReading {
  return provider === 'electricitymaps' ? parseElectricityMaps(body, zone) : parseUkCarbonIntensity(body);
}

function field(body: unknown, name: string): unknown {
  return body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>)[name] : undefined;
}

function intensityValue(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_INTENSITY_G_PER_KWH) {
    throw new ProviderAnswerError(`${what} is ${describeValue(value)}, not a number of g/kWh from 0 to ${MAX_INTENSITY_G_PER_KWH}`);
  }
  return value;
}

function timeOf(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'missing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function parseElectricityMaps(body: unknown, zone: string): ProviderReading {
  const answeredZone = field(body, 'zone');
  if (typeof answeredZone === 'string' && answeredZone.toUpperCase() !== zone.toUpperCase()) {
    throw new ProviderAnswerError(`the answer is for zone ${describeValue(answeredZone)}, not ${zone}`);
  }
  return { gPerKwh: intensityValue(field(body, 'carbonIntensity'), 'carbonIntensity'), forMs: timeOf(field(body, 'datetime')) };
}

function parseUkCarbonIntensity(body: unknown): ProviderReading {
  const data = field(body, 'data');
  const first: unknown = Array.isArray(data) ? (data as unknown[])[0] : undefined;
  if (first === undefined) throw new ProviderAnswerError(`data is ${describeValue(data)}, not a list holding the current half hour`);
  const intensity = field(first, 'intensity');
  const actual = field(intensity, 'actual');
  const value = actual === null || actual === undefined ? field(intensity, 'forecast') : actual;
  return { gPerKwh: intensityValue(value, 'data[0].intensity (actual, else forecast)'), forMs: timeOf(field(first, 'from')) };
}
