import { JsonExporter } from './exporter.js';
import { commonSettings, runDurationMs, type ExporterSettings, type LocalExporterCommand } from '../command.js';
import { UsageError } from '../../core/errors.js';
import { quoted } from '../../core/quoted.js';
import { decimalNumber, MAX_SECONDS, nonNegativeInt, signedSeconds, stepMsFrom } from '../parse.js';
import { switchOption, textOption, valueOption } from '../../config/declared-options.js';
import { CONTAINER_REGEX_OPTION, listedSelection, selectionOptions, type SelectionSpelling } from '../selection-options.js';
import type { SelectionOptions } from '../../core/process-selection.js';

/**
 * Scaphandre's json spelling: `-m, --max-top-consumers` (10 by default), `-r, --process-regex` and 1.0's
 * `--container-regex`; a report lists the top n, no hold.
 */
const SPELLING: SelectionSpelling = { top: '-m, --max-top-consumers <n>', topDefault: 10, include: '-r, --process-regex <regex>', holdDefault: 0 };

export interface JsonSettings extends ExporterSettings {
  readonly file: string | null;
  /** The report's top consumers (10 by default, so always set); its metrics view selects them. */
  readonly selection: SelectionOptions | null;
  readonly resources: boolean;
  readonly maxCmdlineLength: number;
}

const OPTIONS = {
  timeout: valueOption('-t, --timeout <seconds>', 'stop after this many seconds; negative = run until SIGINT/SIGTERM', signedSeconds('-t/--timeout'), {
    unit: 'seconds',
    role: 'run-duration',
    default: 10,
  }),
  step: valueOption('-s, --step <seconds>', 'seconds between two measurements (whole or decimal)', stepSeconds, { unit: 'seconds', role: 'step', default: 2 }),
  stepNano: valueOption('-n, --step-nano <ns>', 'nanoseconds added to --step, e.g. -s 0 -n 100000000 for 100 ms', nonNegativeInt('-n/--step-nano'), {
    unit: 'nanoseconds',
    role: 'step-fraction',
    default: 0,
    aliases: [{ flags: '--step_nano <ns>' }],
  }),
  file: textOption('-f, --file <path>', 'write to this file instead of stdout (truncated at start)', { role: 'path' }),
  ...selectionOptions(SPELLING),
  containerRegex: CONTAINER_REGEX_OPTION,
  resources: switchOption('--resources', 'add CPU and memory usage of each consumer', { showDefault: true }),
  containers: switchOption('--containers', 'add the container, pod or systemd unit of each consumer', { showDefault: true }),
  maxCmdlineLength: valueOption('--max-cmdline-length <n>', 'cap each consumer cmdline (0 = no cap)', nonNegativeInt('--max-cmdline-length'), { unit: 'characters', default: 0 }),
  qemu: switchOption('-q, --qemu', 'label qemu-system processes with their VM name', { showDefault: true }),
};

export const jsonCommand: LocalExporterCommand<JsonSettings, typeof OPTIONS> = {
  name: 'json',
  summary: 'Write reports as one JSON array, to stdout or a file',
  push: false,
  defaultLogLevel: 'warn',
  options: OPTIONS,
  helpText:
    '\nThe output is a JSON array that stays valid when the run is stopped by SIGINT or SIGTERM.\n' +
    'Each report lists the selected consumers (the top -m, 10 by default) and, in "others", the power, energy\n' +
    'and count of the processes it does not list: consumers + others + unattributed = host consumption.\n' +
    'Examples:\n  sudo scaph json -t 60 -s 5 -f /tmp/power.json --resources\n' +
    '  sudo scaph json -t 10 -s 0 -n 100000000        # a report every 100 ms for 10 s\n' +
    "  sudo scaph json -m 20 --min-process-power 0.5 --exclude-process-regex '^kworker'\n" +
    "  sudo scaph json --containers --container-regex '^web'   # only the processes of containers named web...\n",
  settings: (v) => ({
    ...commonSettings(v.step, v),
    stepMs: stepMsFrom(v.step, v.stepNano),
    durationMs: runDurationMs(v.timeout),
    file: v.file ?? null,
    // -m has a default: the report always lists the top n.
    selection: listedSelection(v, v.containers),
    resources: v.resources,
    maxCmdlineLength: v.maxCmdlineLength,
  }),
  create: async (s, ctx) => ({
    kind: 'local',
    exporter: new JsonExporter({ file: s.file, view: ctx.view, resources: s.resources, containers: s.containers, maxCmdlineLength: s.maxCmdlineLength }),
  }),
};

/**
 * Scaphandre's json accepts -s 0 with --step-nano; allow 0 here and check the sum in stepMsFrom. Above
 * MAX_SECONDS is refused here, naming -s (and its key in a file), not only by the sum's check.
 */
function stepSeconds(value: string): number {
  const n = decimalNumber(value);
  if (!(n >= 0)) throw new UsageError(`-s/--step must be a number of seconds >= 0 (0 with -n/--step-nano), got ${quoted(value)}`);
  if (n > MAX_SECONDS) throw new UsageError(`-s/--step must be at most ${MAX_SECONDS} seconds (about 24.8 days), got ${quoted(value)}`);
  return n;
}
