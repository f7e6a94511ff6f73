/**
 * Compresses one fragment (at most 64 KiB) of a snappy block-format body: a run of literals and copies,
 * each copy reaching back only within the fragment. Snappy's format (format_description.txt in
 * github.com/google/snappy): a literal is a tag byte (length - 1 in its upper six bits when below 61,
 * else 60 or 61 there and the length - 1 in one or two little-endian bytes after it) and the bytes; a copy
 * is a tag with a 1-byte offset (length 4 to 11, offset below 2048) or a 2-byte offset (length 1 to 64).
 *
 * The matches are found as Snappy's reference compressor finds them, which snappyjs follows (so the
 * bytes are the very bytes snappyjs' `compress` gives, and the tests compare them): a hash table of the
 * last position of each 4-byte sequence, indexed by the sequence times 0x1e35a7bd, its top bits; the table
 * has 2^min(14, floor(log2(fragment))) slots; after 32 misses in a row the search skips a byte more
 * between looks, and one more after every 32 further misses; the last 15 bytes are never searched from.
 *
 * Written for speed where snappyjs is not (remote-write compresses ~9 MB a step at 10,000 processes):
 * 4-byte loads and compares through a DataView instead of four byte reads, the table cleared with fill(),
 * matches extended four bytes at a time, and output written straight into the caller's buffer.
 */

/** Bits of the largest hash table (16,384 slots for a fragment of 16 KiB or more). */
const MAX_TABLE_BITS = 14;
/** Bytes at a fragment's end that no match starts from (the reference compressor's input margin). */
const INPUT_MARGIN = 15;
/** Snappy's hash multiplier. */
const HASH_MULTIPLIER = 0x1e35a7bd;

/** The most bytes a fragment of `n` bytes compresses to: Snappy's bound (MaxCompressedLength in snappy.cc), 32 + n + n / 6. */
export function maxFragmentBytes(n: number): number {
  return 32 + n + Math.floor(n / 6);
}

/** The slot of a 4-byte sequence: the same arithmetic as the reference (a double product, its low 32 bits). */
function hashOf(sequence: number, shift: number): number {
  return (sequence * HASH_MULTIPLIER) >>> shift;
}

export class SnappyFragmentCompressor {
  private readonly table = new Uint16Array(1 << MAX_TABLE_BITS);

  /**
   * Compresses input[start, start + n) (n >= 1, at most 64 KiB; `view` a DataView over the same bytes as
   * `input`) into out at `op`, which must have maxFragmentBytes(n) bytes free; returns the offset after it.
   */
  compress(input: Uint8Array, view: DataView<ArrayBufferLike>, start: number, n: number, out: Uint8Array, op: number): number {
    const end = start + n;
    let emitFrom = start;
    if (n >= INPUT_MARGIN) {
      let bits = 0;
      while (bits < MAX_TABLE_BITS && 2 << bits <= n) bits++;
      const shift = 32 - bits;
      const table = this.table;
      table.fill(0, 0, 1 << bits);
      const limit = end - INPUT_MARGIN;
      let ip = start + 1;
      let nextHash = hashOf(view.getInt32(ip, true), shift);
      for (;;) {
        // Look for a 4-byte sequence seen before, skipping further the longer nothing is found.
        let skip = 32;
        let nextIp = ip;
        let candidate = 0;
        let found = false;
        while (nextIp <= limit) {
          ip = nextIp;
          const hash = nextHash;
          nextIp = ip + (skip >>> 5);
          skip += 1;
          if (nextIp <= limit) nextHash = hashOf(view.getInt32(nextIp, true), shift);
          candidate = start + (table[hash] as number);
          table[hash] = ip - start;
          if (view.getInt32(ip, true) === view.getInt32(candidate, true)) {
            found = true;
            break;
          }
        }
        if (!found) break;
        op = emitLiteral(input, emitFrom, ip - emitFrom, out, op);
        // Copies for as long as the position after one starts another match.
        let again: boolean;
        do {
          const from = ip;
          let matched = 4;
          while (ip + matched + 4 <= end && view.getInt32(ip + matched, true) === view.getInt32(candidate + matched, true)) matched += 4;
          while (ip + matched < end && input[ip + matched] === input[candidate + matched]) matched += 1;
          ip += matched;
          op = emitCopy(out, op, from - candidate, matched);
          emitFrom = ip;
          if (ip >= limit) break;
          table[hashOf(view.getInt32(ip - 1, true), shift)] = ip - 1 - start;
          const hash = hashOf(view.getInt32(ip, true), shift);
          candidate = start + (table[hash] as number);
          table[hash] = ip - start;
          again = view.getInt32(ip, true) === view.getInt32(candidate, true);
        } while (again);
        if (ip >= limit) break;
        ip += 1;
        nextHash = hashOf(view.getInt32(ip, true), shift);
      }
    }
    if (emitFrom < end) op = emitLiteral(input, emitFrom, end - emitFrom, out, op);
    return op;
  }
}

/** Literals this long or longer are copied with set(); shorter ones byte by byte (a call costs more). */
const SET_FROM_BYTES = 32;

function emitLiteral(input: Uint8Array, from: number, length: number, out: Uint8Array, op: number): number {
  const n = length - 1;
  if (n < 60) out[op++] = n << 2;
  else if (length < 256) {
    out[op++] = 60 << 2;
    out[op++] = n;
  } else {
    out[op++] = 61 << 2;
    out[op++] = n & 0xff;
    out[op++] = n >>> 8;
  }
  if (length >= SET_FROM_BYTES) out.set(input.subarray(from, from + length), op);
  else for (let i = 0; i < length; i++) out[op + i] = input[from + i] as number;
  return op + length;
}

/** A copy of `length` bytes from `offset` back, in pieces of at most 64 (none shorter than 4). */
function emitCopy(out: Uint8Array, op: number, offset: number, length: number): number {
  let left = length;
  while (left >= 68) {
    op = emitShortCopy(out, op, offset, 64);
    left -= 64;
  }
  if (left > 64) {
    op = emitShortCopy(out, op, offset, 60);
    left -= 60;
  }
  return emitShortCopy(out, op, offset, left);
}

/** One copy element of 4 to 64 bytes: the 1-byte-offset form when it fits, else the 2-byte one. */
function emitShortCopy(out: Uint8Array, op: number, offset: number, length: number): number {
  if (length < 12 && offset < 2048) {
    out[op] = 1 + ((length - 4) << 2) + ((offset >>> 8) << 5);
    out[op + 1] = offset & 0xff;
    return op + 2;
  }
  out[op] = 2 + ((length - 1) << 2);
  out[op + 1] = offset & 0xff;
  out[op + 2] = offset >>> 8;
  return op + 3;
}
