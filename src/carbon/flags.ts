/** The carbon global flags' parsers: each value checked as [carbon]'s keys are (settings.ts), a usage error (exit 2) naming the flag. */
import { decimalNumber } from '../core/decimal-number.js';
import { UsageError } from '../core/errors.js';
import { quoted } from '../core/quoted.js';
import { apiUrlProblem, intensityProblem, refreshProblem, zoneSyntaxProblem } from './settings.js';

export function carbonIntensityFlag(value: string): number {
  const g = decimalNumber(value);
  const problem = intensityProblem(g);
  if (problem !== null) throw new UsageError(`--carbon-intensity ${problem}, got ${quoted(value)}`);
  return g;
}

export function carbonZoneFlag(value: string): string {
  const problem = zoneSyntaxProblem(value);
  if (problem !== null) throw new UsageError(`--carbon-zone ${problem}`);
  return value.toUpperCase();
}

export function carbonApiUrlFlag(value: string): string {
  const problem = apiUrlProblem(value);
  if (problem !== null) throw new UsageError(`--carbon-api-url ${problem}`);
  return value;
}

/** --carbon-refresh seconds, as ms. */
export function carbonRefreshFlag(value: string): number {
  const ms = decimalNumber(value) * 1000;
  const problem = Number.isNaN(ms) ? 'must be a number of seconds' : refreshProblem(ms);
  if (problem !== null) throw new UsageError(`--carbon-refresh ${problem}, got ${quoted(value)}`);
  return ms;
}
