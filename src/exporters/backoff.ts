import type { Command, OptionValues } from 'commander';
import { backoffForStep, DEFAULT_MIN_DELAY_MS, RECOVERY_FLOOR_MS, type BackoffOptions } from '../delivery/retry.js';
import { UsageError } from '../core/errors.js';
import { commonSettings, type PushSettings } from './command.js';
import { positiveSeconds } from './parse.js';

/**
 * The retry options every push transport has (remote-write, riemann, warp10, prometheus-push); in a config
 * file they are the `min_backoff` and `max_backoff` keys of an [[exporter]]. Named after Prometheus'
 * remote-write queue_config.
 */
export function addBackoffOptions(cmd: Command): Command {
  return cmd
    .option('--min-backoff <seconds>', 'first wait after a failed send; doubled after each further failure', positiveSeconds('--min-backoff'), DEFAULT_MIN_DELAY_MS / 1000)
    .option(
      '--max-backoff <seconds>',
      `longest wait between two attempts while the backend fails, so the first send after it returns comes within this (default: the larger of ${RECOVERY_FLOOR_MS / 1000} s and the step)`,
      positiveSeconds('--max-backoff'),
    );
}

/**
 * The delivery core's backoff from those options: max(5 s, step) when --max-backoff is not given. A first
 * wait longer than the longest is refused, naming both: the core would cut it to the longest without a word.
 */
export function backoffFrom(values: OptionValues, stepMs: number): BackoffOptions {
  const min = values['minBackoff'] as number | undefined;
  const max = values['maxBackoff'] as number | undefined;
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
 * The settings every push exporter has: commonSettings (step from the option `stepKey`), the backoff at that
 * step, and splay (on unless --no-splay: addSplayOption).
 */
export function pushSettings(values: OptionValues, stepKey = 'step'): PushSettings {
  const common = commonSettings(values, stepKey);
  return { ...common, backoff: backoffFrom(values, common.stepMs), splay: values['splay'] !== false };
}

/** One sentence for a push command's --help: how failures are retried and the recovery bound. */
export const BACKOFF_HELP =
  `Failed sends are retried after --min-backoff, doubled each time up to --max-backoff (default: the larger of\n` +
  `${RECOVERY_FLOOR_MS / 1000} s and the step; each wait drawn 0-20 % shorter so a fleet does not retry in lockstep): a backend\n` +
  'that comes back gets its first request within --max-backoff, then the backlog goes out back to back.\n';
