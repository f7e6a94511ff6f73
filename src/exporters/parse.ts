import { isIP } from 'node:net';
import { Option, type Command } from 'commander';
import { UsageError } from '../core/errors.js';
import { decimalNumber } from '../core/decimal-number.js';
import { quoted } from '../core/quoted.js';
import { UserPatterns, type PatternScope, type PatternUse } from '../core/user-pattern.js';

/** Commander argument parsers that fail with a one-line usage error naming the flag. */

export { decimalNumber };

/** Longest step or timeout, s: what one timer can wait (2^31 - 1 ms, ~24.8 days). */
export const MAX_SECONDS = 2_147_483;
/** Most watts per logical CPU the estimate takes: far above any CPU's, low enough to keep µW figures exact. */
export const MAX_WATTS_PER_CPU = 1000;
/** Most watts a power threshold takes: its µW stay a safe integer (2^53 - 1 µW is ~9 GW). */
export const MAX_THRESHOLD_WATTS = Math.floor(Number.MAX_SAFE_INTEGER / 1e6);


export function positiveSeconds(flag: string): (value: string) => number {
  return (value: string) => {
    const n = decimalNumber(value);
    if (!(n > 0)) throw new UsageError(`${flag} must be a positive number of seconds, got ${quoted(value)}`);
    if (n > MAX_SECONDS) throw new UsageError(`${flag} must be at most ${MAX_SECONDS} seconds (about 24.8 days), got ${quoted(value)}`);
    return n;
  };
}

/**
 * Seconds that may be negative (meaning "forever"), e.g. the stdout/json -t timeout. At most MAX_SECONDS,
 * as every other number of seconds: `-t 9007199254740993` was taken as a run no clock would end.
 */
export function signedSeconds(flag: string): (value: string) => number {
  return (value: string) => {
    const n = decimalNumber(value);
    if (Number.isNaN(n) || n === 0) throw new UsageError(`${flag} must be a non-zero number of seconds (negative = run until stopped), got ${quoted(value)}`);
    if (n > MAX_SECONDS) throw new UsageError(`${flag} must be at most ${MAX_SECONDS} seconds (about 24.8 days; negative = run until stopped), got ${quoted(value)}`);
    return n;
  };
}

/**
 * How long stdout runs, s: 0 or negative = until stopped, as Scaphandre's stdout documentation says of
 * `-t 0` ("display top consumers infinitely"). At most MAX_SECONDS, as every other number of seconds.
 */
export function untilStoppedSeconds(flag: string): (value: string) => number {
  return (value: string) => {
    const n = decimalNumber(value);
    if (Number.isNaN(n)) throw new UsageError(`${flag} must be a number of seconds (0 or negative = run until stopped), got ${quoted(value)}`);
    if (n > MAX_SECONDS) throw new UsageError(`${flag} must be at most ${MAX_SECONDS} seconds (about 24.8 days; 0 or negative = run until stopped), got ${quoted(value)}`);
    return n;
  };
}

/** Watts per logical CPU for the estimate: above 0, at most MAX_WATTS_PER_CPU. */
export function wattsPerCpu(flag: string): (value: string) => number {
  return (value: string) => {
    const n = decimalNumber(value);
    if (!(n > 0) || n > MAX_WATTS_PER_CPU) throw new UsageError(`${flag} must be a number of watts per logical CPU above 0 and at most ${MAX_WATTS_PER_CPU} (decimals allowed), got ${quoted(value)}`);
    return n;
  };
}

export function positiveInt(flag: string): (value: string) => number {
  return (value: string) => {
    const n = decimalNumber(value);
    if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} must be a positive whole number, got ${quoted(value)}`);
    if (!Number.isSafeInteger(n)) throw new UsageError(`${flag} must be at most ${Number.MAX_SAFE_INTEGER} (2^53 - 1, beyond which whole numbers are not exact), got ${quoted(value)}`);
    return n;
  };
}

export function nonNegativeInt(flag: string): (value: string) => number {
  return (value: string) => {
    const n = decimalNumber(value);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} must be a whole number >= 0, got ${quoted(value)}`);
    if (!Number.isSafeInteger(n)) throw new UsageError(`${flag} must be at most ${Number.MAX_SAFE_INTEGER} (2^53 - 1, beyond which whole numbers are not exact), got ${quoted(value)}`);
    return n;
  };
}

/**
 * A whole number from 0 to `max`, as an unsigned integer flag of Scaphandre takes it (clap refuses the
 * rest, so a unit file that starts Scaphandre gives one of these).
 */
export function wholeNumberUpTo(flag: string, max: number): (value: string) => number {
  return (value: string) => {
    const n = decimalNumber(value);
    if (!Number.isInteger(n) || n < 0 || n > max) throw new UsageError(`${flag} must be a whole number from 0 to ${max}, got ${quoted(value)}`);
    return n;
  };
}

/** Watts (decimals allowed) >= 0, as whole µW. */
export function nonNegativeWattsAsUw(flag: string): (value: string) => number {
  return (value: string) => {
    const n = decimalNumber(value);
    if (!(n >= 0) || n > MAX_THRESHOLD_WATTS) throw new UsageError(`${flag} must be a number of watts >= 0 (decimals allowed), got ${quoted(value)}`);
    return Math.round(n * 1e6);
  };
}

const HOST_LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?$/;

/**
 * A host name or an IP address (IPv6 with or without brackets), as a URL's or a socket's host. Anything else
 * (a space, a slash, a scheme) made an invalid URL at start ("unexpected error: Invalid URL", exit 70) or a
 * connection retried forever to a name that cannot exist.
 */
export function hostName(flag: string): (value: string) => string {
  return (value: string) => {
    const bare = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value;
    if (isIP(bare) !== 0) return bare;
    const labels = value.endsWith('.') ? value.slice(0, -1).split('.') : value.split('.');
    if (value.length > 253 || !labels.every((l) => l.length <= 63 && HOST_LABEL.test(l))) {
      throw new UsageError(`${flag} must be a host name or an IP address, got ${quoted(value)}`);
    }
    return value;
  };
}

/** A port to listen on: 0 lets the system choose one (the exporter then says which). */
export function port(flag: string): (value: string) => number {
  return (value: string) => {
    const n = decimalNumber(value);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`${flag} must be a TCP port (0-65535), got ${quoted(value)}`);
    return n;
  };
}

/** A port to connect to: 1-65535 (nothing listens on port 0; retrying it would go on forever). */
export function destinationPort(flag: string): (value: string) => number {
  return (value: string) => {
    const n = decimalNumber(value);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`${flag} must be the server's TCP port (1-65535), got ${quoted(value)}`);
    return n;
  };
}

/**
 * Longest value a flag or key takes, characters: the length of a path (PATH_MAX) and far more than a label,
 * tag, header or pattern needs. A longer one is a mistake (a file pasted in), or hostile.
 */
export const MAX_VALUE_CHARS = 4096;

/** C0 controls and DEL, and the C1 controls: no flag's value needs one; in a label or a log line they lie. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Why a value is refused before its own parser looks at it (the end of a sentence starting with the flag or
 * key): empty, too long, or holding a control character. Null when none of these.
 */
export function valueProblem(value: string): string | null {
  if (value === '') return 'must not be empty';
  if (value.length > MAX_VALUE_CHARS) return `is ${value.length} characters long: at most ${MAX_VALUE_CHARS} are accepted, got ${quoted(value)}`;
  const control = CONTROL.exec(value);
  if (control) {
    const code = `U+${(control[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
    return `must not hold control characters (a newline, a tab, an escape...): got ${quoted(value)}, with ${code} at character ${control.index + 1}`;
  }
  return null;
}

/** `-s/--step` for `-s, --step <seconds>`: how messages name an option. */
export function flagName(option: Option): string {
  return option.short && option.long ? `${option.short}/${option.long}` : (option.long ?? option.flags);
}

/**
 * Gives every option of `cmd` that takes a value one check before its own parser: not empty, at most
 * MAX_VALUE_CHARS, no control character (valueProblem). One guard for every flag, and for every key of a
 * run config (exporter-options.ts passes each key's value through the same parsers), instead of a check in
 * each parser: `--kubernetes-node ''` or `--docker-socket ''` were accepted with exit 0.
 */
export function guardOptionValues(cmd: Command): Command {
  for (const option of cmd.options) {
    if (!option.required && !option.optional) continue;
    const parse = option.parseArg as ((value: string, previous: unknown) => unknown) | undefined;
    const flag = flagName(option);
    option.argParser((value: string, previous: unknown) => {
      const problem = valueProblem(value);
      if (problem !== null) throw new UsageError(`${flag} ${problem}${value === '' ? `: give a value or leave ${flag} out` : ''}`);
      return parse ? parse(value, previous) : value;
    });
  }
  return cmd;
}

/**
 * A repeatable pattern flag (user-pattern.ts: RE2 syntax, linear time): each value is checked at once
 * (a UserPatternError names the flag, the pattern and why) and added as an alternative to the previous ones.
 */
export function patterns(use: PatternUse, scope: PatternScope): (value: string, previous: UserPatterns | undefined) => UserPatterns {
  return (value, previous) => (previous ? previous.with(use, value) : UserPatterns.compile(use, [value], scope));
}

/** Repeatable `k=v` flags collected into a record. */
export function keyValue(flag: string): (value: string, previous: Record<string, string> | undefined) => Record<string, string> {
  return (value, previous) => {
    const eq = value.indexOf('=');
    if (eq <= 0) throw new UsageError(`${flag} takes key=value, got ${quoted(value)}`);
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
  if (ms > MAX_SECONDS * 1000) throw new UsageError(`the step (-s/--step plus -n/--step-nano) must be at most ${MAX_SECONDS} seconds (about 24.8 days), got ${ms / 1000} seconds`);
  return ms;
}

const PATH_SEGMENTS = /^[A-Za-z0-9._~-]+(?:\/[A-Za-z0-9._~-]+)*$/;

/** A URL path below the root (e.g. "metrics", "scaph/metrics"); leading/trailing slashes are dropped. */
export function urlPathSuffix(flag: string): (value: string) => string {
  return (value: string) => {
    const trimmed = value.replace(/^\/+|\/+$/g, '');
    if (!PATH_SEGMENTS.test(trimmed)) {
      throw new UsageError(`${flag} must be a URL path made of letters, digits and . _ ~ - separated by /, got ${quoted(value)}`);
    }
    return trimmed;
  };
}

/**
 * Another spelling of an option (Scaphandre's flag names: `--step_nano`, `--dispatch`, stdout's `--process`).
 * Listed in --help as the same as its target; parsed by the target's parser into the target's value
 * (config/declared-options.ts adds it). Its own value is kept apart, under a name no option has.
 */
export class AliasOption extends Option {
  constructor(flags: string, readonly target: Option, why = "the spelling of Scaphandre's documentation") {
    super(flags, `same as ${target.long ?? target.flags} (${why})`);
  }

  override attributeName(): string {
    return `alias ${this.flags}`;
  }
}
