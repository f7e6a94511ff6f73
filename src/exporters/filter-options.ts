import { UsageError } from '../core/errors.js';
import { dropLabelProblem, metricFilter, type MetricFilter } from '../core/metric-filter.js';
import { isDeliveryFamily, METRIC_FAMILIES } from '../core/metric-families.js';
import { UserPatterns } from '../core/user-pattern.js';
import { repeatableOption, type ValuesOf } from '../config/declared-options.js';

/**
 * The metric and label filters every exporter that encodes the metrics view has (prometheus,
 * prometheus-push, remote-write, riemann, warp10, stdout --raw-metrics); in a config file they are the
 * `keep_metrics`, `drop_metrics` and `drop_labels` keys of an [[exporter]] (a list repeats the flag).
 * Named after Prometheus' relabelling actions (keep, drop, labeldrop), whose regexes also match whole
 * names and are RE2, as ours are (src/core/user-pattern.ts).
 */
export const FILTER_OPTIONS = {
  keepMetrics: repeatableOption(
    '--keep-metrics <regex>',
    'send only the metric families whose whole name matches, e.g. "scaph_(host|process)_power.*" (RE2 syntax; repeatable: any of them)',
    familyRegex('--keep-metrics', 'to leave families out, give --drop-metrics'),
  ),
  dropMetrics: repeatableOption(
    '--drop-metrics <regex>',
    'leave out the metric families whose whole name matches (RE2 syntax; repeatable; applied after --keep-metrics)',
    familyRegex('--drop-metrics', 'to send only some families, give --keep-metrics'),
  ),
  dropLabels: repeatableOption(
    '--drop-labels <names>',
    'remove these labels from every series, comma-separated, e.g. cmdline,exe (repeatable); labels that tell series apart (pid, socket_id...) are refused',
    dropLabels,
  ),
};

/** The filter from those options (shared with every exporter filtering the same way); null: everything goes out. */
export function filterSettings(values: ValuesOf<typeof FILTER_OPTIONS>): { readonly metricFilter: MetricFilter | null } {
  return { metricFilter: metricFilter({ keepMetrics: values.keepMetrics ?? [], dropMetrics: values.dropMetrics ?? [], dropLabels: values.dropLabels ?? [] }) };
}

/** For --help: what the filters do, with an example; `scope` says where they apply when not everywhere. */
export function filterHelp(scope = ''): string {
  return (
    `Filters${scope}, applied before encoding: --keep-metrics, then --drop-metrics (RE2 regexes matching whole\n` +
    'family names, as in Prometheus relabelling), then --drop-labels. scaph_delivery_* are never filtered.\n' +
    "  e.g. --keep-metrics 'scaph_(host|socket|process)_.*' --drop-metrics 'scaph_process_memory_.*' --drop-labels cmdline\n"
  );
}

export const FILTER_HELP = filterHelp();

/** The families a filter acts on: all but the delivery self-metrics. */
const FAMILY_NAMES = Object.keys(METRIC_FAMILIES).filter((name) => !isDeliveryFamily(name));

/**
 * A repeatable regex flag: each value must be a pattern scaph runs (a UserPatternError says why not) and
 * match the whole name of at least one family. The sources are kept: MetricFilter compiles them again,
 * once per spec.
 */
function familyRegex(flag: string, insteadOfLookaround: string): (value: string, previous: string[] | undefined) => string[] {
  return (value, previous) => {
    const re = UserPatterns.compile({ flag, insteadOfLookaround }, [value], 'whole');
    if (!FAMILY_NAMES.some((name) => re.test(name))) {
      throw new UsageError(
        `${flag} "${value}" matches no metric family: it must match a whole name such as scaph_process_power_consumption_microwatts (e.g. "scaph_process_.*"; scaph_delivery_* are never filtered)`,
      );
    }
    return [...(previous ?? []), value];
  };
}

function dropLabels(value: string, previous: string[] | undefined): string[] {
  const names = value.split(',').map((n) => n.trim());
  if (names.some((n) => n === '')) throw new UsageError(`--drop-labels takes label names separated by commas, got "${value}"`);
  for (const name of names) {
    const problem = dropLabelProblem(name);
    if (problem !== null) throw new UsageError(`--drop-labels ${problem}`);
  }
  return [...(previous ?? []), ...names];
}
