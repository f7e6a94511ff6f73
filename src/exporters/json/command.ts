import { JsonExporter } from './exporter.js';
import { commonSettings, runDurationMs, type ExporterSettings, type LocalExporterCommand } from '../command.js';
import { UsageError } from '../../core/errors.js';
import { quoted } from '../../core/quoted.js';
import { addAlias, decimalNumber, MAX_SECONDS, nonNegativeInt, signedSeconds, stepMsFrom } from '../parse.js';
import { addSelectionOptions, selectionSettings, type SelectionSpelling } from '../selection-options.js';
import type { SelectionOptions } from '../../core/process-selection.js';

/** Scaphandre's json spelling: `-m, --max-top-consumers` (10 by default) and `-r, --process-regex`; a report lists the top n, no hold. */
const SPELLING: SelectionSpelling = { top: '-m, --max-top-consumers <n>', topDefault: 10, include: '-r, --process-regex <regex>', holdDefault: 0 };

export interface JsonSettings extends ExporterSettings {
  readonly file: string | null;
  /** The report's top consumers (10 by default, so always set); its metrics view selects them. */
  readonly selection: SelectionOptions | null;
  readonly resources: boolean;
  readonly maxCmdlineLength: number;
}

export const jsonCommand: LocalExporterCommand<JsonSettings> = {
  name: 'json',
  summary: 'Write reports as one JSON array, to stdout or a file',
  push: false,
  stepOption: '--step',
  stepFractionOption: '--step-nano',
  runDurationOption: '--timeout',
  defaultLogLevel: 'warn',
  configure: (cmd) =>
    addSelectionOptions(
      addAlias(cmd
        .option('-t, --timeout <seconds>', 'stop after this many seconds; negative = run until SIGINT/SIGTERM', signedSeconds('-t/--timeout'), 10)
        .option('-s, --step <seconds>', 'seconds between two measurements (whole or decimal)', stepSeconds, 2)
        .option('-n, --step-nano <ns>', 'nanoseconds added to --step, e.g. -s 0 -n 100000000 for 100 ms', nonNegativeInt('-n/--step-nano'), 0), '--step_nano <ns>', '--step-nano')
        .option('-f, --file <path>', 'write to this file instead of stdout (truncated at start)'),
      SPELLING,
    )
      .option('--resources', 'add CPU and memory usage of each consumer', false)
      .option('--containers', 'add the container, pod or systemd unit of each consumer', false)
      .option('--max-cmdline-length <n>', 'cap each consumer cmdline (0 = no cap)', nonNegativeInt('--max-cmdline-length'), 0)
      .option('-q, --qemu', 'label qemu-system processes with their VM name', false)
      .addHelpText(
        'after',
        '\nThe output is a JSON array that stays valid when the run is stopped by SIGINT or SIGTERM.\n' +
          'Each report lists the selected consumers (the top -m, 10 by default) and, in "others", the power, energy\n' +
          'and count of the processes it does not list: consumers + others + unattributed = host consumption.\n' +
          'Examples:\n  sudo scaph json -t 60 -s 5 -f /tmp/power.json --resources\n' +
          '  sudo scaph json -t 10 -s 0 -n 100000000        # a report every 100 ms for 10 s\n' +
          '  sudo scaph json -m 20 --min-process-power 0.5 --exclude-process-regex \'^kworker\'\n',
      ),
  settings: (opts) => ({
    ...commonSettings(opts),
    stepMs: stepMsFrom(opts['step'] as number, opts['stepNano'] as number),
    durationMs: runDurationMs(opts['timeout'] as number),
    file: (opts['file'] as string | undefined) ?? null,
    selection: selectionSettings(opts, SPELLING),
    resources: opts['resources'] === true,
    maxCmdlineLength: opts['maxCmdlineLength'] as number,
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
