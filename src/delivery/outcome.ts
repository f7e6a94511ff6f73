import { errorCode, errorText } from '../core/errors.js';
import { parseHttpDate } from './http-date.js';

/**
 * How one send ended, as a value. Every push transport returns one; the delivery core acts on it
 * (ok: forget the entries; retry: back off and send again; drop: count and forget). Each non-ok
 * outcome carries its error text so the log line and the dropped{reason} counter have something to say.
 */
export type Outcome =
  | { readonly kind: 'ok'; readonly rejected?: Rejection }
  | { readonly kind: 'retry'; readonly afterMs?: number; readonly error: string }
  | { readonly kind: 'drop'; readonly reason: string; readonly error: string };

export const OK: Outcome = Object.freeze({ kind: 'ok' });

/**
 * What a backend that accepted a request said it rejected of it (OTLP's partial_success; remote-write 2.0's
 * Samples-Written below what was sent): `points` data points (0: a warning only), and its message. The batch
 * is not retried (the OTLP specification forbids it; a remote-write 2xx means the receiver will not take it).
 */
export interface Rejection {
  readonly points: number;
  readonly message: string;
  /** The transport said it in its own words (once): the core counts the points and says nothing more. */
  readonly said?: boolean;
}

/** Response headers as undici (record) or fetch (Headers) give them. */
export type HeaderSource = Headers | Readonly<Record<string, string | string[] | undefined>>;

/** Longest body excerpt kept in an error text: enough to recognise the error, short enough for one log line. */
export const BODY_EXCERPT_CHARS = 200;

/**
 * The remote-write spec's table, used by every HTTP transport: 2xx ok; 429 retry (after Retry-After
 * when given); 5xx retry; every other status drop (the request will never succeed as it is).
 */
export function classifyHttp(status: number, headers: HeaderSource, body = '', nowMs = Date.now()): Outcome {
  if (status >= 200 && status < 300) return OK;
  const error = httpErrorText(status, body);
  if (status === 429) {
    const afterMs = parseRetryAfterMs(headerValue(headers, 'retry-after'), nowMs);
    return afterMs === undefined ? { kind: 'retry', error } : { kind: 'retry', afterMs, error };
  }
  if (status >= 500) return { kind: 'retry', error };
  return { kind: 'drop', reason: `http_${status}`, error };
}

/** `HTTP 400: <first line(s) of the body, trimmed>` */
export function httpErrorText(status: number, body: string): string {
  const excerpt = body.replace(/\s+/g, ' ').trim().slice(0, BODY_EXCERPT_CHARS);
  return excerpt ? `HTTP ${status}: ${excerpt}` : `HTTP ${status}`;
}

/**
 * Retry-After is either delay-seconds or an HTTP-date (RFC 9110 §10.2.3), the date in any of its three
 * forms and always GMT. Undefined when absent or unparsable.
 */
export function parseRetryAfterMs(value: string | undefined, nowMs = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = parseHttpDate(text, nowMs);
  if (at === undefined) return undefined;
  return Math.max(0, at - nowMs);
}

function headerValue(headers: HeaderSource, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Readonly<Record<string, string | string[] | undefined>>;
  const v = record[name] ?? record[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Error codes that mean "the network or the server is not there right now": worth retrying. */
const RETRYABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_ABORTED',
  'UND_ERR_DESTROYED',
]);

/**
 * Network-level failures (refused, reset, timeouts, aborted by our own timeout) are retried;
 * anything else we do not recognise is retried too, because dropping data on an unknown error is
 * worse than one more attempt (max-age bounds how long we keep trying). TLS certificate errors are
 * configuration mistakes: retried as well, but their text says which.
 */
export function classifyNetworkError(err: unknown): Outcome {
  const code = errorCode(err);
  const message = errorText(err);
  if (isAbort(err)) return { kind: 'retry', error: `timed out or aborted: ${message}` };
  if (code && RETRYABLE_CODES.has(code)) return { kind: 'retry', error: `${code}: ${message}` };
  return { kind: 'retry', error: code ? `${code}: ${message}` : message };
}


function isAbort(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return err.name === 'AbortError' || err.name === 'TimeoutError';
}
