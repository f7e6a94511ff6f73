/**
 * Where `scaph otlp` sends and how, from its flags (or an [[exporter]]'s keys) and the standard variables a
 * user of OpenTelemetry already sets; a flag wins over a variable, a metrics variable over the generic one.
 * The rules are the OpenTelemetry specification's (specification/protocol/exporter.md):
 * - OTEL_EXPORTER_OTLP_METRICS_ENDPOINT is used as is (a URL without a path gets `/`);
 *   OTEL_EXPORTER_OTLP_ENDPOINT is a base to which OTLP/HTTP appends `v1/metrics`; gRPC takes either as its
 *   target. Default: http://localhost:4318/v1/metrics (HTTP), http://localhost:4317 (gRPC).
 * - OTEL_EXPORTER_OTLP_[METRICS_]PROTOCOL: `http/protobuf` (the default) or `grpc` (`http/json` is refused).
 * - OTEL_EXPORTER_OTLP_[METRICS_]HEADERS: `key1=value1,key2=value2`, values percent-decoded (W3C Baggage).
 * - OTEL_EXPORTER_OTLP_[METRICS_]COMPRESSION: `gzip` or `none`. OTEL_EXPORTER_OTLP_[METRICS_]TIMEOUT: ms.
 * - OTEL_EXPORTER_OTLP_[METRICS_]CERTIFICATE, _CLIENT_CERTIFICATE, _CLIENT_KEY: PEM files (--ca, --cert, --key).
 * - OTEL_EXPORTER_OTLP_[METRICS_]INSECURE=true: a gRPC endpoint given without a scheme is plaintext
 *   (otherwise TLS). scaph's own --insecure keeps its meaning on every transport: TLS without verifying.
 * A variable that does not parse stops the start with its name (a header meant for authentication must not
 * be dropped silently).
 */
import { UsageError } from '../../core/errors.js';
import { quoted } from '../../core/quoted.js';
import type { GrpcTarget, OtlpCompression, OtlpProtocol } from './transport.js';

export type Environment = Readonly<Record<string, string | undefined>>;

/** OTLP's default ports (opentelemetry-proto v1.11.0, specification.md). */
export const OTLP_HTTP_PORT = 4318;
export const OTLP_GRPC_PORT = 4317;
export const DEFAULT_HTTP_URL = `http://localhost:${OTLP_HTTP_PORT}/v1/metrics`;
export const DEFAULT_COMPRESSION: OtlpCompression = 'gzip';
export const DEFAULT_TIMEOUT_MS = 10_000;

/** What the flags (or keys) said; undefined = not given (a variable or the default decides). */
export interface OtlpEndpointFlags {
  readonly url?: string | undefined;
  readonly protocol?: OtlpProtocol | undefined;
  readonly compression?: OtlpCompression | undefined;
  readonly timeoutMs?: number | undefined;
  readonly headers?: Readonly<Record<string, string>>;
  readonly caFile?: string | undefined;
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
}

export interface OtlpEndpoint {
  readonly protocol: OtlpProtocol;
  /** OTLP/HTTP: the URL; '' for gRPC. */
  readonly url: string;
  readonly grpc: GrpcTarget | null;
  /** Where the endpoint came from, for --check and the logs: `--url`, a variable's name, or `default`. */
  readonly from: string;
  readonly compression: OtlpCompression;
  readonly timeoutMs: number;
  /** The variables' headers under the flags' (a flag's header wins, names compared case-insensitively). */
  readonly headers: Readonly<Record<string, string>>;
  readonly caFile: string | undefined;
  readonly certFile: string | undefined;
  readonly keyFile: string | undefined;
}

const PREFIX = 'OTEL_EXPORTER_OTLP_';

/** The metrics variable if set (non-empty), else the generic one: its value and name. */
function variable(env: Environment, suffix: string): { readonly name: string; readonly value: string } | null {
  for (const name of [`${PREFIX}METRICS_${suffix}`, `${PREFIX}${suffix}`]) {
    const value = env[name]?.trim();
    if (value) return { name, value };
  }
  return null;
}

export function resolveEndpoint(flags: OtlpEndpointFlags, env: Environment = process.env): OtlpEndpoint {
  const protocol = flags.protocol ?? protocolFrom(env);
  const { url, grpc, from } = protocol === 'grpc' ? grpcEndpoint(flags.url, env) : httpEndpoint(flags.url, env);
  return {
    protocol,
    url,
    grpc,
    from,
    compression: flags.compression ?? compressionFrom(env),
    timeoutMs: flags.timeoutMs ?? timeoutFrom(env),
    headers: mergeHeaders(headersFrom(env), flags.headers ?? {}),
    caFile: flags.caFile ?? variable(env, 'CERTIFICATE')?.value,
    certFile: flags.certFile ?? variable(env, 'CLIENT_CERTIFICATE')?.value,
    keyFile: flags.keyFile ?? variable(env, 'CLIENT_KEY')?.value,
  };
}

/** --protocol's parser: `http/protobuf` (or `http`) and `grpc`. */
export function parseProtocol(value: string, what = '--protocol'): OtlpProtocol {
  const v = value.trim().toLowerCase();
  if (v === 'grpc') return 'grpc';
  if (v === 'http/protobuf' || v === 'http') return 'http/protobuf';
  if (v === 'http/json') throw new UsageError(`${what} http/json is not supported: scaph sends binary protobuf; use http/protobuf or grpc`);
  throw new UsageError(`${what} must be http/protobuf or grpc, got ${quoted(value)}`);
}

/** --compression's parser. */
export function parseCompression(value: string, what = '--compression'): OtlpCompression {
  const v = value.trim().toLowerCase();
  if (v === 'gzip' || v === 'none') return v;
  throw new UsageError(`${what} must be gzip or none, got ${quoted(value)}`);
}

function protocolFrom(env: Environment): OtlpProtocol {
  const v = variable(env, 'PROTOCOL');
  return v ? parseProtocol(v.value, `$${v.name}`) : 'http/protobuf';
}

function compressionFrom(env: Environment): OtlpCompression {
  const v = variable(env, 'COMPRESSION');
  return v ? parseCompression(v.value, `$${v.name}`) : DEFAULT_COMPRESSION;
}

function timeoutFrom(env: Environment): number {
  const v = variable(env, 'TIMEOUT');
  if (!v) return DEFAULT_TIMEOUT_MS;
  if (!/^\d{1,10}$/.test(v.value) || Number(v.value) === 0) throw new UsageError(`$${v.name} must be a positive whole number of milliseconds, got ${quoted(v.value)}`);
  return Number(v.value);
}

/**
 * An OTLP/HTTP URL: http or https, a port that is not 0, no credentials (they would be logged with the URL:
 * use --basic-auth-user or a header). `what` names the flag or variable in messages.
 */
export function checkHttpUrl(value: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${what} must be an http(s) URL such as http://collector:${OTLP_HTTP_PORT}/v1/metrics, got ${quoted(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${what} must use http or https, got ${quoted(url.protocol)} (for gRPC, add --protocol grpc)`);
  if (url.port === '0') throw new UsageError(`${what} must name the receiver's port (1-65535), got port 0 in ${quoted(value)}`);
  if (url.username || url.password) throw new UsageError(`${what} must not hold credentials: use --basic-auth-user and --basic-auth-password-file, or --bearer-token-file`);
  return url;
}

function httpEndpoint(flag: string | undefined, env: Environment): { url: string; grpc: null; from: string } {
  if (flag !== undefined) return { url: checkHttpUrl(flag, '-u/--url').toString(), grpc: null, from: '--url' };
  const metrics = env[`${PREFIX}METRICS_ENDPOINT`]?.trim();
  if (metrics) return { url: checkHttpUrl(metrics, `$${PREFIX}METRICS_ENDPOINT`).toString(), grpc: null, from: `${PREFIX}METRICS_ENDPOINT` };
  const base = env[`${PREFIX}ENDPOINT`]?.trim();
  if (base) {
    const url = checkHttpUrl(base, `$${PREFIX}ENDPOINT`);
    // The specification's rule: the base URL, ending with a slash, then the signal's relative path.
    url.pathname = `${url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`}v1/metrics`;
    return { url: url.toString(), grpc: null, from: `${PREFIX}ENDPOINT` };
  }
  return { url: DEFAULT_HTTP_URL, grpc: null, from: 'default' };
}

function grpcEndpoint(flag: string | undefined, env: Environment): { url: string; grpc: GrpcTarget; from: string } {
  const insecure = variable(env, 'INSECURE');
  const plaintextWithoutScheme = insecure !== null && insecure.value.toLowerCase() === 'true';
  if (flag !== undefined) return { url: '', grpc: parseGrpcTarget(flag, '-u/--url', plaintextWithoutScheme), from: '--url' };
  for (const name of [`${PREFIX}METRICS_ENDPOINT`, `${PREFIX}ENDPOINT`]) {
    const value = env[name]?.trim();
    if (value) return { url: '', grpc: parseGrpcTarget(value, `$${name}`, plaintextWithoutScheme), from: name };
  }
  return { url: '', grpc: { target: `localhost:${OTLP_GRPC_PORT}`, secure: false }, from: 'default' };
}

/**
 * A gRPC endpoint: `http://host[:port]` (plaintext), `https://host[:port]` (TLS), or `host[:port]` (TLS, unless
 * plaintextWithoutScheme); the port defaults to 4317. No path: the service's is fixed.
 */
export function parseGrpcTarget(value: string, what: string, plaintextWithoutScheme = false): GrpcTarget {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase();
  if (scheme !== undefined && scheme !== 'http' && scheme !== 'https') {
    throw new UsageError(`${what} must be host:port, http://host:port (plaintext) or https://host:port (TLS) for gRPC, got ${quoted(value)}`);
  }
  let url: URL;
  try {
    url = new URL(scheme === undefined ? `grpc://${value}` : value);
  } catch {
    throw new UsageError(`${what} must be host:port, http://host:port (plaintext) or https://host:port (TLS) for gRPC, got ${quoted(value)}`);
  }
  if (url.hostname === '') throw new UsageError(`${what} names no host: give host:port, e.g. collector:${OTLP_GRPC_PORT}`);
  if (url.port === '0') throw new UsageError(`${what} must name the receiver's port (1-65535), got port 0 in ${quoted(value)}`);
  if (url.username || url.password) throw new UsageError(`${what} must not hold credentials: use --bearer-token-file or a header`);
  if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '') {
    throw new UsageError(`${what} is a gRPC endpoint: host:port without a path (the service's is fixed), got ${quoted(value)}; for OTLP/HTTP leave out --protocol grpc`);
  }
  const port = url.port === '' ? OTLP_GRPC_PORT : Number(url.port);
  return { target: `${url.hostname}:${port}`, secure: scheme === 'https' || (scheme === undefined && !plaintextWithoutScheme) };
}

/**
 * `key1=value1,key2=value2` (W3C Baggage's list, without its `;` properties), keys and values trimmed, values
 * percent-decoded. `what` names the variable in messages.
 */
export function parseKeyValueList(text: string, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of text.split(',')) {
    if (item.trim() === '') continue;
    const eq = item.indexOf('=');
    const key = eq < 0 ? '' : item.slice(0, eq).trim();
    if (key === '') throw new UsageError(`${what} must be key=value pairs separated by commas, got ${quoted(item.trim())}`);
    let value: string;
    try {
      value = decodeURIComponent(item.slice(eq + 1).trim());
    } catch {
      throw new UsageError(`${what}: the value of ${quoted(key)} is not valid percent-encoding`);
    }
    out[key] = value;
  }
  return out;
}

function headersFrom(env: Environment): Record<string, string> {
  const v = variable(env, 'HEADERS');
  if (!v) return {};
  const headers = parseKeyValueList(v.value, `$${v.name}`);
  for (const [name, value] of Object.entries(headers)) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new UsageError(`$${v.name}: ${quoted(name)} is not a valid header name`);
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(value)) throw new UsageError(`$${v.name}: the value of ${name} holds a control character (a line break?)`);
  }
  return headers;
}

/** `base` under `over`, names compared without case: a flag's header replaces a variable's of the same name. */
function mergeHeaders(base: Readonly<Record<string, string>>, over: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  const taken = new Set(Object.keys(over).map((k) => k.toLowerCase()));
  for (const [k, v] of Object.entries(base)) if (!taken.has(k.toLowerCase())) out[k] = v;
  return { ...out, ...over };
}
