import { UsageError } from '../core/errors.js';
import { PushgatewayExporter } from '../exporters/pushgateway.js';
import type { ExporterCommandSpec } from './command.js';
import { addBackoffOptions, BACKOFF_HELP, backoffFrom } from './backoff.js';
import { destinationPort, nonNegativeInt, positiveSeconds, urlPathSuffix } from './parse.js';

export const prometheusPushCommand: ExporterCommandSpec = {
  name: 'prometheus-push',
  summary: 'Push the latest measurements to a Prometheus Pushgateway',
  configure: (cmd) =>
    addBackoffOptions(cmd
      .option('-H, --host <host>', 'Pushgateway host name or address', 'localhost')
      .option('-p, --port <port>', 'Pushgateway port', destinationPort('-p/--port'), 9091)
      .option('--suffix <path>', 'API path prefix on the Pushgateway', urlPathSuffix('--suffix'), 'metrics')
      .option('-S, --scheme <scheme>', 'http or https', scheme, 'http')
      .option('-s, --step <seconds>', 'seconds between two measurements (one push each)', positiveSeconds('-s/--step'), 30)
      .option('-j, --job <name>', 'job label of the pushed group', 'scaphandre')
      .option('--no-tls-check', 'with https: do not verify the Pushgateway certificate (test setups only)')
      .option('--delete-on-exit', 'delete the pushed group when scaph stops (SIGINT/SIGTERM)', false)
      .option('--max-cmdline-length <n>', 'cap the cmdline label at this many characters (0 = no cap)', nonNegativeInt('--max-cmdline-length'), 256)
      .option('-q, --qemu', 'label qemu-system processes with their VM name (vmname label)', false)
      .option('--containers', 'label processes with their container, pod or systemd unit', false))
      .addHelpText(
        'after',
        '\nEach push replaces the group job=<job>, instance=<host name> (PUT). A failed push is retried;\n' +
          'only the newest sample is kept meanwhile.\n' +
          BACKOFF_HELP +
          'Example:\n  sudo scaph prometheus-push -H pushgateway.example -p 9091 -s 30 --delete-on-exit\n',
      ),
  create: async (opts, ctx) => {
    const containers = opts['containers'] === true;
    const qemu = ctx.qemu || opts['qemu'] === true;
    const host = opts['host'] as string;
    const stepMs = (opts['step'] as number) * 1000;
    return {
      exporter: new PushgatewayExporter({
        pushgateway: {
          baseUrl: `${opts['scheme'] as string}://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${opts['port'] as number}`,
          suffix: opts['suffix'] as string,
          job: opts['job'] as string,
          instance: ctx.hostname,
          version: ctx.version,
          // A push slower than the step is superseded by the next sample anyway.
          timeoutMs: Math.min(10_000, Math.max(1000, stepMs)),
          tls: opts['tlsCheck'] === false ? { rejectUnauthorized: false } : undefined,
        },
        deleteOnExit: opts['deleteOnExit'] === true,
        logger: ctx.logger,
        delivery: { backoff: backoffFrom(opts, stepMs) },
        metricsView: { qemu, containers, maxCmdlineLength: opts['maxCmdlineLength'] as number },
      }),
      stepMs,
      durationMs: null,
      qemu,
      containers,
    };
  },
};

function scheme(value: string): string {
  if (value !== 'http' && value !== 'https') throw new UsageError(`-S/--scheme must be http or https, got "${value}"`);
  return value;
}
