import { valueOption, type ValuesOf } from '../config/declared-options.js';
import { backoffForStep, DEFAULT_MIN_DELAY_MS, RECOVERY_FLOOR_MS, type BackoffOptions } from '../delivery/retry.js';
import { UsageError } from '../core/errors.js';
import { commonSettings, type LabelValues, type PushSettings } from './command.js';
import { SPLAY_OPTION } from './splay-option.js';
import { positiveSeconds } from './parse.js';

/**
 * The retry options every push transport has (remote-write, riemann, warp10, prometheus-push); in a config
 * file they are the `min_backoff` and `max_backoff` keys of an [[exporter]]. Named after Prometheus'
 * remote-write queue_config.
 */
export const BACKOFF_OPTIONS = {
  minBackoff: valueOption('--min-backoff <seconds>', 'first wait after a failed send; doubled after each further failure', positiveSeconds('--min-backoff'), {
    unit: 'seconds',
    default: DEFAULT_MIN_DELAY_MS / 1000,
  }),
  maxBackoff: valueOption(
    '--max-backoff <seconds>',
    `longest wait between two attempts while the backend fails, so the first send after it returns comes within this (default: the larger of ${RECOVERY_FLOOR_MS / 1000} s and the step)`,
    positiveSeconds('--max-backoff'),
    { unit: 'seconds' },
  ),
};

/** The options every push subcommand has after its own: retries and splay. */
export const PUSH_OPTIONS = { ...BACKOFF_OPTIONS, ...SPLAY_OPTION };

/**
 * The delivery core's backoff from those options: max(5 s, step) when --max-backoff is not given. A first
 * wait longer than the longest is refused, naming both: the core would cut it to the longest without a word.
 */
export function backoffFrom(values: ValuesOf<typeof BACKOFF_OPTIONS>, stepMs: number): BackoffOptions {
  const min = values.minBackoff;
  const max = values.maxBackoff;
  const backoff = backoffForStep(stepMs, { minDelayMs: min === undefined ? undefined : min * 1000, maxDelayMs: max === undefined ? undefined : max * 1000 });
  if (backoff.minDelayMs > backoff.maxDelayMs) {
    const longest =
      max === undefined
        ? `the longest wait, ${backoff.maxDelayMs / 1000} s (--max-backoff's default: the larger of ${RECOVERY_FLOOR_MS / 1000} s and the step)`
        : `--max-backoff ${max}`;
    throw new UsageError(
      `--min-backoff ${backoff.minDelayMs / 1000} is longer than ${longest}: the first wait would be cut to the longest. Give --max-backoff ${backoff.minDelayMs / 1000} or more, or a shorter --min-backoff`,
    );
  }
  return backoff;
}

/**
 * The settings every push exporter has: commonSettings (the step, in seconds), the backoff at that step,
 * and splay (on unless --no-splay: SPLAY_OPTION).
 */
export function pushSettings(values: ValuesOf<typeof PUSH_OPTIONS> & Partial<LabelValues>, stepS: number): PushSettings {
  const common = commonSettings(stepS, values);
  return { ...common, backoff: backoffFrom(values, common.stepMs), splay: values.splay };
}

/** One sentence for a push command's --help: how failures are retried and the recovery bound. */
export const BACKOFF_HELP =
  `Failed sends are retried after --min-backoff, doubled each time up to --max-backoff (default: the larger of\n` +
  `${RECOVERY_FLOOR_MS / 1000} s and the step; each wait drawn 0-20 % shorter so a fleet does not retry in lockstep): a backend\n` +
  'that comes back gets its first request within --max-backoff, then the backlog goes out back to back.\n';
