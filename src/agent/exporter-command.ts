import type { OptionValues } from 'commander';
import type { ExporterConfig } from '../config/run-config.js';
import type { Logger } from '../core/log.js';
import { settingsFrom, type ExporterCommandSpec } from '../exporters/command.js';
import { VERSION } from '../core/version.js';
import { runAgent, type AgentGlobals } from './assemble.js';

/**
 * `scaph <exporter> [flags]`: a one-entry run config (the sensor samples at the subcommand's step, and no
 * spool), run through the same assembly as `scaph run`, for the subcommand's run duration.
 */
export async function runExporterCommand(spec: ExporterCommandSpec, values: OptionValues, globals: AgentGlobals, logger: Logger): Promise<void> {
  const settings = settingsFrom(spec, values);
  const entry: ExporterConfig = { index: 0, type: spec.name, spec, opts: values, settings, stepMs: settings.stepMs, spool: null };
  await runAgent({ sensor: { stepMs: settings.stepMs }, exporters: [entry] }, globals, logger, {}, {
    durationMs: settings.durationMs,
    banner: () => `scaph ${VERSION}: ${spec.name} exporter, sensor ${globals.sensor.vm ? 'vm tree' : globals.sensor.kind}`,
  });
}
