/**
 * Snappy block format (what remote-write bodies are compressed with: the varint length of the input, then
 * its elements), written block by block as the input is produced, so a request never exists uncompressed
 * in one piece. snappyjs compresses its input in fragments of 64 KiB, each on its own (a copy never reaches
 * back into an earlier fragment: github.com/zhipeng-jia/snappyjs, snappy_compressor.js; Snappy's own
 * compressor does the same, format_description.txt in github.com/google/snappy): compressing the input
 * 64 KiB at a time and joining the fragments gives the very bytes `compress` gives for the whole input.
 *
 * At 10,000 processes a step's WriteRequest is ~9 MB: the encoder kept a scratch buffer that size (twice
 * that once a backlog had grown it) and snappyjs' `compress` allocated and zeroed its worst case, ~10 MB,
 * on every call. Here the input passes through one 64 KiB window and the output through one buffer the
 * size of the compressed request.
 */
// The declaration of the module snappyjs ships without one; named here so a compile of one entry point
// (test/support/harness/spool-agent.ts) finds it too, not only a compile of the whole project.
/// <reference path="./snappyjs-compressor.d.ts" />
import { SnappyCompressor } from 'snappyjs/snappy_compressor.js';
import { varintSize, writeVarint } from '../protobuf-varint.js';

/** Input bytes compressed as one fragment (snappyjs' BLOCK_SIZE). */
export const SNAPPY_BLOCK_BYTES = 1 << 16;
/** The most bytes one fragment compresses to, its length varint included (snappyjs' maxCompressedLength). */
const MAX_FRAGMENT_BYTES = 32 + SNAPPY_BLOCK_BYTES + Math.floor(SNAPPY_BLOCK_BYTES / 6);

export class SnappyBlockWriter {
  private out: Buffer = Buffer.allocUnsafeSlow(SNAPPY_BLOCK_BYTES);
  private length = 0;
  private readonly fragment = new Uint8Array(MAX_FRAGMENT_BYTES);

  /** Starts a compressed body for `inputBytes` bytes of input (they must then come in full). */
  begin(inputBytes: number): void {
    this.length = writeVarint(this.out, 0, inputBytes);
  }

  /**
   * Compresses the whole blocks of window[0, end) and moves the rest to the window's start; returns the
   * length of that rest (< SNAPPY_BLOCK_BYTES).
   */
  blocks(window: Uint8Array, end: number): number {
    let start = 0;
    for (; end - start >= SNAPPY_BLOCK_BYTES; start += SNAPPY_BLOCK_BYTES) this.compress(window.subarray(start, start + SNAPPY_BLOCK_BYTES));
    if (start > 0) window.copyWithin(0, start, end);
    return end - start;
  }

  /** Compresses window[0, end) (the input's last bytes) and returns the compressed body in a Buffer of its own. */
  finish(window: Uint8Array, end: number): Buffer {
    if (end > 0) this.compress(window.subarray(0, end));
    return Buffer.from(this.out.subarray(0, this.length));
  }

  private compress(input: Uint8Array): void {
    const written = new SnappyCompressor(input).compressToBuffer(this.fragment);
    // compressToBuffer starts with the fragment's own length varint: the body has one, for the whole input.
    const skip = varintSize(input.length);
    const size = written - skip;
    if (this.out.length < this.length + size) {
      const grown = Buffer.allocUnsafeSlow(Math.max(this.length + size, this.out.length * 2));
      grown.set(this.out.subarray(0, this.length));
      this.out = grown;
    }
    this.out.set(this.fragment.subarray(skip, written), this.length);
    this.length += size;
  }
}
