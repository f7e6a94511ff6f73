import { StdoutExporter } from './exporter.js';
import { commonSettings, runDurationMs, type ExporterSettings, type LocalExporterCommand } from '../command.js';
import { addAlias, nonNegativeInt, positiveSeconds, signedSeconds } from '../parse.js';
import { addFilterOptions, filterHelp, filterSettings } from '../filter-options.js';
import { addSelectionOptions, selectionSettings, type SelectionSpelling } from '../selection-options.js';
import type { SelectionOptions } from '../../core/process-selection.js';
import { UsageError } from '../../core/errors.js';

/**
 * Scaphandre's stdout spelling: `-p, --process-number` (5 by default) and `-r, --regex-filter`; the shared
 * names --max-top-consumers and --process-regex are accepted on the command line as their aliases. The
 * table lists the top n each step: no hold.
 */
const SPELLING: SelectionSpelling = { top: '-p, --process-number <n>', topDefault: 5, include: '-r, --regex-filter <regex>', holdDefault: 0 };

export interface StdoutSettings extends ExporterSettings {
  /** The table's top consumers (5 by default); null with --raw-metrics, which prints every process, as Scaphandre does. */
  readonly selection: SelectionOptions | null;
  readonly rawMetrics: boolean;
  readonly maxCmdlineLength: number;
}

export const stdoutCommand: LocalExporterCommand<StdoutSettings> = {
  name: 'stdout',
  summary: 'Print host, socket, domain and top-process power in the terminal',
  push: false,
  stepOption: '--step',
  runDurationOption: '--timeout',
  defaultLogLevel: 'warn',
  configure: (cmd) => {
    addFilterOptions(
      addSelectionOptions(
        cmd
          .option('-t, --timeout <seconds>', 'stop after this many seconds; negative = run until Ctrl-C', signedSeconds('-t/--timeout'), 10)
          .option('-s, --step <seconds>', 'seconds between two measurements (decimals allowed)', positiveSeconds('-s/--step'), 2),
        SPELLING,
      )
        .option('--raw-metrics', 'print every metric (name, labels, value) of every process instead of the table', false)
        .option('--max-cmdline-length <n>', 'cap the cmdline label in --raw-metrics (0 = no cap)', nonNegativeInt('--max-cmdline-length'), 256)
        .option('-q, --qemu', 'label qemu-system processes with their VM name', false)
        .option('--containers', 'label processes with their container, pod or systemd unit', false),
    ).addHelpText(
      'after',
      '\nThe table lists the selected processes (the top -p, 5 by default), then "others": the power of the\n' +
        'processes it does not list, so the column adds up to host power with the unattributed line.\n' +
        '--raw-metrics prints every process, as Scaphandre does.\n' +
        `${filterHelp(' (--raw-metrics only)')}\n` +
        'Examples:\n  sudo scaph stdout -t 30 -s 1 -p 10 -r firefox\n  sudo scaph stdout -p 10 --exclude-process-regex \'^kworker\'\n',
    );
    addAlias(cmd, '--max-top-consumers <n>', '--process-number', 'the name the other exporters use');
    return addAlias(cmd, '--process-regex <regex>', '--regex-filter', 'the name the other exporters use');
  },
  settings: (opts) => {
    const rawMetrics = opts['rawMetrics'] === true;
    const filter = filterSettings(opts);
    if (filter.metricFilter !== null && !rawMetrics) {
      throw new UsageError('--keep-metrics, --drop-metrics and --drop-labels filter the metrics of --raw-metrics: add --raw-metrics (the table shows no metric names or labels)');
    }
    return {
      ...commonSettings(opts),
      ...filter,
      durationMs: runDurationMs(opts['timeout'] as number),
      // -p has a default, so the table always has a selection.
      selection: rawMetrics ? null : selectionSettings(opts, SPELLING),
      rawMetrics,
      maxCmdlineLength: opts['maxCmdlineLength'] as number,
    };
  },
  create: async (s, ctx) => ({
    kind: 'local',
    exporter: new StdoutExporter({ selection: s.selection, rawMetrics: s.rawMetrics, view: ctx.view, write: (text) => process.stdout.write(text) }),
  }),
};
