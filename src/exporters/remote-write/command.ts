import { UsageError } from '../../core/errors.js';
import { PUSH_DEFAULTS } from '../../delivery/push-exporter.js';
import { RemoteWriteTransport, type RemoteWriteAuth } from './transport.js';
import { RemoteWriteV2Transport } from './transport-v2.js';
import { PROTOCOL_VERSIONS, type ProtocolVersion } from './negotiation.js';
import { readSecretFile } from '../../net/secret.js';
import { loadTls } from '../../net/tls.js';
import type { ExporterContext, PushExporterCommand, PushOutput, PushSettings } from '../command.js';
import { BACKOFF_HELP, PUSH_OPTIONS, pushSettings } from '../backoff.js';
import { SPLAY_HELP } from '../splay-option.js';
import { repeatableOption, switchOption, textOption, valueOption, type ValuesOf } from '../../config/declared-options.js';
import { FILTER_HELP, FILTER_OPTIONS, filterSettings } from '../filter-options.js';
import { extraLabel } from '../extra-labels.js';
import { keyValue, MAX_SECONDS, nonNegativeInt, positiveInt, positiveSeconds, wholeNumberUpTo } from '../parse.js';
import { quoted } from '../../core/quoted.js';
import { selectionOptions, selectionSettings, selectionHelp } from '../selection-options.js';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers the transport owns: a user value would break the protocol. */
const RESERVED_HEADERS = new Set(['content-encoding', 'content-type', 'content-length', 'x-prometheus-remote-write-version', 'host']);
export const BEARER_TOKEN_ENV = 'SCAPH_REMOTE_WRITE_BEARER_TOKEN';
export const BASIC_PASSWORD_ENV = 'SCAPH_REMOTE_WRITE_BASIC_AUTH_PASSWORD';

/** The flags that choose how remote-write authenticates (secrets are read in create). */
export interface RemoteWriteAuthFlags {
  readonly bearerTokenFile?: string | undefined;
  readonly basicAuthUser?: string | undefined;
  readonly basicAuthPasswordFile?: string | undefined;
}

export interface RemoteWriteSettings extends PushSettings, RemoteWriteAuthFlags {
  readonly url: string;
  readonly job: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
  readonly caFile: string | undefined;
  readonly certFile: string | undefined;
  readonly keyFile: string | undefined;
  readonly insecure: boolean;
  readonly timeoutMs: number;
  readonly queueMaxSamples: number;
  readonly maxSamplesPerSend: number;
  readonly maxAgeMs: number;
  readonly maxCmdlineLength: number;
  readonly protocolVersion: ProtocolVersion;
  /** With 2.0: after a fallback to 1.0, ms until 2.0 is tried again; null = only at the next start. */
  readonly protocolRecheckMs: number | null;
}

/** --label: a Prometheus label name; job and instance (the transport's) may be replaced. */
const label = extraLabel({
  flag: '--label',
  nameProblem: (name) => (LABEL_NAME.test(name) && !name.startsWith('__') ? null : 'is not a valid Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)'),
  replaces: ['job', 'instance'],
});

/** Headers whose value is a credential: written inline in a config file, that file must be private. */
const SECRET_HEADER = /authorization|token|secret|password|api[-_]?key/i;

const OPTIONS = {
  url: valueOption('-u, --url <url>', 'remote-write endpoint, e.g. http://prometheus:9090/api/v1/write', httpUrl, { mandatory: true }),
  step: valueOption('-S, --step <seconds>', 'seconds between two measurements (decimals allowed)', positiveSeconds('-S/--step'), { unit: 'seconds', role: 'step', default: 5 }),
  job: valueOption('--job <name>', 'value of the job label on every series', nonEmpty('--job'), { default: 'scaph' }),
  label: repeatableOption('--label <name=value>', 'add a label to every series (repeatable); overrides job/instance', label, { default: {} }),
  header: repeatableOption('--header <name=value>', 'add an HTTP header to every request (repeatable), e.g. X-Scope-OrgID=tenant', header, {
    default: {},
    secretEntry: (name) => SECRET_HEADER.test(name),
  }),
  bearerTokenFile: textOption('--bearer-token-file <file>', `send "Authorization: Bearer <token>" with the token read from this file (or $${BEARER_TOKEN_ENV})`, { role: 'input-file' }),
  basicAuthUser: textOption('--basic-auth-user <user>', 'HTTP basic auth user name (needs a password)'),
  basicAuthPasswordFile: textOption('--basic-auth-password-file <file>', `HTTP basic auth password, read from this file (or $${BASIC_PASSWORD_ENV})`, { role: 'input-file' }),
  ca: textOption('--ca <file>', 'PEM CA certificate(s) to verify the server with, instead of the system store', { role: 'input-file' }),
  cert: textOption('--cert <file>', 'PEM client certificate for mutual TLS (with --key)', { role: 'input-file', tls: 'cert' }),
  key: textOption('--key <file>', 'PEM private key of the client certificate (with --cert)', { role: 'input-file', tls: 'key' }),
  insecure: switchOption('--insecure', 'do not verify the server certificate (test setups only)', { showDefault: true }),
  timeout: valueOption('--timeout <seconds>', 'give up on one request after this many seconds (it is then retried)', positiveSeconds('--timeout'), { unit: 'seconds', default: 10 }),
  queueMaxSamples: valueOption('--queue-max-samples <n>', 'samples kept while the server is unreachable; the oldest are dropped beyond', positiveInt('--queue-max-samples'), {
    unit: 'count',
    default: PUSH_DEFAULTS.maxQueueSamples,
  }),
  maxSamplesPerSend: valueOption('--max-samples-per-send <n>', 'samples (steps) per request when catching up', positiveInt('--max-samples-per-send'), {
    unit: 'count',
    default: PUSH_DEFAULTS.maxSamplesPerSend,
  }),
  maxAge: valueOption(
    '--max-age <seconds>',
    'drop queued samples older than this instead of sending them (Prometheus refuses samples older than about 1 h)',
    positiveSeconds('--max-age'),
    { unit: 'seconds', default: 3600 },
  ),
  qemu: switchOption('-q, --qemu', 'label qemu-system processes with their VM name', { showDefault: true }),
  containers: switchOption('--containers', 'label processes with their container, pod or systemd unit', { showDefault: true }),
  maxCmdlineLength: valueOption('--max-cmdline-length <n>', 'cap the cmdline label (0 = no cap)', nonNegativeInt('--max-cmdline-length'), { unit: 'characters', default: 256 }),
  protocolVersion: valueOption(
    '--protocol-version <version>',
    'remote-write 1.0, or 2.0 (a release candidate: interned strings, metric types, help, units, start timestamps; falls back to 1.0 by itself when the receiver does not take it)',
    protocolVersion,
    { default: '1.0' as ProtocolVersion },
  ),
  protocolRecheck: valueOption(
    '--protocol-recheck <seconds>',
    'with --protocol-version 2.0: after falling back to 1.0, try 2.0 again after this many seconds (0 = only at the next start)',
    wholeNumberUpTo('--protocol-recheck', MAX_SECONDS),
    { unit: 'seconds', default: 3600 },
  ),
  ...selectionOptions(),
  ...PUSH_OPTIONS,
  ...FILTER_OPTIONS,
};

export const remoteWriteCommand: PushExporterCommand<RemoteWriteSettings, typeof OPTIONS> = {
  name: 'remote-write',
  summary: 'Push metrics to Prometheus, Mimir, Thanos, Cortex or VictoriaMetrics with remote-write 1.0 (or 2.0)',
  push: true,
  options: OPTIONS,
  helpText:
    '\nSamples are queued in memory and sent in order; network errors, timeouts, 5xx and 429 (after its Retry-After,\n' +
    'honoured up to 30 s, or --max-backoff if longer) are retried, other 4xx answers are dropped and logged.\n' +
    BACKOFF_HELP +
    SPLAY_HELP +
    FILTER_HELP +
    selectionHelp('its series end with a staleness marker') +
    '\n--protocol-version 2.0 sends remote-write 2.0 (Prometheus >= 2.54 with --web.enable-remote-write-receiver, Mimir >= 2.17,\n' +
    'Grafana Alloy, the OpenTelemetry Collector). A receiver that answers 415, or 2xx without X-Prometheus-Remote-Write-Samples-Written\n' +
    '(a 1.x one, which stored nothing), gets the same samples again as 1.0 at once, and 1.0 from then on (2.0 is tried again\n' +
    'after --protocol-recheck, and at the next start); one warning says so. Samples the receiver says it did not write are\n' +
    'counted in scaph_delivery_rejected_points_total.\n' +
    `Secrets are read from files or the environment (${BEARER_TOKEN_ENV}, ${BASIC_PASSWORD_ENV}) and never logged.\n` +
    '\nExamples:\n' +
    '  sudo scaph remote-write -u http://prometheus:9090/api/v1/write -S 10\n' +
    '  sudo scaph remote-write -u https://mimir.example/api/v1/push --header X-Scope-OrgID=infra \\\n' +
    '       --basic-auth-user scaph --basic-auth-password-file /etc/scaph/password --label dc=par1\n' +
    '  sudo scaph remote-write -u http://victoria:8428/api/v1/write\n',
  settings,
  create,
};

function settings(v: ValuesOf<typeof OPTIONS>): RemoteWriteSettings {
  return {
    ...pushSettings(v, v.step),
    ...filterSettings(v),
    url: v.url,
    job: v.job,
    labels: v.label,
    headers: v.header,
    bearerTokenFile: v.bearerTokenFile,
    basicAuthUser: v.basicAuthUser,
    basicAuthPasswordFile: v.basicAuthPasswordFile,
    caFile: v.ca,
    certFile: v.cert,
    keyFile: v.key,
    insecure: v.insecure,
    timeoutMs: v.timeout * 1000,
    queueMaxSamples: v.queueMaxSamples,
    maxSamplesPerSend: v.maxSamplesPerSend,
    maxAgeMs: v.maxAge * 1000,
    maxCmdlineLength: v.maxCmdlineLength,
    selection: selectionSettings(v),
    protocolVersion: v.protocolVersion,
    protocolRecheckMs: v.protocolRecheck > 0 ? v.protocolRecheck * 1000 : null,
  };
}

async function create(s: RemoteWriteSettings, ctx: ExporterContext): Promise<PushOutput> {
  const tls = await loadTls({ caFile: s.caFile, certFile: s.certFile, keyFile: s.keyFile, insecure: s.insecure });
  const options = {
    url: s.url,
    version: ctx.version,
    timeoutMs: s.timeoutMs,
    job: s.job,
    instance: ctx.hostname,
    extraLabels: s.labels,
    headers: s.headers,
    auth: await authFrom(s),
    tls,
  };
  // 2.0's counters start when this process did: every scaph counter counts from zero at or after it (wire-v2.ts).
  const transport =
    s.protocolVersion === '2.0'
      ? new RemoteWriteV2Transport({ ...options, logger: ctx.logger, recheckMs: s.protocolRecheckMs, countersStartMs: Math.floor(performance.timeOrigin) })
      : new RemoteWriteTransport(options);
  return { kind: 'push', transport, delivery: { maxQueueSamples: s.queueMaxSamples, maxSamplesPerSend: s.maxSamplesPerSend, maxAgeMs: s.maxAgeMs, timeoutMs: s.timeoutMs } };
}

/** Bearer or basic auth from files, else from the environment; both at once is a usage error. */
export async function authFrom(flags: RemoteWriteAuthFlags, env: NodeJS.ProcessEnv = process.env): Promise<RemoteWriteAuth> {
  const tokenFile = flags.bearerTokenFile;
  const user = flags.basicAuthUser;
  const passwordFile = flags.basicAuthPasswordFile;
  const envToken = env[BEARER_TOKEN_ENV];
  const envPassword = env[BASIC_PASSWORD_ENV];
  const bearer = tokenFile !== undefined || (envToken !== undefined && envToken !== '');
  if (passwordFile !== undefined && user === undefined) throw new UsageError('--basic-auth-password-file needs --basic-auth-user');
  if (bearer && user !== undefined) throw new UsageError('choose one authentication: a bearer token or basic auth, not both');
  if (user !== undefined) {
    if (passwordFile === undefined && !envPassword) {
      throw new UsageError(`--basic-auth-user needs a password: --basic-auth-password-file or $${BASIC_PASSWORD_ENV}`);
    }
    const password = passwordFile !== undefined ? await readSecretFile('basic auth password', passwordFile) : (envPassword as string);
    return { kind: 'basic', user, password };
  }
  if (tokenFile !== undefined) return { kind: 'bearer', token: await readSecretFile('bearer token', tokenFile) };
  if (envToken) return { kind: 'bearer', token: envToken };
  return { kind: 'none' };
}

function httpUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`-u/--url must be an http(s) URL such as http://prometheus:9090/api/v1/write, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`-u/--url must use http or https, got "${url.protocol}"`);
  }
  if (url.port === '0') throw new UsageError(`-u/--url must name the server's port (1-65535), got port 0 in "${value}"`);
  if (url.username || url.password) {
    throw new UsageError('-u/--url must not hold credentials: use --basic-auth-user and --basic-auth-password-file');
  }
  return url.toString();
}

/** --protocol-version: 1.0 or 2.0 (1 and 2 too: a file's `protocol_version = 2` or `2.0` is a number). */
function protocolVersion(value: string): ProtocolVersion {
  const v = value.trim();
  const version = PROTOCOL_VERSIONS.find((p) => p === v || p === `${v}.0`);
  if (!version) throw new UsageError(`--protocol-version must be 1.0 or 2.0, got ${quoted(value)}`);
  return version;
}

function nonEmpty(flag: string): (value: string) => string {
  return (value) => {
    if (value.trim() === '') throw new UsageError(`${flag} must not be empty`);
    return value;
  };
}

const parseHeader = keyValue('--header');
function header(value: string, previous: Record<string, string> | undefined): Record<string, string> {
  const name = value.slice(0, Math.max(0, value.indexOf('=')));
  if (name && !HEADER_NAME.test(name)) throw new UsageError(`--header name "${name}" is not a valid HTTP header name`);
  if (RESERVED_HEADERS.has(name.toLowerCase())) throw new UsageError(`--header ${name} is set by the remote-write protocol and cannot be replaced`);
  if (/[\r\n]/.test(value)) throw new UsageError(`--header ${name} must not contain line breaks`);
  return parseHeader(value, previous);
}
