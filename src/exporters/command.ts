import { Command, type OptionValues } from 'commander';
import { addDeclaredOptions, declaredValues, type OptionTable, type ValuesOf } from '../config/declared-options.js';
import type { Exporter } from '../core/exporter.js';
import type { Logger } from '../core/log.js';
import type { MetricFilter } from '../core/metric-filter.js';
import type { MetricsView, MetricsViewOptions } from '../core/metrics-view.js';
import type { SelectionOptions } from '../core/process-selection.js';
import type { DeliveryTuning } from '../delivery/push-exporter.js';
import type { BackoffOptions } from '../delivery/retry.js';
import type { Transport } from '../delivery/transport.js';

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
  /** Push exporters: the delivery core's waits between failed attempts (backoff.ts); absent: the core's default. */
  readonly backoff?: BackoffOptions;
}

/** What every push exporter's settings hold besides: the delivery core's retry waits (--min-backoff, --max-backoff). */
export interface PushSettings extends ExporterSettings {
  readonly backoff: BackoffOptions;
}

/** What a local exporter's create gives the agent: the exporter, which prints, serves or writes (stdout, json, prometheus, qemu). */
export interface LocalOutput {
  readonly kind: 'local';
  readonly exporter: Exporter;
}

/**
 * What a push exporter's create gives the agent: its transport (encode, send) and how its queue is sized;
 * the agent puts the delivery core in front (queue, retry, self-metrics, and the disk spool of a spool_dir).
 */
export interface PushOutput {
  readonly kind: 'push';
  readonly transport: Transport<unknown>;
  readonly delivery?: DeliveryTuning;
}

/** What a spec's create gives: a push spec a transport, any other an exporter. */
export type ExporterOutput<P extends boolean = boolean> = P extends true ? PushOutput : LocalOutput;

/**
 * One exporter subcommand: its options, its typed settings, and what it hands the agent, which attaches
 * every exporter the one way (src/agent/attach.ts): a metrics view built from the settings, then the
 * output of create, then for a push exporter the delivery core and its spool, then its step.
 */
export interface ExporterCommandSpec<S extends ExporterSettings = ExporterSettings, P extends boolean = boolean, D extends OptionTable = OptionTable> {
  readonly name: string;
  /** Other names of the subcommand on the command line (warp10: `warpten`, Scaphandre 1.0's); a file's `type` uses the name. */
  readonly aliases?: readonly string[];
  readonly summary: string;
  /**
   * It goes through the delivery core (remote-write, riemann, warp10, prometheus-push), so a disk spool
   * (`spool_dir`) can back it: known before anything is built, for `scaph run --check`.
   */
  readonly push: P;
  /**
   * The subcommand's options, declared once (config/declared-options.ts): the command line's flags and an
   * [[exporter]]'s keys. One has the role `step` (a file's `step` key sets it too); one may have
   * `run-duration` (no file key: `scaph run` runs until stopped) and `step-fraction`.
   */
  readonly options: D;
  /** What --help says after the options: how it works, examples. */
  readonly helpText: string;
  /**
   * The log level without -v (default `info`: under systemd an operator sees that deliveries work). `warn`
   * for exporters whose output is for a person at the terminal (stdout, json): only what goes wrong.
   */
  readonly defaultLogLevel?: 'info' | 'warn';
  /**
   * The options' typed values -> this exporter's typed settings. No I/O (files are read in create);
   * throws a UsageError for flags that do not go together.
   */
  settings(values: ValuesOf<D>): S;
  /** Builds what the agent attaches (reads TLS and secret files; opens no connection, writes nothing yet). */
  create(settings: S, ctx: ExporterContext): Promise<ExporterOutput<P>>;
}

/** An exporter that prints, serves or writes locally: its delivery does not go through the delivery core. */
export type LocalExporterCommand<S extends ExporterSettings = ExporterSettings, D extends OptionTable = OptionTable> = ExporterCommandSpec<S, false, D>;

/** A push exporter: its settings carry the core's backoff (BACKOFF_OPTIONS, pushSettings in backoff.ts). */
export type PushExporterCommand<S extends PushSettings = PushSettings, D extends OptionTable = OptionTable> = ExporterCommandSpec<S, true, D>;

/** The options every exporter that measures processes has: --qemu and --containers. */
export interface LabelValues {
  readonly qemu: boolean;
  readonly containers: boolean;
}

/**
 * The settings every exporter has: the step (seconds), --qemu and --containers, and no run duration (set
 * `durationMs` after for stdout/json's -t).
 */
export function commonSettings(stepS: number, values: Partial<LabelValues> = {}): ExporterSettings {
  return { stepMs: stepS * 1000, durationMs: null, qemu: values.qemu === true, containers: values.containers === true };
}

/**
 * The one place an exporter's metrics view options are made: from its settings (qemu, containers, the
 * cmdline cap, the process selection, the filters) and scaph's version. The agent builds each exporter's
 * MetricsView with it (src/agent/attach.ts).
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

/** A run-duration option's value (s) as ms; 0 (stdout's -t 0) or negative = until stopped (null). */
export function runDurationMs(seconds: number): number | null {
  return seconds <= 0 ? null : seconds * 1000;
}

/** The exporter types that may take a spool: those whose spec says it pushes. */
export function pushTypes(commands: readonly ExporterCommandSpec[]): ReadonlySet<string> {
  return new Set(commands.filter((c) => c.push).map((c) => c.name));
}

/** The subcommand's options and help added to `cmd` (the CLI's subcommand, or a file's parser: specCommand). */
export function commandFor(spec: ExporterCommandSpec, cmd: Command = new Command(spec.name)): Command {
  return addDeclaredOptions(cmd, spec.options).addHelpText('after', spec.helpText);
}

/** The spec's typed settings from what commander parsed for its options. */
export function settingsFrom<S extends ExporterSettings>(spec: ExporterCommandSpec<S>, values: OptionValues): S {
  return spec.settings(declaredValues(spec.options, values));
}
