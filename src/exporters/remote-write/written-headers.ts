/**
 * The `X-Prometheus-Remote-Write-*-Written` response headers of remote-write 2.0 (specification 2.0-rc.4,
 * "Required Written Response Headers"): a 2.0 receiver answers every 2.0 request with the number of
 * samples, histograms and exemplars it wrote, "a single 64-bit integer" each. A 2xx without them is what a
 * 1.x receiver that ignores the content type gives (it decoded the 2.0 body as an empty 1.0 request and
 * stored nothing): the specification tells senders to take that as a 415. They mean nothing in answer to
 * a 1.0 request.
 */
import type { IncomingHttpHeaders } from 'node:http';

export const SAMPLES_WRITTEN = 'x-prometheus-remote-write-samples-written';
const WRITTEN_HEADERS = [SAMPLES_WRITTEN, 'x-prometheus-remote-write-histograms-written', 'x-prometheus-remote-write-exemplars-written'] as const;

export type WrittenCount =
  | { readonly kind: 'absent' }
  | { readonly kind: 'count'; readonly value: number }
  /** Present but not one non-negative 64-bit integer (several values, a sign, letters, beyond 2^63 - 1). */
  | { readonly kind: 'unreadable'; readonly raw: string };

const INT64_MAX = 2n ** 63n - 1n;

/** What the Samples-Written header of an answer says. */
export function samplesWritten(headers: IncomingHttpHeaders): WrittenCount {
  const value = headers[SAMPLES_WRITTEN];
  if (value === undefined) return { kind: 'absent' };
  // node joins a repeated header it does not know with ", ": that is not one integer either.
  const raw = Array.isArray(value) ? value.join(', ') : value;
  const text = raw.trim();
  if (!/^\d{1,19}$/.test(text) || BigInt(text) > INT64_MAX) return { kind: 'unreadable', raw };
  return { kind: 'count', value: Number(text) };
}

/** The answer carries at least one of the Written headers (whatever it says). */
export function hasWrittenHeader(headers: IncomingHttpHeaders): boolean {
  return WRITTEN_HEADERS.some((name) => headers[name] !== undefined);
}
