/**
 * Snappy block format (what remote-write bodies are compressed with: the varint length of the input, then
 * its elements), written block by block as the input is produced, so a request never exists uncompressed
 * in one piece. The input is compressed in fragments of 64 KiB, each on its own (a copy never reaches back
 * into an earlier fragment), as Snappy's own compressor does (format_description.txt in
 * github.com/google/snappy) and snappyjs too (github.com/zhipeng-jia/snappyjs, snappy_compressor.js):
 * compressing the input 64 KiB at a time and joining the fragments gives the very bytes snappyjs'
 * `compress` gives for the whole input (snappy-fragment.ts finds the same matches).
 *
 * At 10,000 processes a step's WriteRequest is ~9 MB: the encoder kept a scratch buffer that size (twice
 * that once a backlog had grown it) and snappyjs' `compress` allocated and zeroed its worst case, ~10 MB,
 * on every call. Here the input passes through one 64 KiB window and the output through one buffer the
 * size of the compressed request.
 */
import { varintSize, writeVarint } from '../protobuf-varint.js';
import { maxFragmentBytes, SnappyFragmentCompressor } from './snappy-fragment.js';

/** Input bytes compressed as one fragment (Snappy's block size). */
export const SNAPPY_BLOCK_BYTES = 1 << 16;
/** The most bytes one fragment compresses to. */
const MAX_FRAGMENT_BYTES = maxFragmentBytes(SNAPPY_BLOCK_BYTES);

export class SnappyBlockWriter {
  private out: Buffer = Buffer.allocUnsafeSlow(SNAPPY_BLOCK_BYTES);
  private length = 0;
  private readonly compressor = new SnappyFragmentCompressor();
  /** A DataView over the last window given (the encoder keeps one window, and grows it seldom). */
  private viewOf: Uint8Array | null = null;
  private view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

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
    for (; end - start >= SNAPPY_BLOCK_BYTES; start += SNAPPY_BLOCK_BYTES) this.compress(window, start, SNAPPY_BLOCK_BYTES);
    if (start > 0) window.copyWithin(0, start, end);
    return end - start;
  }

  /** Compresses window[0, end) (the input's last bytes) and returns the compressed body in a Buffer of its own. */
  finish(window: Uint8Array, end: number): Buffer {
    if (end > 0) this.compress(window, 0, end);
    // Not Buffer.from(subarray): that zero-fills a new buffer and copies into it through a slow path,
    // ~0.6 ms for the ~1 MB body of 10,000 processes against ~0.1 ms.
    const body = Buffer.allocUnsafeSlow(this.length);
    body.set(this.out.subarray(0, this.length));
    return body;
  }

  private compress(window: Uint8Array, start: number, n: number): void {
    if (this.out.length < this.length + MAX_FRAGMENT_BYTES) {
      const grown = Buffer.allocUnsafeSlow(Math.max(this.length + MAX_FRAGMENT_BYTES, this.out.length * 2));
      grown.set(this.out.subarray(0, this.length));
      this.out = grown;
    }
    if (this.viewOf !== window) {
      this.viewOf = window;
      this.view = new DataView(window.buffer, window.byteOffset, window.byteLength);
    }
    this.length = this.compressor.compress(window, this.view, start, n, this.out, this.length);
  }
}
