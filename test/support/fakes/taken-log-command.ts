import { appendFileSync } from 'node:fs';
import type { ExporterSettings, LocalExporterCommand } from '../../../src/exporters/command.js';

/**
 * An exporter that appends each sample's timestamp to a file, synchronously. Listed after the spooled
 * exporter, it writes only once the spool has the sample: the test's list of what was "already sampled".
 */
export const takenLogCommand: LocalExporterCommand<ExporterSettings & { readonly path: string }> = {
  name: 'taken-log',
  summary: 'log sample timestamps (tests)',
  push: false,
  stepOption: '--step',
  configure: (cmd) => cmd.requiredOption('--path <file>', 'log file').option('--step <seconds>', 'step', Number, 1),
  settings: (opts) => ({ stepMs: (opts['step'] as number) * 1000, durationMs: null, qemu: false, containers: false, path: opts['path'] as string }),
  create: async (s) => ({
    kind: 'local',
    exporter: {
      name: 'taken-log',
      start: async () => undefined,
      stop: async () => undefined,
      export: (sample) => appendFileSync(s.path, `${sample.timestampMs}\n`),
    },
  }),
};
