/**
 * The one way an exporter is attached to the agent, at start (assemble.ts), on a reload (reload.ts) and
 * for a lone subcommand alike, whatever it is: as OpenTelemetry's meter provider attaches every reader
 * and Vector's topology every sink, the agent does the generic part for all of them.
 *
 * 1. Its metrics view, from its settings (metricsViewOptions): where it gets its metrics and selection.
 * 2. What its spec builds with that view (ExporterCommandSpec.create): an exporter that prints, serves or
 *    writes, or a push transport.
 * 3. A push transport gets the delivery core in front (createPushExporter: queue, retry with the
 *    settings' backoff, self-metrics from the same view), then its disk spool when it has a spool_dir.
 *
 * assemble.ts and reload.ts then feed it at its step (SteppedExporter).
 */
import type { ExporterConfig, SpoolConfig } from '../config/run-config.js';
import type { Exporter } from '../core/exporter.js';
import type { Logger } from '../core/log.js';
import { MetricsView } from '../core/metrics-view.js';
import { createPushExporter, type PushExporter } from '../delivery/push-exporter.js';
import { SpooledExporter } from '../delivery/spooled-exporter.js';
import type { Transport } from '../delivery/transport.js';
import { metricsViewOptions, type CommandContext } from '../exporters/command.js';

/** An exporter as the agent built it, before any spool: a push exporter (which a spool may back) or a local one. */
export type BuiltExporter =
  | { readonly push: true; readonly exporter: PushExporter; readonly transport: Transport<unknown> }
  | { readonly push: false; readonly exporter: Exporter };

/** Builds one [[exporter]]: its view, its spec's output, and for a push transport the delivery core. No spool yet. */
export async function buildExporter(e: ExporterConfig, ctx: CommandContext): Promise<BuiltExporter> {
  const view = new MetricsView(metricsViewOptions(e.settings, ctx.version));
  const output = await e.spec.create(e.settings, { ...ctx, view });
  if (output.kind === 'local') return { push: false, exporter: output.exporter };
  const backoff = e.settings.backoff;
  const exporter = createPushExporter(output.transport, { ...output.delivery, logger: ctx.logger, view, ...(backoff ? { backoff } : {}) });
  return { push: true, exporter, transport: output.transport };
}

/** The exporter with its disk spool in front, when it has one (opening the spool takes its lock). */
export function withSpool(built: BuiltExporter, spool: SpoolConfig | null, logger: Logger): Exporter {
  if (!built.push || !spool) return built.exporter;
  return new SpooledExporter(built.exporter, { dir: spool.dir, maxBytes: spool.maxBytes, maxAgeMs: spool.maxAgeMs, logger });
}

/** Builds one exporter, a push one with its spool_dir's disk spool in front of its queue. */
export async function attachExporter(e: ExporterConfig, ctx: CommandContext): Promise<Exporter> {
  return withSpool(await buildExporter(e, ctx), e.spool, ctx.logger);
}
