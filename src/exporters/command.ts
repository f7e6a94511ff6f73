import { Command, type OptionValues } from 'commander';
import { addDeclaredOptions, declaredValues, type OptionTable, type ValuesOf } from '../config/declared-options.js';
import type { Exporter } from '../core/exporter.js';
import type { Logger } from '../core/log.js';
import type { PushExporter } from '../delivery/push-exporter.js';
import type { BackoffOptions } from '../delivery/retry.js';

/** What building an exporter gets from the agent and the environment. */
export interface CommandContext {
  readonly logger: Logger;
  readonly hostname: string;
  readonly version: string;
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
}

/** What every push exporter's settings hold besides: the delivery core's retry waits (--min-backoff, --max-backoff). */
export interface PushSettings extends ExporterSettings {
  readonly backoff: BackoffOptions;
}

interface CommandSpecBase<S extends ExporterSettings, D extends OptionTable> {
  readonly name: string;
  /** Other names of the subcommand on the command line (warp10: `warpten`, Scaphandre 1.0's); a file's `type` uses the name. */
  readonly aliases?: readonly string[];
  readonly summary: string;
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
}

/** An exporter that prints, serves or writes locally: its delivery does not go through the delivery core. */
export interface LocalExporterCommand<S extends ExporterSettings = ExporterSettings, D extends OptionTable = OptionTable> extends CommandSpecBase<S, D> {
  readonly push: false;
  create(settings: S, ctx: CommandContext): Promise<Exporter>;
}

/**
 * A push exporter: it goes through the delivery core's queue, so a disk spool (`spool_dir`) can back it,
 * and its settings are PushSettings: they carry the core's backoff (addBackoffOptions, pushSettings in backoff.ts).
 */
export interface PushExporterCommand<S extends ExporterSettings = ExporterSettings, D extends OptionTable = OptionTable> extends CommandSpecBase<S, D> {
  readonly push: true;
  create(settings: S, ctx: CommandContext): Promise<PushExporter>;
}

/** One exporter subcommand: its capabilities, options, typed settings and how to build the exporter. */
export type ExporterCommandSpec<S extends ExporterSettings = ExporterSettings, D extends OptionTable = OptionTable> = LocalExporterCommand<S, D> | PushExporterCommand<S, D>;

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
