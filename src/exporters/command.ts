import type { Command, OptionValues } from 'commander';
import type { Exporter } from '../core/exporter.js';
import type { Logger } from '../core/log.js';

/** What an exporter subcommand gets from the global options and the environment. */
export interface CommandContext {
  readonly logger: Logger;
  readonly hostname: string;
  readonly version: string;
  /** --qemu on the subcommand or globally: label qemu processes with their VM name. */
  readonly qemu: boolean;
}

/** What a subcommand builds: the exporter, and how often and how long the loop samples for it. */
export interface ExporterPlan {
  readonly exporter: Exporter;
  readonly stepMs: number;
  /** null = run until SIGINT/SIGTERM. */
  readonly durationMs: number | null;
  /** Ask the sensor to label qemu processes with their VM name. */
  readonly qemu?: boolean;
  /** Ask the sensor to resolve containers (cgroups + runtime metadata). */
  readonly containers?: boolean;
}

/** One exporter subcommand: its options (with help) and how to build the exporter from them. */
export interface ExporterCommandSpec {
  readonly name: string;
  readonly summary: string;
  configure(cmd: Command): Command;
  create(opts: OptionValues, ctx: CommandContext): Promise<ExporterPlan>;
}
