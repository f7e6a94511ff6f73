import type { ExporterCommandSpec } from '../exporters/command.js';
import { longFlag, withRole } from './declared-options.js';
import type { KeyIssue } from './key-issue.js';
import { durationMs } from './values.js';
import { errorText } from '../core/errors.js';

/**
 * The step of one [[exporter]]: which keys of its table set it and to what. A file may write the
 * run-wide `step` or the subcommand's own step option (riemann's `dispatch_interval`); both mean the same
 * option, so two that disagree are refused rather than one silently winning. Without either, the
 * subcommand's own default applies (`scaph warp10` pushes every 30 s, so does a warp10 [[exporter]]).
 */
export interface StepKeys {
  /** The table without its step keys. */
  readonly rest: Record<string, unknown>;
  /** What the user wrote for the step option, as that option's value in seconds; undefined: its default. */
  readonly seconds: number | undefined;
  /** The key it was written under (`step`, `dispatch_interval`), for messages and --check. */
  readonly writtenAs: string | undefined;
  readonly issues: readonly KeyIssue[];
}

/** The file key of the option declared with `role` (`dispatch_interval` for riemann's step), or undefined. */
export function roleKey(spec: ExporterCommandSpec, role: 'step' | 'step-fraction'): string | undefined {
  const found = withRole(spec.options, role);
  const long = found ? longFlag(found.decl.flags) : null;
  return long === null ? undefined : long.replace(/^--/, '').replace(/-/g, '_');
}

/** The file key of the spec's step option (`step`, riemann's `dispatch_interval`). */
export function stepOptionKey(spec: ExporterCommandSpec): string {
  const key = roleKey(spec, 'step');
  if (key === undefined) throw new Error(`the ${spec.name} spec declares no option with the role step`);
  return key;
}

/** The keys that set a subcommand's step: `step`, and its own step option's name when that differs. */
export function stepKeys(spec: ExporterCommandSpec): readonly string[] {
  const own = stepOptionKey(spec);
  return own === 'step' ? ['step'] : ['step', own];
}

/** Takes the step keys out of an [[exporter]] table (snake_case or kebab-case) and says what they set. */
export function splitStepKeys(spec: ExporterCommandSpec, table: Readonly<Record<string, unknown>>): StepKeys {
  const keys = stepKeys(spec);
  const rest: Record<string, unknown> = {};
  const given: Array<{ key: string; seconds: number }> = [];
  const issues: KeyIssue[] = [];
  for (const [key, value] of Object.entries(table)) {
    if (!keys.includes(key.replace(/-/g, '_'))) {
      rest[key] = value;
      continue;
    }
    const seconds = stepSeconds(value);
    if (typeof seconds === 'string') issues.push({ key, message: seconds });
    else given.push({ key, seconds });
  }
  const [first, ...others] = given;
  for (const other of others) {
    if (first && other.seconds !== first.seconds) {
      issues.push({
        key: other.key,
        message: `${first.key} = ${first.seconds} and ${other.key} = ${other.seconds} both set the ${spec.name} step (--${stepOptionKey(spec).replace(/_/g, '-')}): keep one`,
      });
    }
  }
  return { rest, seconds: first?.seconds, writtenAs: first?.key, issues };
}

/**
 * A step value as the option's seconds: a number passes as it is (the option's own parser judges it, so
 * the file accepts what the command line does, json's `step = 0` with `step_nano` included); a string
 * may carry a unit ("30s", "500ms"). The reason it is refused otherwise.
 */
function stepSeconds(value: unknown): number | string {
  if (typeof value === 'number') return value;
  try {
    return durationMs(value) / 1000;
  } catch (err) {
    return errorText(err);
  }
}

/**
 * How two steps meet in the one sampling loop: an exporter step that is not a multiple of the sensor step
 * gets the samples nearest its schedule, so its intervals alternate between the two multiples around it
 * (sensor 2 s, exporter 7 s: 6 or 8 s apart, 7 s on average). Null when every interval is the step.
 */
export function stepSpacing(exporterStepMs: number, sensorStepMs: number): { readonly lowerMs: number; readonly upperMs: number } | null {
  if (exporterStepMs <= sensorStepMs) return null;
  const ratio = exporterStepMs / sensorStepMs;
  if (Math.abs(ratio - Math.round(ratio)) < 1e-9) return null;
  const lowerMs = Math.floor(ratio) * sensorStepMs;
  return { lowerMs, upperMs: lowerMs + sensorStepMs };
}
