/**
 * What an OTLP receiver answers, read by hand (a handful of fields; no protobufjs at run time):
 * - ExportMetricsServiceResponse (opentelemetry-proto v1.11.0, collector/metrics/v1/metrics_service.proto):
 *   partial_success = 1, an ExportMetricsPartialSuccess { rejected_data_points = 1 (int64), error_message = 2 };
 * - google.rpc.Status (googleapis google/rpc/status.proto): code = 1, message = 2, details = 3 (repeated
 *   google.protobuf.Any { type_url = 1, value = 2 }): the body of an OTLP/HTTP error answer, and gRPC's
 *   `grpc-status-details-bin` trailer;
 * - google.rpc.RetryInfo (google/rpc/error_details.proto): retry_delay = 1, a google.protobuf.Duration
 *   { seconds = 1, nanos = 2 }: how long a throttling server asks the client to wait.
 * Every reader is lenient in one way only: a message it cannot read is "not understood" (null), never a throw.
 */
import type { Rejection } from '../../delivery/outcome.js';

const RETRY_INFO_TYPE = 'type.googleapis.com/google.rpc.RetryInfo';
/** Longest server message kept for a log line. */
const MESSAGE_CHARS = 300;

/** One field of a message: its number, and its varint value or bytes. */
interface Field {
  readonly field: number;
  readonly varint: number;
  readonly bytes: Uint8Array | null;
}

/** The fields of a protobuf message, or null when the bytes are not one. */
function fields(buf: Uint8Array): Field[] | null {
  const out: Field[] = [];
  let o = 0;
  while (o < buf.length) {
    const key = varint(buf, o);
    if (key === null) return null;
    o = key.next;
    const field = Math.floor(key.value / 8);
    const wire = key.value % 8;
    if (field === 0) return null;
    if (wire === 0) {
      const v = varint(buf, o);
      if (v === null) return null;
      out.push({ field, varint: v.value, bytes: null });
      o = v.next;
    } else if (wire === 2) {
      const len = varint(buf, o);
      if (len === null || len.next + len.value > buf.length) return null;
      out.push({ field, varint: 0, bytes: buf.subarray(len.next, len.next + len.value) });
      o = len.next + len.value;
    } else if (wire === 1) {
      if (o + 8 > buf.length) return null;
      o += 8;
    } else if (wire === 5) {
      if (o + 4 > buf.length) return null;
      o += 4;
    } else {
      return null;
    }
  }
  return out;
}

/** A varint at `at` (up to 2^53; the high bits of a longer one are dropped), or null when cut short. */
function varint(buf: Uint8Array, at: number): { readonly value: number; readonly next: number } | null {
  let value = 0;
  let scale = 1;
  for (let o = at; o < buf.length && o < at + 10; o++) {
    const b = buf[o] as number;
    if (scale < 2 ** 53) value += (b & 0x7f) * scale;
    scale *= 128;
    if (b < 0x80) return { value, next: o + 1 };
  }
  return null;
}

function text(bytes: Uint8Array | null): string {
  return bytes === null ? '' : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/** A server's message for a log line: one line, cut. */
export function oneLine(message: string): string {
  const flat = message.replace(/\s+/g, ' ').trim();
  return flat.length > MESSAGE_CHARS ? `${flat.slice(0, MESSAGE_CHARS)}…` : flat;
}

/**
 * The partial_success of an ExportMetricsServiceResponse: null when there is none (full success), or when
 * the bytes are not such a response (`understood` false).
 */
export function readExportResponse(body: Uint8Array): { readonly understood: boolean; readonly rejected: Rejection | null } {
  const top = fields(body);
  if (top === null) return { understood: false, rejected: null };
  const partial = top.find((f) => f.field === 1 && f.bytes !== null);
  if (!partial?.bytes) return { understood: true, rejected: null };
  const inner = fields(partial.bytes);
  if (inner === null) return { understood: false, rejected: null };
  const points = inner.find((f) => f.field === 1 && f.bytes === null)?.varint ?? 0;
  const message = text(inner.find((f) => f.field === 2)?.bytes ?? null);
  // An empty partial_success is a full success (the specification: a server MUST leave it unset then).
  if (points === 0 && message === '') return { understood: true, rejected: null };
  return { understood: true, rejected: { points, message: oneLine(message) } };
}

export interface RpcStatus {
  readonly code: number;
  readonly message: string;
  /** From a RetryInfo detail: the wait the server asks for, ms; null without one. */
  readonly retryDelayMs: number | null;
}

/** A google.rpc.Status, or null when the bytes are not one. */
export function readStatus(bytes: Uint8Array): RpcStatus | null {
  const top = fields(bytes);
  if (top === null) return null;
  let retryDelayMs: number | null = null;
  for (const detail of top.filter((f) => f.field === 3 && f.bytes !== null)) {
    const any = fields(detail.bytes as Uint8Array);
    if (any === null || text(any.find((f) => f.field === 1)?.bytes ?? null) !== RETRY_INFO_TYPE) continue;
    const info = fields(any.find((f) => f.field === 2)?.bytes ?? new Uint8Array(0));
    const duration = info === null ? null : fields(info.find((f) => f.field === 1)?.bytes ?? new Uint8Array(0));
    if (duration === null) continue;
    const seconds = duration.find((f) => f.field === 1 && f.bytes === null)?.varint ?? 0;
    const nanos = duration.find((f) => f.field === 2 && f.bytes === null)?.varint ?? 0;
    retryDelayMs = seconds * 1000 + Math.round(nanos / 1e6);
  }
  return { code: top.find((f) => f.field === 1 && f.bytes === null)?.varint ?? 0, message: oneLine(text(top.find((f) => f.field === 2)?.bytes ?? null)), retryDelayMs };
}
