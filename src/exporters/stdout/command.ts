import { StdoutExporter } from './exporter.js';
import { commonSettings, runDurationMs, type ExporterSettings, type LocalExporterCommand } from '../command.js';
import { nonNegativeInt, positiveInt, positiveSeconds, regex, signedSeconds } from '../parse.js';
import { addFilterOptions, filterHelp, filterSettings, type FilterSettings } from '../filter-options.js';
import { UsageError } from '../../core/errors.js';

export interface StdoutSettings extends ExporterSettings, FilterSettings {
  readonly topN: number;
  readonly processFilter: RegExp | null;
  readonly rawMetrics: boolean;
  readonly maxCmdlineLength: number;
}

export const stdoutCommand: LocalExporterCommand<StdoutSettings> = {
  name: 'stdout',
  summary: 'Print host, socket, domain and top-process power in the terminal',
  push: false,
  stepOption: '--step',
  runDurationOption: '--timeout',
  configure: (cmd) =>
    addFilterOptions(cmd
      .option('-t, --timeout <seconds>', 'stop after this many seconds; negative = run until Ctrl-C', signedSeconds('-t/--timeout'), 10)
      .option('-s, --step <seconds>', 'seconds between two measurements (decimals allowed)', positiveSeconds('-s/--step'), 2)
      .option('-p, --process-number <n>', 'how many top consumers to list', positiveInt('-p/--process-number'), 5)
      .option('-r, --regex-filter <regex>', 'only list processes whose executable or command line matches', regex('-r/--regex-filter'))
      .option('--raw-metrics', 'print every metric (name, labels, value) instead of the table', false)
      .option('--max-cmdline-length <n>', 'cap the cmdline label in --raw-metrics (0 = no cap)', nonNegativeInt('--max-cmdline-length'), 256)
      .option('-q, --qemu', 'label qemu-system processes with their VM name', false)
      .option('--containers', 'label processes with their container, pod or systemd unit', false))
      .addHelpText('after', `\n${filterHelp(' (--raw-metrics only)')}\nExample:\n  sudo scaph stdout -t 30 -s 1 -p 10 -r firefox\n`),
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
      topN: opts['processNumber'] as number,
      processFilter: (opts['regexFilter'] as RegExp | undefined) ?? null,
      rawMetrics,
      maxCmdlineLength: opts['maxCmdlineLength'] as number,
    };
  },
  create: async (s) =>
    new StdoutExporter({
      topN: s.topN,
      processFilter: s.processFilter,
      rawMetrics: s.rawMetrics,
      metricsView: { qemu: s.qemu, containers: s.containers, maxCmdlineLength: s.maxCmdlineLength, metricFilter: s.metricFilter },
      write: (text) => process.stdout.write(text),
    }),
};
