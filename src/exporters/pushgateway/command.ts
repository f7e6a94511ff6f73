import { UsageError } from '../../core/errors.js';
import { PUSHGATEWAY_DELIVERY, PushgatewayTransport } from './transport.js';
import type { PushExporterCommand, PushSettings } from '../command.js';
import { BACKOFF_HELP, PUSH_OPTIONS, pushSettings } from '../backoff.js';
import { SPLAY_HELP } from '../splay-option.js';
import { switchOption, textOption, valueOption } from '../../config/declared-options.js';
import { FILTER_HELP, FILTER_OPTIONS, filterSettings } from '../filter-options.js';
import { destinationPort, hostName, nonNegativeInt, positiveSeconds, urlPathSuffix } from '../parse.js';
import { selectionOptions, selectionSettings, selectionHelp } from '../selection-options.js';

export interface PushgatewaySettings extends PushSettings {
  readonly baseUrl: string;
  readonly suffix: string;
  readonly job: string;
  readonly tlsCheck: boolean;
  readonly deleteOnExit: boolean;
  readonly maxCmdlineLength: number;
}

const OPTIONS = {
  host: valueOption('-H, --host <host>', 'Pushgateway host name or address', hostName('-H/--host'), { default: 'localhost' }),
  port: valueOption('-p, --port <port>', 'Pushgateway port', destinationPort('-p/--port'), { unit: 'port', default: 9091 }),
  suffix: valueOption('--suffix <path>', 'API path prefix on the Pushgateway', urlPathSuffix('--suffix'), { default: 'metrics' }),
  scheme: valueOption('-S, --scheme <scheme>', 'http or https', scheme, { default: 'http' }),
  step: valueOption('-s, --step <seconds>', 'seconds between two measurements (one push each)', positiveSeconds('-s/--step'), { unit: 'seconds', role: 'step', default: 30 }),
  job: textOption('-j, --job <name>', 'job label of the pushed group', { default: 'scaphandre' }),
  tlsCheck: switchOption('--no-tls-check', 'with https: do not verify the Pushgateway certificate (test setups only)'),
  deleteOnExit: switchOption('--delete-on-exit', 'delete the pushed group when scaph stops (SIGINT/SIGTERM)', { showDefault: true }),
  maxCmdlineLength: valueOption('--max-cmdline-length <n>', 'cap the cmdline label at this many characters (0 = no cap)', nonNegativeInt('--max-cmdline-length'), {
    unit: 'characters',
    default: 256,
  }),
  qemu: switchOption('-q, --qemu', 'label qemu-system processes with their VM name (vmname label)', { showDefault: true }),
  containers: switchOption('--containers', 'label processes with their container, pod or systemd unit', { showDefault: true }),
  ...selectionOptions(),
  ...PUSH_OPTIONS,
  ...FILTER_OPTIONS,
};

export const prometheusPushCommand: PushExporterCommand<PushgatewaySettings, typeof OPTIONS> = {
  name: 'prometheus-push',
  summary: 'Push the latest measurements to a Prometheus Pushgateway',
  push: true,
  options: OPTIONS,
  helpText:
    '\nEach push replaces the group job=<job>, instance=<host name> (PUT). A failed push is retried;\n' +
    'only the newest sample is kept meanwhile.\n' +
    BACKOFF_HELP +
    SPLAY_HELP +
    FILTER_HELP +
    selectionHelp('its series leave the pushed group (each push replaces it)') +
    'Example:\n  sudo scaph prometheus-push -H pushgateway.example -p 9091 -s 30 --delete-on-exit\n',
  settings: (v) => ({
    ...pushSettings(v, v.step),
    ...filterSettings(v),
    baseUrl: `${v.scheme}://${v.host.includes(':') && !v.host.startsWith('[') ? `[${v.host}]` : v.host}:${v.port}`,
    suffix: v.suffix,
    job: v.job,
    tlsCheck: v.tlsCheck,
    deleteOnExit: v.deleteOnExit,
    maxCmdlineLength: v.maxCmdlineLength,
    selection: selectionSettings(v),
  }),
  create: async (s, ctx) => ({
    kind: 'push',
    transport: new PushgatewayTransport(
      {
        baseUrl: s.baseUrl,
        suffix: s.suffix,
        job: s.job,
        instance: ctx.hostname,
        version: ctx.version,
        // A push slower than the step is superseded by the next sample anyway.
        timeoutMs: Math.min(10_000, Math.max(1000, s.stepMs)),
        tls: s.tlsCheck ? undefined : { rejectUnauthorized: false },
        deleteOnExit: s.deleteOnExit,
      },
      ctx.logger,
    ),
    delivery: PUSHGATEWAY_DELIVERY,
  }),
};

function scheme(value: string): string {
  if (value !== 'http' && value !== 'https') throw new UsageError(`-S/--scheme must be http or https, got "${value}"`);
  return value;
}
