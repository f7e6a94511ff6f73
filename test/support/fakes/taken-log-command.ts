import { appendFileSync } from 'node:fs';
import { textOption, valueOption } from '../../../src/config/declared-options.js';
import type { ExporterSettings, LocalExporterCommand } from '../../../src/exporters/command.js';

/**
 * An exporter that appends each sample's timestamp to a file, synchronously. Listed after the spooled
 * exporter, it writes only once the spool has the sample: the test's list of what was "already sampled".
 */
const OPTIONS = {
  path: textOption('--path <file>', 'log file', { mandatory: true, role: 'path' }),
  step: valueOption('--step <seconds>', 'step', Number, { unit: 'seconds', role: 'step', default: 1 }),
};

export const takenLogCommand: LocalExporterCommand<ExporterSettings & { readonly path: string }, typeof OPTIONS> = {
  name: 'taken-log',
  summary: 'log sample timestamps (tests)',
  push: false,
  options: OPTIONS,
  helpText: '',
  settings: (v) => ({ stepMs: v.step * 1000, durationMs: null, qemu: false, containers: false, path: v.path }),
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
