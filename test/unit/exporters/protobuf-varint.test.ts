import { describe, expect, it } from 'vitest';
import { varintSize, writeVarint } from '../../../src/exporters/protobuf-varint.js';

/** The varint of `n` worked out with BigInt, 7 bits at a time: the reference the double arithmetic must match. */
function reference(n: number): number[] {
  let v = BigInt(n);
  const bytes: number[] = [];
  while (v >= 0x80n) {
    bytes.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  bytes.push(Number(v));
  return bytes;
}

describe('protobuf varints', () => {
  // Every byte-length boundary, both sides of the 31-bit switch to integer operations, and the largest
  // values the wires write: ms since 1970, 2^53, and Riemann's zigzag magnitudes (even numbers up to 2^54).
  const values = [0, 1, 127, 128, 16_383, 16_384, 2 ** 21 - 1, 2 ** 21, 2 ** 28 - 1, 2 ** 28, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 35 - 1, 2 ** 35, 1_765_000_000_000, 2 ** 53 - 1, 2 ** 53, 2 ** 54 - 2, 2 ** 54];

  it.each(values)('writes %d as protobuf does, in varintSize bytes', (n) => {
    const out = new Uint8Array(12).fill(0xee);
    const end = writeVarint(out, 1, n);
    expect([...out.subarray(1, end)]).toEqual(reference(n));
    expect(end - 1).toBe(varintSize(n));
    expect(out[0]).toBe(0xee);
    expect(out[end]).toBe(0xee);
  });
});
