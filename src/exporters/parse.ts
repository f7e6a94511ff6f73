import { Option, type Command } from 'commander';
import { UsageError } from '../core/errors.js';
import { UserPatterns, type PatternScope, type PatternUse } from '../core/user-pattern.js';

/** Commander argument parsers that fail with a one-line usage error naming the flag. */

/** Longest step or timeout, s: what one timer can wait (2^31 - 1 ms, ~24.8 days). */
export const MAX_SECONDS = 2_147_483;

export function positiveSeconds(flag: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a positive number of seconds, got "${value}"`);
    if (n > MAX_SECONDS) throw new UsageError(`${flag} must be at most ${MAX_SECONDS} seconds (about 24.8 days), got "${value}"`);
    return n;
  };
}

/** Seconds that may be negative (meaning "forever"), e.g. the stdout/json -t timeout. */
export function signedSeconds(flag: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n === 0) throw new UsageError(`${flag} must be a non-zero number of seconds (negative = run until stopped), got "${value}"`);
    return n;
  };
}

export function positiveInt(flag: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} must be a positive whole number, got "${value}"`);
    return n;
  };
}

export function nonNegativeInt(flag: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} must be a whole number >= 0, got "${value}"`);
    return n;
  };
}

/** Watts (decimals allowed) >= 0, as whole µW. */
export function nonNegativeWattsAsUw(flag: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`${flag} must be a number of watts >= 0 (decimals allowed), got "${value}"`);
    return Math.round(n * 1e6);
  };
}

/** A port to listen on: 0 lets the system choose one (the exporter then says which). */
export function port(flag: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`${flag} must be a TCP port (0-65535), got "${value}"`);
    return n;
  };
}

/** A port to connect to: 1-65535 (nothing listens on port 0; retrying it would go on forever). */
export function destinationPort(flag: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`${flag} must be the server's TCP port (1-65535), got "${value}"`);
    return n;
  };
}

/**
 * A repeatable pattern flag (user-pattern.ts: RE2 syntax, linear time): each value is checked at once
 * (a UserPatternError names the flag, the pattern and why) and added as an alternative to the previous ones.
 */
export function patterns(use: PatternUse, scope: PatternScope): (value: string, previous: UserPatterns | undefined) => UserPatterns {
  return (value, previous) => (previous ? previous.with(use, value) : UserPatterns.compile(use, [value], scope));
}

/**
 * An option that may be given several times, each value adding to what the previous ones gave (its
 * parser takes the previous value). In a config file its key takes a list, or one value; the key of
 * any other option takes one value and refuses a list (exporter-options.ts).
 */
export class RepeatableOption extends Option {}

/** Repeatable `k=v` flags collected into a record. */
export function keyValue(flag: string): (value: string, previous: Record<string, string> | undefined) => Record<string, string> {
  return (value, previous) => {
    const eq = value.indexOf('=');
    if (eq <= 0) throw new UsageError(`${flag} takes key=value, got "${value}"`);
    return { ...(previous ?? {}), [value.slice(0, eq)]: value.slice(eq + 1) };
  };
}

/** Repeatable string flags collected into an array. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** A step from -s seconds and an optional --step-nano (Scaphandre's json flags): ms. */
export function stepMsFrom(seconds: number, nanos: number | undefined): number {
  const ms = seconds * 1000 + (nanos ?? 0) / 1e6;
  if (ms <= 0) throw new UsageError('the step must be longer than 0');
  return ms;
}

const PATH_SEGMENTS = /^[A-Za-z0-9._~-]+(?:\/[A-Za-z0-9._~-]+)*$/;

/** A URL path below the root (e.g. "metrics", "scaph/metrics"); leading/trailing slashes are dropped. */
export function urlPathSuffix(flag: string): (value: string) => string {
  return (value: string) => {
    const trimmed = value.replace(/^\/+|\/+$/g, '');
    if (!PATH_SEGMENTS.test(trimmed)) {
      throw new UsageError(`${flag} must be a URL path made of letters, digits and . _ ~ - separated by /, got "${value}"`);
    }
    return trimmed;
  };
}

/**
 * Another spelling of an option (Scaphandre's older flag names: `--step_nano`, `--dispatch`). Listed in
 * --help as the same as its target; parsed by the target's parser into the target's value.
 */
export class AliasOption extends Option {
  constructor(flags: string, readonly target: Option, why = "the spelling of Scaphandre's documentation") {
    super(flags, `same as ${target.long ?? target.flags} (${why})`);
  }
}

/** Adds `flags` to `cmd` as an alias of its option `targetLong` (e.g. '--dispatch-interval'); `why` ends its help. */
export function addAlias(cmd: Command, flags: string, targetLong: string, why?: string): Command {
  const target = cmd.options.find((o) => o.long === targetLong);
  if (!target) throw new Error(`no option ${targetLong} to alias with ${flags}`);
  const alias = new AliasOption(flags, target, why);
  cmd.addOption(alias);
  cmd.on(`option:${alias.name()}`, (value: string) => {
    const key = target.attributeName();
    const parsed: unknown = target.parseArg ? target.parseArg(value, cmd.getOptionValue(key)) : value;
    cmd.setOptionValueWithSource(key, parsed, 'cli');
  });
  return cmd;
}
