/**
 * The few protobuf encodings OTLP's wire needs, written into byte arrays without protobufjs: tags,
 * varint fields (the varints themselves: ../protobuf-varint.ts), 64-bit fixed fields (nanosecond times, sfixed64 integers,
 * doubles) and length-delimited string fields. Encoding rules: protobuf's "Encoding" guide
 * (protobuf.dev/programming-guides/encoding): a tag is (field number << 3) | wire type, with wire type 0
 * varint, 1 64-bit, 2 length-delimited.
 */

import { varintSize, writeVarint } from '../protobuf-varint.js';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;

/** The one-byte tag of a field numbered below 16. */
export function tag(field: number, wireType: number): number {
  return (field << 3) | wireType;
}

/** Copies `bytes` into `out` at `at`; returns the offset after them. */
export function putBytes(out: Uint8Array, at: number, bytes: Uint8Array): number {
  out.set(bytes, at);
  return at + bytes.length;
}

const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Writes a double little-endian (protobuf's `double`, wire type 1) through one shared Float64Array. */
export function putDouble(out: Uint8Array, at: number, value: number): number {
  F64[0] = value;
  if (LITTLE_ENDIAN) for (let i = 0; i < 8; i++) out[at + i] = F64_BYTES[i] as number;
  else for (let i = 0; i < 8; i++) out[at + i] = F64_BYTES[7 - i] as number;
  return at + 8;
}

const TWO_32 = 0x1_0000_0000;

/** Writes a safe integer as a little-endian two's complement 64-bit integer (`sfixed64`). */
export function putInt64(out: Uint8Array, at: number, value: number): number {
  const hi = Math.floor(value / TWO_32);
  const lo = value - hi * TWO_32;
  out[at] = lo & 0xff;
  out[at + 1] = (lo >>> 8) & 0xff;
  out[at + 2] = (lo >>> 16) & 0xff;
  out[at + 3] = (lo >>> 24) & 0xff;
  out[at + 4] = hi & 0xff;
  out[at + 5] = (hi >> 8) & 0xff;
  out[at + 6] = (hi >> 16) & 0xff;
  out[at + 7] = (hi >> 24) & 0xff;
  return at + 8;
}

/**
 * A time in ms since the epoch (decimals allowed: a start time is a reading's time less an interval
 * measured in ns) as the 8 little-endian bytes of a `fixed64` of nanoseconds. Exact: ms × 10^6 is beyond
 * 2^53 for any date since 1970, so the product is made in a bigint (once per time, never per point).
 */
export function unixNanoBytes(ms: number): Uint8Array {
  const whole = Math.floor(ms);
  const nanos = BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1e6));
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, nanos < 0n ? 0n : nanos, true);
  return out;
}

/** A length-delimited field (tag, length, payload) in a Buffer of its own. */
export function lenField(field: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(1 + varintSize(payload.length) + payload.length);
  out[0] = tag(field, WIRE_LEN);
  putBytes(out, writeVarint(out, 1, payload.length), payload);
  return out;
}

/** A string field; nothing at all for '' (proto3 leaves a default value out). */
export function stringField(field: number, value: string): Buffer {
  return value === '' ? Buffer.alloc(0) : lenField(field, Buffer.from(value, 'utf8'));
}

/** A varint field holding a non-negative integer (an enum, a bool as 1). */
export function varintField(field: number, value: number): Buffer {
  const out = Buffer.allocUnsafe(1 + varintSize(value));
  out[0] = tag(field, WIRE_VARINT);
  writeVarint(out, 1, value);
  return out;
}
