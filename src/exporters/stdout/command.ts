import { StdoutExporter } from './exporter.js';
import { commonSettings, runDurationMs, type ExporterSettings, type LocalExporterCommand } from '../command.js';
import { nonNegativeInt, positiveSeconds, untilStoppedSeconds } from '../parse.js';
import { switchOption, valueOption } from '../../config/declared-options.js';
import { FILTER_OPTIONS, filterHelp, filterSettings } from '../filter-options.js';
import { CONTAINER_REGEX_OPTION, listedSelection, selectionOptions, type SelectionSpelling } from '../selection-options.js';
import type { SelectionOptions } from '../../core/process-selection.js';
import { UsageError } from '../../core/errors.js';

/**
 * Scaphandre's stdout spelling: `-p, --process-number` (5 by default) and `-r, --regex-filter`; the shared
 * names --max-top-consumers and --process-regex are accepted on the command line as their aliases, and so
 * are Scaphandre 1.0's --processes and 0.5's --process and --regex. The table lists the top n each step: no hold.
 */
const SPELLING: SelectionSpelling = {
  top: '-p, --process-number <n>',
  topAliases: [
    { flags: '--max-top-consumers <n>', why: 'the name the other exporters use' },
    { flags: '--processes <n>', why: "Scaphandre 1.0's spelling" },
    { flags: '--process <n>', why: "Scaphandre 0.5's spelling" },
  ],
  topDefault: 5,
  include: '-r, --regex-filter <regex>',
  includeAliases: [
    { flags: '--process-regex <regex>', why: 'the name the other exporters use' },
    { flags: '--regex <regex>', why: "Scaphandre 0.5's spelling" },
  ],
  holdDefault: 0,
};

export interface StdoutSettings extends ExporterSettings {
  /** The table's top consumers (5 by default); null with --raw-metrics, which prints every process, as Scaphandre does. */
  readonly selection: SelectionOptions | null;
  readonly rawMetrics: boolean;
  readonly maxCmdlineLength: number;
}

const OPTIONS = {
  timeout: valueOption('-t, --timeout <seconds>', 'stop after this many seconds; 0 or negative = run until Ctrl-C', untilStoppedSeconds('-t/--timeout'), {
    unit: 'seconds',
    role: 'run-duration',
    default: 10,
  }),
  step: valueOption('-s, --step <seconds>', 'seconds between two measurements (decimals allowed)', positiveSeconds('-s/--step'), { unit: 'seconds', role: 'step', default: 2 }),
  ...selectionOptions(SPELLING),
  containerRegex: CONTAINER_REGEX_OPTION,
  rawMetrics: switchOption('--raw-metrics', 'print every metric (name, labels, value) of every process instead of the table', { showDefault: true }),
  maxCmdlineLength: valueOption('--max-cmdline-length <n>', 'cap the cmdline label in --raw-metrics (0 = no cap)', nonNegativeInt('--max-cmdline-length'), {
    unit: 'characters',
    default: 256,
  }),
  qemu: switchOption('-q, --qemu', 'label qemu-system processes with their VM name', { showDefault: true }),
  containers: switchOption('--containers', 'label processes with their container, pod or systemd unit', { showDefault: true }),
  ...FILTER_OPTIONS,
};

export const stdoutCommand: LocalExporterCommand<StdoutSettings, typeof OPTIONS> = {
  name: 'stdout',
  summary: 'Print host, socket, domain and top-process power in the terminal',
  push: false,
  defaultLogLevel: 'warn',
  options: OPTIONS,
  helpText:
    '\nThe table lists the selected processes (the top -p, 5 by default), then "others": the power of the\n' +
    'processes it does not list, so the column adds up to host power with the unattributed line.\n' +
    '--raw-metrics prints every process, as Scaphandre does.\n' +
    `${filterHelp(' (--raw-metrics only)')}\n` +
    'Examples:\n  sudo scaph stdout -t 30 -s 1 -p 10 -r firefox\n  sudo scaph stdout -p 10 --exclude-process-regex \'^kworker\'\n' +
    '  sudo scaph stdout -t 0                      # until Ctrl-C (Scaphandre\'s "display top consumers infinitely")\n',
  settings: (v) => {
    const filter = filterSettings(v);
    if (filter.metricFilter !== null && !v.rawMetrics) {
      throw new UsageError('--keep-metrics, --drop-metrics and --drop-labels filter the metrics of --raw-metrics: add --raw-metrics (the table shows no metric names or labels)');
    }
    // -p has a default: the table always lists the top n; --raw-metrics prints every process, as Scaphandre does.
    const selection = listedSelection(v, v.containers);
    return {
      ...commonSettings(v.step, v),
      ...filter,
      durationMs: runDurationMs(v.timeout),
      selection: v.rawMetrics ? null : selection,
      rawMetrics: v.rawMetrics,
      maxCmdlineLength: v.maxCmdlineLength,
    };
  },
  create: async (s, ctx) => ({
    kind: 'local',
    exporter: new StdoutExporter({ selection: s.selection, rawMetrics: s.rawMetrics, view: ctx.view, write: (text) => process.stdout.write(text) }),
  }),
};
