/**
 * The platform meters' flags and [sensor] keys, checked the same way on the command line and in a run
 * config: each check gives the problem in words (null when the value is good), the flag parsers throw it
 * as a usage error (exit 2) naming the flag.
 */
import { decimalNumber } from '../core/decimal-number.js';
import { UsageError } from '../core/errors.js';
import { quoted } from '../core/quoted.js';
import { CHANNEL_SELECTOR_FORM, parseChannelSelector } from './hwmon/channels.js';
import { redfishUrlProblem } from './redfish/settings.js';
import { MIN_REDFISH_INTERVAL_MS } from './settings.js';

export function hwmonChannelProblem(text: string): string | null {
  return parseChannelSelector(text) === null ? `must be ${CHANNEL_SELECTOR_FORM}, e.g. power_meter/power1 or hwmon3/energy1, got ${quoted(text)}` : null;
}

/** Why `ms` cannot be the Redfish poll interval, or null. */
export function redfishIntervalProblem(ms: number): string | null {
  if (!Number.isFinite(ms) || ms < MIN_REDFISH_INTERVAL_MS) return `must be at least ${MIN_REDFISH_INTERVAL_MS / 1000} s: BMCs refresh their readings every few seconds at best`;
  if (ms > 3_600_000) return 'must be at most 3600 s: a reading is not published once older than two intervals';
  return null;
}

/** --hwmon-channel, repeatable. */
export function hwmonChannelFlag(value: string, previous: string[] | undefined): string[] {
  const problem = hwmonChannelProblem(value);
  if (problem !== null) throw new UsageError(`--hwmon-channel ${problem}`);
  return [...(previous ?? []), value.trim()];
}

export function redfishUrlFlag(value: string): string {
  const problem = redfishUrlProblem(value);
  if (problem !== null) throw new UsageError(`--redfish-url ${problem}`);
  return value;
}

/** --redfish-interval seconds, as ms. */
export function redfishIntervalFlag(value: string): number {
  const ms = decimalNumber(value) * 1000;
  const problem = Number.isNaN(ms) ? 'must be a number of seconds' : redfishIntervalProblem(ms);
  if (problem !== null) throw new UsageError(`--redfish-interval ${problem}, got ${quoted(value)}`);
  return ms;
}
