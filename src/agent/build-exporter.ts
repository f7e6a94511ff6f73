import type { ExporterConfig, SpoolConfig } from '../config/run-config.js';
import type { Exporter } from '../core/exporter.js';
import type { Logger } from '../core/log.js';
import type { PushExporter } from '../delivery/push-exporter.js';
import { SpooledExporter } from '../delivery/spooled-exporter.js';
import { MetricsView } from '../core/metrics-view.js';
import { metricsViewOptions, type CommandContext, type ExporterContext } from '../exporters/command.js';

/** An exporter as its spec builds it: a push exporter (which a spool may back) or a local one. */
export type BuiltExporter = { readonly push: true; readonly exporter: PushExporter } | { readonly push: false; readonly exporter: Exporter };

/** Builds one [[exporter]]'s exporter with its own metrics view (reads its TLS and secret files); no spool yet. */
export async function buildExporter(e: ExporterConfig, ctx: CommandContext): Promise<BuiltExporter> {
  const spec = e.spec;
  const exporterCtx: ExporterContext = { ...ctx, view: new MetricsView(metricsViewOptions(e.settings, ctx.version)) };
  return spec.push ? { push: true, exporter: await spec.create(e.settings, exporterCtx) } : { push: false, exporter: await spec.create(e.settings, exporterCtx) };
}

/** The exporter with its disk spool in front, when it has one (opening the spool takes its lock). */
export function withSpool(built: BuiltExporter, spool: SpoolConfig | null, logger: Logger): Exporter {
  if (!built.push || !spool) return built.exporter;
  return new SpooledExporter(built.exporter, { dir: spool.dir, maxBytes: spool.maxBytes, maxAgeMs: spool.maxAgeMs, logger });
}

/** Builds one exporter; a push exporter with spool_dir gets its disk spool in front of its queue. */
export async function createExporter(e: ExporterConfig, ctx: CommandContext): Promise<Exporter> {
  return withSpool(await buildExporter(e, ctx), e.spool, ctx.logger);
}
