/**
 * Protobuf varints of non-negative integers held exactly in a double (lengths, counts, ms since 1970, and
 * Riemann's zigzag magnitudes, even numbers up to 2^54: never a negative int64 here), for the wires that
 * write protobuf by hand (remote-write 1.0 and 2.0, its snappy body, OTLP, Riemann).
 * Encoding: protobuf's "Encoding" guide (protobuf.dev/programming-guides/encoding): 7 bits a byte, the low
 * group first, the top bit set on every byte but the last.
 */

/** Bytes `value` takes as a varint. */
export function varintSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  let n = 5;
  for (let v = Math.floor(value / 0x800000000); v > 0; v = Math.floor(v / 0x80)) n++;
  return n;
}

/** Writes `value` as a varint at `at`; returns the offset after it. */
export function writeVarint(out: Uint8Array, at: number, value: number): number {
  let o = at;
  let v = value;
  // Low 7-bit groups with a plain modulo while v needs more than 31 bits (`&` and `>>>` would cut it to
  // 32), then with integer operations.
  while (v > 0x7fffffff) {
    out[o++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  while (v > 0x7f) {
    out[o++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[o++] = v;
  return o;
}
