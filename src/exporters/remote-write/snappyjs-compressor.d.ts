/**
 * snappyjs's block compressor, which its index.js wraps (`compress` allocates a zeroed buffer of the worst
 * case for the whole input on every call): the module is part of the published package (0.7), CommonJS,
 * exporting the constructor. Only what snappy-block.ts uses is declared.
 */
declare module 'snappyjs/snappy_compressor.js' {
  export class SnappyCompressor {
    constructor(uncompressed: Uint8Array);
    /** Bytes the compressed form of the input can take at most: 32 + n + n / 6. */
    maxCompressedLength(): number;
    /** Writes the varint length of the input, then its compressed fragments (64 KiB of input each); returns the bytes written. */
    compressToBuffer(out: Uint8Array): number;
  }
}
