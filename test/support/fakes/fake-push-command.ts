import { choiceOption, repeatableOption, switchOption, textOption, valueOption } from '../../../src/config/declared-options.js';
import type { PushExporterCommand, PushSettings } from '../../../src/exporters/command.js';
import { keyValue, positiveSeconds } from '../../../src/exporters/parse.js';
import { createPushExporter, type PushExporter } from '../../../src/delivery/push-exporter.js';
import { FakeTransport } from './fake-transport.js';

/** What each fake exporter was built with, by its --url (tests look their transport up here). */
export const built = new Map<string, { transport: FakeTransport; exporter: PushExporter; opts: Record<string, unknown> }>();

/**
 * A push exporter subcommand like remote-write's (required --url, token file, TLS file, repeatable
 * labels, choices), over a scripted FakeTransport: `--mode hang` is a dead backend that never answers.
 */
export interface FakePushSettings extends PushSettings {
  readonly url: string;
  readonly mode: 'ok' | 'hang';
  /** Every option value commander parsed. */
  readonly opts: Record<string, unknown>;
}

const OPTIONS = {
  url: textOption('-u, --url <url>', 'where to push', { mandatory: true }),
  mode: choiceOption('--mode <mode>', 'ok or hang', ['ok', 'hang'] as const, { default: 'ok' }),
  step: valueOption('-s, --step <seconds>', 'step', positiveSeconds('--step'), { unit: 'seconds', role: 'step', default: 2 }),
  writeTokenFile: textOption('--write-token-file <path>', 'token file', { role: 'input-file' }),
  password: textOption('--password <password>', 'a secret', { role: 'secret' }),
  ca: textOption('--ca <path>', 'CA file', { role: 'input-file' }),
  label: repeatableOption('--label <k=v>', 'extra label (repeatable)', keyValue('--label')),
  gzip: switchOption('--gzip', 'compress', { showDefault: true }),
  selfMetrics: switchOption('--no-self-metrics', 'no self metrics'),
  // Off unless asked for (`splay = true`): the tests written before splay time their pushes from the start.
  splay: switchOption('--splay', "send at this host's offset within the step, as a real push exporter does unless --no-splay", { showDefault: true }),
};

export function fakePushCommand(name: string): PushExporterCommand<FakePushSettings, typeof OPTIONS> {
  return {
    name,
    summary: 'fake push exporter (tests)',
    push: true,
    options: OPTIONS,
    helpText: '',
    settings: (v) => {
      // Short waits, so the tests of a failing backend do not wait out the real backoff.
      return { stepMs: v.step * 1000, durationMs: null, qemu: false, containers: false, splay: v.splay, backoff: { minDelayMs: 50, maxDelayMs: 200 }, url: v.url, mode: v.mode, opts: { ...v } };
    },
    create: async (s, ctx) => {
      const transport = new FakeTransport([], s.mode === 'hang' ? 'hang' : { kind: 'ok' });
      const exporter = createPushExporter(transport, { logger: ctx.logger, timeoutMs: 60_000, backoff: s.backoff });
      built.set(s.url, { transport, exporter, opts: s.opts });
      return exporter;
    },
  };
}
