import { Option } from 'commander';
import { DEFAULT_HOLD_STEPS, type SelectionOptions } from '../core/process-selection.js';
import { UsageError } from '../core/errors.js';
import { repeatableOption, valueOption, type Spelling, type ValueDecl, type ValuesOf } from '../config/declared-options.js';
import { flagName, nonNegativeInt, nonNegativeWattsAsUw, patterns, positiveInt } from './parse.js';

/**
 * The process selection options every exporter that sends process figures has (all but qemu); in a config
 * file they are the `max_top_consumers`, `min_process_power`, `process_regex`, `exclude_process_regex` and
 * `selection_hold_steps` keys of an [[exporter]] (stdout and json: their own names, below). What they do:
 * src/core/process-selection.ts.
 *
 * The regex options are repeatable (any of the patterns), on the command line and in a file alike
 * (a list), as --keep-metrics and --drop-metrics are: `exclude_process_regex = ["^kworker", "^ksoftirqd"]`
 * leaves out both. Patterns are RE2 (src/core/user-pattern.ts), matched anywhere in the exe or cmdline.
 */
export interface SelectionSpelling {
  /** Flags of the top-N option: Scaphandre's json has `-m, --max-top-consumers`, its stdout `-p, --process-number`. */
  readonly top?: string;
  /** Other spellings of the top-N option (stdout: Scaphandre 0.5's --process, 1.0's --processes). */
  readonly topAliases?: readonly Spelling[];
  /** Its default (json 10, stdout 5); none = every process (the metric exporters, as before). */
  readonly topDefault?: number;
  /** Flags of the include regex: json `-r, --process-regex`, stdout `-r, --regex-filter`. */
  readonly include?: string;
  /** Other spellings of the include regex (stdout: Scaphandre 0.5's --regex). */
  readonly includeAliases?: readonly Spelling[];
  /** Default of --selection-hold-steps: DEFAULT_HOLD_STEPS; 0 for the printed top lists (stdout, json). */
  readonly holdDefault?: number;
}

const TOP = '--max-top-consumers <n>';
const INCLUDE = '--process-regex <regex>';

/** The flags of a spelling as a parser's message names them: `-m/--max-top-consumers`. */
function named(flags: string): string {
  return flagName(new Option(flags));
}

/** The selection options' declarations, with the exporter's spelling of those Scaphandre already had. */
export function selectionOptions(spelling: SelectionSpelling = {}) {
  const top = spelling.top ?? TOP;
  const include = spelling.include ?? INCLUDE;
  const topDecl: ValueDecl<number | undefined> = valueOption(
    top,
    'keep only the n processes with the most power (and the n containers, pods, namespaces and units of each kind); the rest are summed up as others',
    positiveInt(named(top)),
    { unit: 'count', default: spelling.topDefault, defaultText: spelling.topDefault === undefined ? 'every process' : undefined, aliases: spelling.topAliases },
  );
  const options = {
    maxTopConsumers: topDecl,
    minProcessPower: valueOption('--min-process-power <watts>', 'keep only processes (and groups) using at least this many watts, e.g. 0.5', nonNegativeWattsAsUw('--min-process-power'), {
      unit: 'watts',
    }),
    processRegex: repeatableOption(
      include,
      'keep only processes whose executable name or command line matches (RE2 syntax; repeatable: any of them)',
      patterns({ flag: named(include), insteadOfLookaround: 'to leave processes out, give --exclude-process-regex' }, 'anywhere'),
      { aliases: spelling.includeAliases },
    ),
    excludeProcessRegex: repeatableOption(
      '--exclude-process-regex <regex>',
      'leave out processes whose executable name or command line matches (RE2 syntax; repeatable: any of them)',
      patterns({ flag: '--exclude-process-regex', insteadOfLookaround: 'to keep only some processes, give --process-regex' }, 'anywhere'),
    ),
    selectionHoldSteps: valueOption(
      '--selection-hold-steps <n>',
      'a kept process or group that no longer qualifies stays kept this many more steps, so processes trading places around the n-th rank do not start and end series (0 = none)',
      nonNegativeInt('--selection-hold-steps'),
      { unit: 'steps', default: spelling.holdDefault ?? DEFAULT_HOLD_STEPS },
    ),
  };
  return options;
}

/**
 * Scaphandre 1.0's json --container-regex (stdout and json have it): only the processes of a container whose
 * name (Docker's, as Scaphandre's container_names) matches; without --containers scaph knows no container
 * names, so it is refused then rather than selecting nothing.
 */
export const CONTAINER_REGEX_OPTION = repeatableOption(
  '--container-regex <regex>',
  "keep only processes in a container whose name (Docker's) matches (RE2 syntax; repeatable: any of them); needs --containers",
  patterns({ flag: '--container-regex', insteadOfLookaround: 'to leave processes out, give --exclude-process-regex' }, 'anywhere'),
);

/** What the selection options give, whichever exporter's spelling. */
export type SelectionValues = ValuesOf<ReturnType<typeof selectionOptions>> & Partial<ValuesOf<{ readonly containerRegex: typeof CONTAINER_REGEX_OPTION }>>;

/** The selection the options ask for; null when none of them selects (every process gets its series, no rollup). */
export function selectionSettings(values: SelectionValues, containers = false): SelectionOptions | null {
  const s = listedSelection(values, containers);
  const selects = s.maxTopConsumers !== null || values.minProcessPower !== undefined || s.include !== null || s.exclude !== null || s.containerInclude !== undefined;
  return selects ? s : null;
}

/**
 * The selection of a printed top list (stdout, json), whose top-N option has a default: there is always
 * one. Refuses --container-regex without --containers, which alone looks up containers.
 */
export function listedSelection(values: SelectionValues, containers: boolean): SelectionOptions {
  const containerInclude = values.containerRegex ?? null;
  if (containerInclude !== null && !containers) {
    throw new UsageError('--container-regex selects processes by the name of their container: add --containers (without it scaph looks up no container)');
  }
  const selection = {
    maxTopConsumers: values.maxTopConsumers ?? null,
    minPowerUw: values.minProcessPower ?? 0,
    include: values.processRegex ?? null,
    exclude: values.excludeProcessRegex ?? null,
    holdSteps: values.selectionHoldSteps,
  };
  return containerInclude === null ? selection : { ...selection, containerInclude };
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
