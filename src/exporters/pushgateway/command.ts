import { UsageError } from '../../core/errors.js';
import { PUSHGATEWAY_DELIVERY, PushgatewayTransport } from './transport.js';
import type { PushExporterCommand, PushSettings } from '../command.js';
import { addBackoffOptions, BACKOFF_HELP, pushSettings } from '../backoff.js';
import { addSplayOption, SPLAY_HELP } from '../splay-option.js';
import { addFilterOptions, FILTER_HELP, filterSettings } from '../filter-options.js';
import { destinationPort, hostName, nonNegativeInt, positiveSeconds, urlPathSuffix } from '../parse.js';
import { addSelectionOptions, selectionSettings, selectionHelp } from '../selection-options.js';

export interface PushgatewaySettings extends PushSettings {
  readonly baseUrl: string;
  readonly suffix: string;
  readonly job: string;
  readonly tlsCheck: boolean;
  readonly deleteOnExit: boolean;
  readonly maxCmdlineLength: number;
}

export const prometheusPushCommand: PushExporterCommand<PushgatewaySettings> = {
  name: 'prometheus-push',
  summary: 'Push the latest measurements to a Prometheus Pushgateway',
  push: true,
  stepOption: '--step',
  configure: (cmd) =>
    addFilterOptions(addSplayOption(addBackoffOptions(addSelectionOptions(cmd
      .option('-H, --host <host>', 'Pushgateway host name or address', hostName('-H/--host'), 'localhost')
      .option('-p, --port <port>', 'Pushgateway port', destinationPort('-p/--port'), 9091)
      .option('--suffix <path>', 'API path prefix on the Pushgateway', urlPathSuffix('--suffix'), 'metrics')
      .option('-S, --scheme <scheme>', 'http or https', scheme, 'http')
      .option('-s, --step <seconds>', 'seconds between two measurements (one push each)', positiveSeconds('-s/--step'), 30)
      .option('-j, --job <name>', 'job label of the pushed group', 'scaphandre')
      .option('--no-tls-check', 'with https: do not verify the Pushgateway certificate (test setups only)')
      .option('--delete-on-exit', 'delete the pushed group when scaph stops (SIGINT/SIGTERM)', false)
      .option('--max-cmdline-length <n>', 'cap the cmdline label at this many characters (0 = no cap)', nonNegativeInt('--max-cmdline-length'), 256)
      .option('-q, --qemu', 'label qemu-system processes with their VM name (vmname label)', false)
      .option('--containers', 'label processes with their container, pod or systemd unit', false)))))
      .addHelpText(
        'after',
        '\nEach push replaces the group job=<job>, instance=<host name> (PUT). A failed push is retried;\n' +
          'only the newest sample is kept meanwhile.\n' +
          BACKOFF_HELP +
          SPLAY_HELP +
          FILTER_HELP +
          selectionHelp('its series leave the pushed group (each push replaces it)') +
          'Example:\n  sudo scaph prometheus-push -H pushgateway.example -p 9091 -s 30 --delete-on-exit\n',
      ),
  settings: (opts) => {
    const host = opts['host'] as string;
    return {
      ...pushSettings(opts),
      ...filterSettings(opts),
      baseUrl: `${opts['scheme'] as string}://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${opts['port'] as number}`,
      suffix: opts['suffix'] as string,
      job: opts['job'] as string,
      tlsCheck: opts['tlsCheck'] !== false,
      deleteOnExit: opts['deleteOnExit'] === true,
      maxCmdlineLength: opts['maxCmdlineLength'] as number,
      selection: selectionSettings(opts),
    };
  },
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
