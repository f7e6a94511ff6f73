import { choiceOption, repeatableOption, switchOption, textOption, valueOption, type ValuesOf } from '../../config/declared-options.js';
import { UsageError } from '../../core/errors.js';
import { readMachineId } from '../../core/machine-id.js';
import { OTLP_NAMINGS, type OtlpNaming } from '../../core/otlp-names.js';
import { quoted } from '../../core/quoted.js';
import { PUSH_DEFAULTS } from '../../delivery/push-exporter.js';
import { readSecretFile } from '../../net/secret.js';
import { loadTls } from '../../net/tls.js';
import { BACKOFF_HELP, PUSH_OPTIONS, pushSettings } from '../backoff.js';
import type { ExporterContext, PushExporterCommand, PushOutput, PushSettings } from '../command.js';
import { FILTER_HELP, FILTER_OPTIONS, filterSettings } from '../filter-options.js';
import { keyValue, nonNegativeInt, positiveInt, positiveSeconds } from '../parse.js';
import { selectionHelp, selectionOptions, selectionSettings } from '../selection-options.js';
import { SPLAY_HELP } from '../splay-option.js';
import { DEFAULT_HTTP_URL, parseCompression, parseProtocol, resolveEndpoint, type OtlpEndpoint } from './environment.js';
import { checkResourceEnvironment, resourceAttribute, resourceAttributes } from './resource.js';
import type { OtlpAuth } from './transport.js';

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** gRPC metadata keys (grpc-js refuses others): lower-case letters, digits, `-`, `_`, `.`. */
const METADATA_KEY = /^[0-9a-z_.-]+$/;
/** Headers the transport owns: a user value would break the protocol (gRPC's own headers included). */
const RESERVED_HEADER = /^(content-type|content-encoding|content-length|host|te|user-agent|grpc-.*)$/i;
/** Headers whose value is a credential: written inline in a config file, that file must be private. */
const CREDENTIAL_HEADER = /authorization|token|secret|password|api[-_]?key/i;

export interface OtlpSettings extends PushSettings {
  readonly endpoint: OtlpEndpoint;
  readonly naming: OtlpNaming;
  readonly resource: Readonly<Record<string, string>>;
  readonly bearerTokenFile: string | undefined;
  readonly basicAuthUser: string | undefined;
  readonly basicAuthPasswordFile: string | undefined;
  readonly insecure: boolean;
  readonly queueMaxSamples: number;
  readonly maxSamplesPerSend: number;
  readonly maxAgeMs: number;
  readonly maxCmdlineLength: number;
}

const OPTIONS = {
  // No default here: $OTEL_EXPORTER_OTLP_[METRICS_]ENDPOINT, then OTLP's default, decide (environment.ts).
  url: textOption(
    '-u, --url <url>',
    `where to send: OTLP/HTTP, the receiver's URL used as is (e.g. http://collector:4318/v1/metrics); gRPC, host:port, http://host:port (plaintext) or https://host:port (TLS) (default: $OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, or $OTEL_EXPORTER_OTLP_ENDPOINT + /v1/metrics, else ${DEFAULT_HTTP_URL})`,
  ),
  protocol: valueOption('--protocol <protocol>', 'http/protobuf or grpc (default: $OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf)', (v: string) => parseProtocol(v)),
  step: valueOption('-S, --step <seconds>', 'seconds between two measurements (decimals allowed)', positiveSeconds('-S/--step'), { unit: 'seconds', role: 'step', default: 5 }),
  naming: choiceOption('--naming <naming>', "scaph (the names /metrics serves) or semconv (OpenTelemetry's hardware conventions, dotted scaph.* names, SI units)", OTLP_NAMINGS, { default: 'scaph' }),
  compression: valueOption('--compression <compression>', 'gzip or none (default: $OTEL_EXPORTER_OTLP_COMPRESSION, else gzip)', (v: string) => parseCompression(v)),
  header: repeatableOption('--header <name=value>', 'add a header (gRPC: metadata) to every request (repeatable), e.g. X-Scope-OrgID=tenant; also $OTEL_EXPORTER_OTLP_HEADERS', header, {
    default: {},
    secretEntry: (name) => CREDENTIAL_HEADER.test(name),
  }),
  resourceAttribute: repeatableOption(
    '--resource-attribute <key=value>',
    'add an attribute to the resource (repeatable), e.g. deployment.environment.name=prod; also $OTEL_RESOURCE_ATTRIBUTES, $OTEL_SERVICE_NAME',
    resourceAttribute,
    { default: {} },
  ),
  bearerTokenFile: textOption('--bearer-token-file <file>', 'send "Authorization: Bearer <token>" with the token read from this file', { role: 'input-file' }),
  basicAuthUser: textOption('--basic-auth-user <user>', 'HTTP basic auth user name (with --basic-auth-password-file)'),
  basicAuthPasswordFile: textOption('--basic-auth-password-file <file>', 'HTTP basic auth password, read from this file', { role: 'input-file' }),
  ca: textOption('--ca <file>', 'PEM CA certificate(s) to verify the receiver with, instead of the system store (also $OTEL_EXPORTER_OTLP_CERTIFICATE)', { role: 'input-file' }),
  cert: textOption('--cert <file>', 'PEM client certificate for mutual TLS, with --key (also $OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE)', { role: 'input-file', tls: 'cert' }),
  key: textOption('--key <file>', 'PEM private key of the client certificate (also $OTEL_EXPORTER_OTLP_CLIENT_KEY)', { role: 'input-file', tls: 'key' }),
  insecure: switchOption('--insecure', 'TLS without verifying the receiver certificate (test setups only; for plaintext use an http:// URL)', { showDefault: true }),
  timeout: valueOption('--timeout <seconds>', 'give up on one request after this many seconds, then retry it (default: $OTEL_EXPORTER_OTLP_TIMEOUT in ms, else 10)', positiveSeconds('--timeout'), {
    unit: 'seconds',
  }),
  queueMaxSamples: valueOption('--queue-max-samples <n>', 'samples kept while the receiver is unreachable; the oldest are dropped beyond', positiveInt('--queue-max-samples'), {
    unit: 'count',
    default: PUSH_DEFAULTS.maxQueueSamples,
  }),
  maxSamplesPerSend: valueOption('--max-samples-per-send <n>', 'samples (steps) per request when catching up', positiveInt('--max-samples-per-send'), {
    unit: 'count',
    default: PUSH_DEFAULTS.maxSamplesPerSend,
  }),
  maxAge: valueOption('--max-age <seconds>', 'drop queued samples older than this instead of sending them (Prometheus refuses points older than about 1 h)', positiveSeconds('--max-age'), {
    unit: 'seconds',
    default: 3600,
  }),
  qemu: switchOption('-q, --qemu', 'label qemu-system processes with their VM name', { showDefault: true }),
  containers: switchOption('--containers', 'label processes with their container, pod or systemd unit', { showDefault: true }),
  maxCmdlineLength: valueOption('--max-cmdline-length <n>', 'cap the cmdline attribute (0 = no cap)', nonNegativeInt('--max-cmdline-length'), { unit: 'characters', default: 256 }),
  ...selectionOptions(),
  ...PUSH_OPTIONS,
  ...FILTER_OPTIONS,
};

export const otlpCommand: PushExporterCommand<OtlpSettings, typeof OPTIONS> = {
  name: 'otlp',
  summary: 'Push metrics to an OpenTelemetry Collector, Prometheus 3, Mimir, VictoriaMetrics or any OTLP receiver',
  push: true,
  options: OPTIONS,
  helpText:
    '\nOTLP/HTTP sends binary protobuf (Content-Type: application/x-protobuf); OTLP/gRPC calls\n' +
    'MetricsService.Export. Power figures are Gauges, energy counters monotonic cumulative Sums starting when\n' +
    'scaph began counting them. Retried: network errors, timeouts, HTTP 429/502/503/504 (after Retry-After),\n' +
    'gRPC UNAVAILABLE and the other retryable codes, RESOURCE_EXHAUSTED with a RetryInfo; any other answer\n' +
    'is dropped and said once with the receiver message. A partial success is counted in\n' +
    'scaph_delivery_rejected_points_total and said once per message.\n' +
    BACKOFF_HELP +
    SPLAY_HELP +
    FILTER_HELP +
    selectionHelp('its series get a point flagged "no recorded value" (a staleness marker in Prometheus)') +
    'Flags win over the OTEL_* variables. Secrets are read from files and never logged.\n' +
    '\nExamples:\n' +
    '  sudo scaph otlp -u http://collector:4318/v1/metrics -S 10\n' +
    '  sudo scaph otlp --protocol grpc -u collector:4317 --ca /etc/scaph/ca.pem --naming semconv\n' +
    '  sudo scaph otlp -u http://prometheus:9090/api/v1/otlp/v1/metrics\n' +
    '  OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318 OTEL_RESOURCE_ATTRIBUTES=k8s.cluster.name=par1 sudo -E scaph otlp\n',
  settings,
  create,
};

function settings(v: ValuesOf<typeof OPTIONS>): OtlpSettings {
  const endpoint = resolveEndpoint({
    url: v.url,
    protocol: v.protocol,
    compression: v.compression,
    timeoutMs: v.timeout === undefined ? undefined : v.timeout * 1000,
    headers: v.header,
    caFile: v.ca,
    certFile: v.cert,
    keyFile: v.key,
  });
  checkHeaders(endpoint);
  checkResourceEnvironment();
  const s: OtlpSettings = {
    ...pushSettings(v, v.step),
    ...filterSettings(v),
    endpoint,
    naming: v.naming,
    resource: v.resourceAttribute,
    bearerTokenFile: v.bearerTokenFile,
    basicAuthUser: v.basicAuthUser,
    basicAuthPasswordFile: v.basicAuthPasswordFile,
    insecure: v.insecure,
    queueMaxSamples: v.queueMaxSamples,
    maxSamplesPerSend: v.maxSamplesPerSend,
    maxAgeMs: v.maxAge * 1000,
    maxCmdlineLength: v.maxCmdlineLength,
    selection: selectionSettings(v),
  };
  checkAuth(s);
  checkTlsFlags(s, v);
  return s;
}

async function create(s: OtlpSettings, ctx: ExporterContext): Promise<PushOutput> {
  // Loaded here, not with the command: every scaph command imports every exporter's command module, and
  // the transport's modules (the wire, the naming table, gRPC's) only serve an otlp exporter (~17 ms).
  const { OtlpTransport } = await import('./transport.js');
  const e = s.endpoint;
  const secure = e.protocol === 'grpc' ? (e.grpc?.secure ?? false) : e.url.startsWith('https:');
  const tls = secure ? await loadTls({ caFile: e.caFile, certFile: e.certFile, keyFile: e.keyFile, insecure: s.insecure }) : undefined;
  const transport = new OtlpTransport({
    protocol: e.protocol,
    url: e.url,
    grpc: e.grpc,
    compression: e.compression,
    headers: e.headers,
    auth: await authFrom(s),
    tls,
    timeoutMs: e.timeoutMs,
    version: ctx.version,
    wire: {
      naming: s.naming,
      resource: resourceAttributes(s.resource, { hostname: ctx.hostname, version: ctx.version, machineId: readMachineId() }),
      scopeVersion: ctx.version,
    },
  });
  return { kind: 'push', transport, delivery: { maxQueueSamples: s.queueMaxSamples, maxSamplesPerSend: s.maxSamplesPerSend, maxAgeMs: s.maxAgeMs, timeoutMs: e.timeoutMs } };
}

const parseHeader = keyValue('--header');
function header(value: string, previous: Record<string, string> | undefined): Record<string, string> {
  const name = value.slice(0, Math.max(0, value.indexOf('=')));
  if (name && !HEADER_NAME.test(name)) throw new UsageError(`--header name ${quoted(name)} is not a valid header name`);
  if (RESERVED_HEADER.test(name)) throw new UsageError(`--header ${name} is set by the OTLP protocol and cannot be replaced`);
  return parseHeader(value, previous);
}

/** Headers from the variables obey the flag's rules; over gRPC, every name must be a metadata key. */
function checkHeaders(e: OtlpEndpoint): void {
  for (const name of Object.keys(e.headers)) {
    if (RESERVED_HEADER.test(name)) throw new UsageError(`header ${name} (from $OTEL_EXPORTER_OTLP_HEADERS or --header) is set by the OTLP protocol and cannot be replaced`);
    if (e.protocol === 'grpc' && !METADATA_KEY.test(name.toLowerCase())) {
      throw new UsageError(`header ${quoted(name)} cannot go as gRPC metadata (letters, digits, -, _ and . only)`);
    }
  }
}

function hasAuthorizationHeader(e: OtlpEndpoint): boolean {
  return Object.keys(e.headers).some((k) => k.toLowerCase() === 'authorization');
}

/** One way to authenticate: a bearer token, basic auth, or an Authorization header; a password needs its user. */
function checkAuth(s: OtlpSettings): void {
  if (s.basicAuthPasswordFile !== undefined && s.basicAuthUser === undefined) throw new UsageError('--basic-auth-password-file needs --basic-auth-user');
  if (s.basicAuthUser !== undefined && s.basicAuthPasswordFile === undefined) throw new UsageError('--basic-auth-user needs --basic-auth-password-file');
  const ways = [s.bearerTokenFile !== undefined, s.basicAuthUser !== undefined, hasAuthorizationHeader(s.endpoint)].filter(Boolean).length;
  if (ways > 1) throw new UsageError('choose one authentication: --bearer-token-file, basic auth, or an Authorization header (--header or $OTEL_EXPORTER_OTLP_HEADERS), not several');
}

/**
 * TLS flags on a plaintext endpoint are a mistake the user would not see (the data goes in clear): refused.
 * The variables' files are left unused there (they may serve other programs' endpoints).
 */
function checkTlsFlags(s: OtlpSettings, v: Pick<ValuesOf<typeof OPTIONS>, 'ca' | 'cert' | 'key' | 'insecure'>): void {
  const e = s.endpoint;
  const plaintext = e.protocol === 'grpc' ? e.grpc?.secure === false : e.url.startsWith('http:');
  const given = (['ca', 'cert', 'key', 'insecure'] as const).filter((k) => v[k] !== undefined && v[k] !== false);
  if (plaintext && given.length > 0) {
    const where = e.protocol === 'grpc' ? `http://${e.grpc?.target ?? ''}` : e.url;
    throw new UsageError(`${given.map((k) => `--${k}`).join(', ')} ${given.length > 1 ? 'are' : 'is'} for TLS, but the endpoint ${where} is plaintext: use https://`);
  }
}

async function authFrom(s: OtlpSettings): Promise<OtlpAuth> {
  if (s.bearerTokenFile !== undefined) return { kind: 'bearer', token: await readSecretFile('bearer token', s.bearerTokenFile) };
  if (s.basicAuthUser !== undefined && s.basicAuthPasswordFile !== undefined) {
    return { kind: 'basic', user: s.basicAuthUser, password: await readSecretFile('basic auth password', s.basicAuthPasswordFile) };
  }
  return { kind: 'none' };
}
