import { Option, type Command, type OptionValues } from 'commander';
import { DEFAULT_HOLD_STEPS, type SelectionOptions } from '../core/process-selection.js';
import type { UserPatterns } from '../core/user-pattern.js';
import { flagName, nonNegativeInt, nonNegativeWattsAsUw, patterns, positiveInt, RepeatableOption } from './parse.js';

/**
 * The process selection options every exporter that sends process figures has (all but qemu); in a config
 * file they are the `max_top_consumers`, `min_process_power`, `process_regex`, `exclude_process_regex` and
 * `selection_hold_steps` keys of an [[exporter]]. What they do: src/core/process-selection.ts.
 *
 * The two regex options are repeatable (any of the patterns), on the command line and in a file alike
 * (a list), as --keep-metrics and --drop-metrics are: `exclude_process_regex = ["^kworker", "^ksoftirqd"]`
 * leaves out both. Patterns are RE2 (src/core/user-pattern.ts), matched anywhere in the exe or cmdline.
 */
export interface SelectionSpelling {
  /** Flags of the top-N option: Scaphandre's json has `-m, --max-top-consumers`, its stdout `-p, --process-number`. */
  readonly top?: string;
  /** Its default (json 10, stdout 5); none = every process (the metric exporters, as before). */
  readonly topDefault?: number;
  /** Flags of the include regex: json `-r, --process-regex`, stdout `-r, --regex-filter`. */
  readonly include?: string;
  /** Default of --selection-hold-steps: DEFAULT_HOLD_STEPS; 0 for the printed top lists (stdout, json). */
  readonly holdDefault?: number;
}

const TOP = '--max-top-consumers <n>';
const INCLUDE = '--process-regex <regex>';
const MIN_POWER = '--min-process-power <watts>';
const EXCLUDE = '--exclude-process-regex <regex>';
const HOLD = '--selection-hold-steps <n>';

function topOption(spelling: SelectionSpelling): Option {
  const o = new Option(spelling.top ?? TOP, 'keep only the n processes with the most power (and the n containers, pods, namespaces and units of each kind); the rest are summed up as others');
  o.argParser(positiveInt(flagName(o)));
  if (spelling.topDefault !== undefined) o.default(spelling.topDefault);
  else o.default(undefined, 'every process');
  return o;
}

function includeOption(spelling: SelectionSpelling): Option {
  const o = new RepeatableOption(spelling.include ?? INCLUDE, 'keep only processes whose executable name or command line matches (RE2 syntax; repeatable: any of them)');
  return o.argParser(patterns({ flag: flagName(o), insteadOfLookaround: 'to leave processes out, give --exclude-process-regex' }, 'anywhere'));
}

function excludeOption(): Option {
  return new RepeatableOption(EXCLUDE, 'leave out processes whose executable name or command line matches (RE2 syntax; repeatable: any of them)').argParser(
    patterns({ flag: '--exclude-process-regex', insteadOfLookaround: 'to keep only some processes, give --process-regex' }, 'anywhere'),
  );
}

/** Adds the selection options to `cmd`, with the exporter's spelling of the two that Scaphandre already had. */
export function addSelectionOptions(cmd: Command, spelling: SelectionSpelling = {}): Command {
  return cmd
    .addOption(topOption(spelling))
    .addOption(new Option(MIN_POWER, 'keep only processes (and groups) using at least this many watts, e.g. 0.5').argParser(nonNegativeWattsAsUw('--min-process-power')))
    .addOption(includeOption(spelling))
    .addOption(excludeOption())
    .addOption(
      new Option(HOLD, 'a kept process or group that no longer qualifies stays kept this many more steps, so processes trading places around the n-th rank do not start and end series (0 = none)')
        .argParser(nonNegativeInt('--selection-hold-steps'))
        .default(spelling.holdDefault ?? DEFAULT_HOLD_STEPS),
    );
}

/** The selection the options ask for; null when none of them selects (every process gets its series, no rollup). */
export function selectionSettings(values: OptionValues, spelling: SelectionSpelling = {}): SelectionOptions | null {
  const top = values[topOption(spelling).attributeName()] as number | undefined;
  const minPowerUw = values['minProcessPower'] as number | undefined;
  const include = (values[includeOption(spelling).attributeName()] as UserPatterns | undefined) ?? null;
  const exclude = (values['excludeProcessRegex'] as UserPatterns | undefined) ?? null;
  if (top === undefined && minPowerUw === undefined && include === null && exclude === null) return null;
  return { maxTopConsumers: top ?? null, minPowerUw: minPowerUw ?? 0, include, exclude, holdSteps: values['selectionHoldSteps'] as number };
}

/** One paragraph for a metric exporter's --help: what the selection does and what the others series are; `ending` says how a series ends. */
export function selectionHelp(ending: string): string {
  return (
    '\nProcess selection (--max-top-consumers, --min-process-power, --process-regex, --exclude-process-regex):\n' +
    'only the kept processes get series; the rest roll up into scaph_process_others_power_microwatts,\n' +
    '_energy_microjoules and _count, so kept + others = the power of all processes, exactly (the same for\n' +
    'containers, pods, namespaces and units with --containers), and the energy too: a kept process\'s energy\n' +
    'counts the steps it was sent, the rest is in the others. A process that stops qualifying keeps its\n' +
    `series --selection-hold-steps more steps (default ${DEFAULT_HOLD_STEPS}), so series do not flap.\nWhen it leaves, ${ending}.\n` +
    'The regexes are RE2 (as in Prometheus; no backreferences or lookaround), matched anywhere in the\n' +
    'executable name or command line; repeat a flag to give several (any of them).\n'
  );
}
