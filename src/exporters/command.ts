import type { Command, OptionValues } from 'commander';
import type { Exporter } from '../core/exporter.js';
import type { Logger } from '../core/log.js';
import type { MetricFilter } from '../core/metric-filter.js';
import type { MetricsView, MetricsViewOptions } from '../core/metrics-view.js';
import type { SelectionOptions } from '../core/process-selection.js';
import type { PushExporter } from '../delivery/push-exporter.js';
import type { BackoffOptions } from '../delivery/retry.js';

/** What building an exporter gets from the agent and the environment. */
export interface CommandContext {
  readonly logger: Logger;
  readonly hostname: string;
  readonly version: string;
}

/** What one exporter's create gets: the agent's context and the exporter's own metrics view. */
export interface ExporterContext extends CommandContext {
  /** Where the exporter gets its metrics (and its process selection) from: built from its settings by metricsViewOptions. */
  readonly view: MetricsView;
}

/** What every exporter's typed settings hold, whatever else they hold. */
export interface ExporterSettings {
  /** How often the exporter gets a sample (its step option), ms. */
  readonly stepMs: number;
  /** How long a run of this subcommand alone lasts (its run-duration option); null = until SIGINT/SIGTERM. */
  readonly durationMs: number | null;
  /** The sensor must label qemu processes with their VM name. */
  readonly qemu: boolean;
  /** The sensor must resolve containers (cgroups + runtime metadata). */
  readonly containers: boolean;
  /**
   * Push exporters: send at this host's offset within the step rather than from the start (src/agent/splay.ts);
   * on unless --no-splay (`splay = false`). Absent: off.
   */
  readonly splay?: boolean;
  // How its metrics view labels, selects and filters (metricsViewOptions); absent: no cap, every process, no filter.
  /** Cap on the cmdline label (--max-cmdline-length); 0 = no cap. */
  readonly maxCmdlineLength?: number;
  /** The process selection (selection-options.ts); null = every process. */
  readonly selection?: SelectionOptions | null;
  /** The metric and label filters (filter-options.ts); null = everything goes out. */
  readonly metricFilter?: MetricFilter | null;
}

/** What every push exporter's settings hold besides: the delivery core's retry waits (--min-backoff, --max-backoff). */
export interface PushSettings extends ExporterSettings {
  readonly backoff: BackoffOptions;
}

interface CommandSpecBase<S extends ExporterSettings> {
  readonly name: string;
  readonly summary: string;
  /** Long flag of the step option (`--step`; riemann's `--dispatch-interval`): a file's `step` key sets it too. */
  readonly stepOption: string;
  /** Long flag of an option added to the step (json's `--step-nano`): --check names it where the step came from. */
  readonly stepFractionOption?: string;
  /**
   * Long flag of the option saying how long a run lasts (stdout/json `-t, --timeout`), if any:
   * meaningless inside `scaph run`, which runs until stopped, so a file may not set it.
   */
  readonly runDurationOption?: string;
  /**
   * The log level without -v (default `info`: under systemd an operator sees that deliveries work). `warn`
   * for exporters whose output is for a person at the terminal (stdout, json): only what goes wrong.
   */
  readonly defaultLogLevel?: 'info' | 'warn';
  /** Adds the subcommand's options (with help) to `cmd`. */
  configure(cmd: Command): Command;
  /**
   * commander's option values -> this exporter's typed settings. No I/O (files are read in create);
   * throws a UsageError for flags that do not go together.
   */
  settings(values: OptionValues): S;
}

/** An exporter that prints, serves or writes locally: its delivery does not go through the delivery core. */
export interface LocalExporterCommand<S extends ExporterSettings = ExporterSettings> extends CommandSpecBase<S> {
  readonly push: false;
  create(settings: S, ctx: ExporterContext): Promise<Exporter>;
}

/**
 * A push exporter: it goes through the delivery core's queue, so a disk spool (`spool_dir`) can back it,
 * and its settings are PushSettings: they carry the core's backoff (addBackoffOptions, pushSettings in backoff.ts).
 */
export interface PushExporterCommand<S extends ExporterSettings = ExporterSettings> extends CommandSpecBase<S> {
  readonly push: true;
  create(settings: S, ctx: ExporterContext): Promise<PushExporter>;
}

/** One exporter subcommand: its capabilities, options, typed settings and how to build the exporter. */
export type ExporterCommandSpec<S extends ExporterSettings = ExporterSettings> = LocalExporterCommand<S> | PushExporterCommand<S>;

/**
 * The settings every exporter has, from commander's values: the step from the option `stepKey` (seconds),
 * --qemu and --containers, and no run duration (set `durationMs` after for stdout/json's -t).
 */
export function commonSettings(values: OptionValues, stepKey = 'step'): ExporterSettings {
  return { stepMs: (values[stepKey] as number) * 1000, durationMs: null, qemu: values['qemu'] === true, containers: values['containers'] === true };
}

/**
 * The one place an exporter's metrics view options are made: from its settings (qemu, containers, the
 * cmdline cap, the process selection, the filters) and scaph's version. The agent builds each exporter's
 * MetricsView with it (src/agent/build-exporter.ts).
 */
export function metricsViewOptions(s: ExporterSettings, version: string): MetricsViewOptions {
  return {
    qemu: s.qemu,
    containers: s.containers,
    maxCmdlineLength: s.maxCmdlineLength ?? 0,
    selection: s.selection ?? null,
    filter: s.metricFilter ?? null,
    version,
  };
}

/** A run-duration option's value (s) as ms; negative = until stopped (null). */
export function runDurationMs(seconds: number): number | null {
  return seconds < 0 ? null : seconds * 1000;
}

/** The exporter types that may take a spool: those whose spec says it pushes. */
export function pushTypes(commands: readonly ExporterCommandSpec[]): ReadonlySet<string> {
  return new Set(commands.filter((c) => c.push).map((c) => c.name));
}
