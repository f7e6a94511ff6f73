import { UsageError } from '../../core/errors.js';
import { quoted } from '../../core/quoted.js';
import { loadTls, type TlsOptions } from '../../net/tls.js';
import { BASE_TAG } from './events.js';
import { riemannDelivery, RIEMANN_DEFAULTS, RiemannTransport } from './transport.js';
import type { ExporterContext, PushExporterCommand, PushOutput, PushSettings } from '../command.js';
import { BACKOFF_HELP, PUSH_OPTIONS, pushSettings } from '../backoff.js';
import { SPLAY_HELP } from '../splay-option.js';
import { repeatableOption, switchOption, textOption, valueOption, type ValuesOf } from '../../config/declared-options.js';
import { FILTER_HELP, FILTER_OPTIONS, filterSettings } from '../filter-options.js';
import { destinationPort, hostName, nonNegativeInt, positiveInt, positiveSeconds } from '../parse.js';
import { selectionOptions, selectionSettings, selectionHelp } from '../selection-options.js';

const DEFAULT_ADDRESS = 'localhost';

const OPTIONS = {
  address: valueOption(
    '-a, --address <address>',
    `Riemann server name or IP; with TLS, the name checked against its certificate (default: "${DEFAULT_ADDRESS}")`,
    hostName('-a/--address'),
  ),
  port: valueOption('-p, --port <port>', 'Riemann server TCP port (the TLS port is usually 5554)', destinationPort('-p/--port'), { unit: 'port', default: RIEMANN_DEFAULTS.port }),
  dispatchInterval: valueOption('-d, --dispatch-interval <seconds>', 'seconds between two measurements, each sent as one batch of events', positiveSeconds('-d/--dispatch-interval'), {
    unit: 'seconds',
    role: 'step',
    default: 5,
    aliases: [{ flags: '--dispatch <seconds>' }],
  }),
  qemu: switchOption('-q, --qemu', 'label qemu-system processes with their VM name (vmname attribute)', { showDefault: true }),
  containers: switchOption('--containers', 'label processes with their container, pod or systemd unit, and add per-group events', { showDefault: true }),
  perSocketServices: switchOption(
    '--per-socket-services',
    'one service per socket and RAPL domain (scaph_socket_power_microwatts_1, scaph_domain_power_microwatts_0_dram) so Riemann\'s index keeps every one; default: Scaphandre\'s service names, ids in the socket_id/domain_name attributes',
    { showDefault: true },
  ),
  mtls: switchOption(
    '--mtls',
    `mutual TLS: requires --ca, --cert and --key (what a Riemann TLS server expects); -a is the name checked against the server certificate (default "${DEFAULT_ADDRESS}")`,
    { showDefault: true },
  ),
  tls: switchOption('--tls', 'TLS without a client certificate (requires --ca; Riemann itself always asks for one: prefer --mtls)', { showDefault: true }),
  ca: textOption('--ca <file>', 'PEM file of the CA that signed the Riemann server certificate', { role: 'input-file' }),
  cert: textOption('--cert <file>', 'PEM file of this client certificate (--mtls)', { role: 'input-file', tls: 'cert' }),
  key: textOption('--key <file>', 'PEM file of the client private key: RSA, PKCS#8 or EC (--mtls)', { role: 'input-file', tls: 'key' }),
  ttl: valueOption('--ttl <seconds>', 'event ttl; also how long unsent events are kept while Riemann is unreachable', positiveSeconds('--ttl'), { unit: 'seconds', default: RIEMANN_DEFAULTS.ttlS }),
  tag: repeatableOption('--tag <tag>', 'add a tag to every event, after "scaphandre" (repeatable)', tag),
  maxEventsPerMsg: valueOption('--max-events-per-msg <n>', 'most events in one Riemann message (one acknowledgement each)', positiveInt('--max-events-per-msg'), {
    unit: 'count',
    default: RIEMANN_DEFAULTS.maxEventsPerMsg,
  }),
  connectTimeout: valueOption('--connect-timeout <seconds>', 'give up a connection attempt after this long (then retried, see --max-backoff)', positiveSeconds('--connect-timeout'), {
    unit: 'seconds',
    default: RIEMANN_DEFAULTS.connectTimeoutMs / 1000,
  }),
  maxCmdlineLength: valueOption('--max-cmdline-length <n>', 'cap the cmdline attribute (0 = no cap); only the process power event carries it', nonNegativeInt('--max-cmdline-length'), {
    unit: 'characters',
    default: 256,
  }),
  description: switchOption('--no-description', "leave out the event description (the metric's HELP text, 25 to 225 bytes on every event)"),
  ...selectionOptions(),
  ...PUSH_OPTIONS,
  ...FILTER_OPTIONS,
};

type RiemannValues = ValuesOf<typeof OPTIONS>;

export const riemannCommand: PushExporterCommand<RiemannSettings, typeof OPTIONS> = {
  name: 'riemann',
  summary: 'Push metrics to a Riemann server as events (TCP, TLS or mutual TLS)',
  push: true,
  options: OPTIONS,
  helpText:
    '\nWhile Riemann is down scaph keeps one --ttl of samples and reconnects.\n' +
    "Every event carries the metric's HELP text as description (--no-description leaves it out); only the\n" +
    'process power event carries the cmdline attribute (its other events name the same pid).\n' +
    BACKOFF_HELP +
    SPLAY_HELP +
    FILTER_HELP +
    selectionHelp('its events stop (Riemann expires them after --ttl)') +
    '\nExamples:\n  scaph riemann -a riemann.example.org -p 5555 -d 5\n' +
    '  scaph riemann --mtls -a riemann.example.org -p 5554 --ca ca.pem --cert client.pem --key client.key --tag prod\n' +
    '\nProcesses appear as service process_power_consumption_microwatts_<pid>_<exe>, e.g. in Riemann:\n' +
    '  service =~ "process_power_consumption_microwatts_%_firefox"\n' +
    'Sockets and domains keep Scaphandre\'s services (scaph_socket_power_microwatts, ids as attributes):\n' +
    'Riemann\'s index then keeps the last socket per host; --per-socket-services keeps each (service =~ "scaph_socket_power_microwatts%").\n',
  settings: riemannSettings,
  create: createRiemannTransport,
};

/** --tag, repeatable: a tag given twice, or "scaphandre" (every event has it), is a mistake worth a word. */
function tag(value: string, previous: string[] | undefined): string[] {
  if (value === BASE_TAG) throw new UsageError(`--tag ${quoted(value)}: every event carries it already (the first tag); give the tags to add after it`);
  if (previous?.includes(value)) throw new UsageError(`--tag ${quoted(value)} is given twice: give each tag once`);
  return [...(previous ?? []), value];
}

export interface RiemannFlags {
  readonly address: string;
  readonly mtls: boolean;
  readonly tls: boolean;
  readonly caFile: string | undefined;
  readonly certFile: string | undefined;
  readonly keyFile: string | undefined;
}

/** Checks the TLS flags together; the message names every missing flag. */
export function checkRiemannFlags(v: Partial<Pick<RiemannValues, 'address' | 'ca' | 'cert' | 'key' | 'mtls' | 'tls'>>): RiemannFlags {
  const { address, ca: caFile, cert: certFile, key: keyFile } = v;
  const mtls = v.mtls === true;
  const tls = v.tls === true;
  if (mtls) {
    // The address defaults to localhost here too (Scaphandre's `riemann --mtls --ca --cert --key`).
    const missing = [
      ['--ca', caFile],
      ['--cert', certFile],
      ['--key', keyFile],
    ].filter(([, v]) => v === undefined || v === '').map(([flag]) => flag);
    if (missing.length > 0) throw new UsageError(`--mtls needs ${missing.join(', ')} (the CA that signed the server certificate, this client's certificate and key)`);
  } else if (tls && caFile === undefined) {
    throw new UsageError('--tls needs --ca (the CA that signed the Riemann server certificate)');
  } else if (!tls && (caFile !== undefined || certFile !== undefined || keyFile !== undefined)) {
    throw new UsageError('--ca, --cert and --key are only used with --tls or --mtls: add one of them');
  }
  return { address: address ?? DEFAULT_ADDRESS, mtls, tls: tls || mtls, caFile, certFile, keyFile };
}

export interface RiemannSettings extends PushSettings, RiemannFlags {
  readonly port: number;
  readonly ttlS: number;
  readonly tags: readonly string[];
  readonly perSocketServices: boolean;
  readonly maxEventsPerMsg: number;
  readonly connectTimeoutMs: number;
  readonly maxCmdlineLength: number;
  readonly description: boolean;
}

function riemannSettings(v: RiemannValues): RiemannSettings {
  return {
    ...checkRiemannFlags(v),
    ...pushSettings(v, v.dispatchInterval),
    ...filterSettings(v),
    port: v.port,
    ttlS: v.ttl,
    tags: v.tag ?? [],
    perSocketServices: v.perSocketServices,
    maxEventsPerMsg: v.maxEventsPerMsg,
    connectTimeoutMs: v.connectTimeout * 1000,
    maxCmdlineLength: v.maxCmdlineLength,
    description: v.description,
    selection: selectionSettings(v),
  };
}

async function createRiemannTransport(s: RiemannSettings, ctx: ExporterContext): Promise<PushOutput> {
  const tls: TlsOptions | null = s.tls ? await loadTls({ caFile: s.caFile, certFile: s.certFile, keyFile: s.keyFile }) : null;
  const transport = new RiemannTransport({
    host: s.address,
    port: s.port,
    tls,
    tlsFiles: { caFile: s.caFile, certFile: s.certFile },
    hostname: ctx.hostname,
    ttlS: s.ttlS,
    tags: s.tags,
    perSocketServices: s.perSocketServices,
    description: s.description,
    maxEventsPerMsg: s.maxEventsPerMsg,
    connectTimeoutMs: s.connectTimeoutMs,
    logger: ctx.logger,
  });
  return { kind: 'push', transport, delivery: riemannDelivery(s.ttlS, s.stepMs) };
}
