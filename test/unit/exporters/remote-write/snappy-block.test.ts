import snappy from 'snappy';
import { compress } from 'snappyjs';
import { describe, expect, it } from 'vitest';
import { SNAPPY_BLOCK_BYTES, SnappyBlockWriter } from '../../../../src/exporters/remote-write/snappy-block.js';
import { seededRandom } from '../../../support/fixtures/prng.js';

/** Text-like input: repeated label-ish runs (compressible) with random bytes between them. */
function input(size: number, seed: number): Buffer {
  const rand = seededRandom(seed);
  const out = Buffer.alloc(size);
  const phrase = Buffer.from('\n\x05__name__\x12\x2ascaph_process_power_consumption_microwatts\n\x03pid');
  for (let i = 0; i < size; i++) out[i] = rand() < 0.7 ? (phrase[i % phrase.length] as number) : Math.floor(rand() * 256);
  return out;
}

/** Feeds `data` to the writer through a window, in pieces of `piece` bytes, as the encoder does. */
function streamed(writer: SnappyBlockWriter, data: Buffer, piece: number): Buffer {
  const window = Buffer.alloc(SNAPPY_BLOCK_BYTES + piece);
  writer.begin(data.length);
  let o = 0;
  for (let at = 0; at < data.length; at += piece) {
    const chunk = data.subarray(at, Math.min(data.length, at + piece));
    window.set(chunk, o);
    o += chunk.length;
    if (o >= SNAPPY_BLOCK_BYTES) o = writer.blocks(window, o);
  }
  return writer.finish(window, o);
}

describe('SnappyBlockWriter (snappy block format, 64 KiB at a time)', () => {
  it('gives the very bytes snappyjs gives for the whole input, at and around the block size, and they decode', () => {
    const writer = new SnappyBlockWriter();
    const sizes = [0, 1, 15, 16, 4000, SNAPPY_BLOCK_BYTES - 1, SNAPPY_BLOCK_BYTES, SNAPPY_BLOCK_BYTES + 1, 3 * SNAPPY_BLOCK_BYTES + 123];
    for (const [k, size] of sizes.entries()) {
      const data = input(size, k + 1);
      for (const piece of [1, 777, 20_000]) {
        if (size > 70_000 && piece === 1) continue; // byte by byte through 200 KB: slow, and 777 covers the joins
        const out = streamed(writer, data, piece);
        expect(out.equals(Buffer.from(compress(data))), `${size} bytes in pieces of ${piece}`).toBe(true);
        expect((snappy.uncompressSync(out) as Buffer).equals(data)).toBe(true);
      }
    }
  });

  it('gives the very bytes snappyjs gives for inputs that take every element form: runs, random bytes, literals of 60, 61, 255, 256 bytes', () => {
    const rand = seededRandom(77);
    const random = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));
    const pattern = (literal: number): Buffer => {
      // A phrase, then `literal` fresh bytes, then the phrase again: a copy, a literal of that length, a copy.
      const phrase = Buffer.from('\n\x03pid\x12\x041234\n\x03exe\x12\x06worker');
      return Buffer.concat(Array.from({ length: 40 }, () => Buffer.concat([phrase, random(literal)])));
    };
    const inputs: Array<[string, Buffer]> = [
      ['zeros', Buffer.alloc(3 * SNAPPY_BLOCK_BYTES + 5)],
      ['random', random(2 * SNAPPY_BLOCK_BYTES + 17)],
      ['random then zeros', Buffer.concat([random(40_000), Buffer.alloc(70_000)])],
      ['a byte repeated with a period of 3', Buffer.from('abc'.repeat(50_000))],
      ...[59, 60, 61, 62, 254, 255, 256, 257, 4000].map((n): [string, Buffer] => [`literals of ${n}`, pattern(n)]),
    ];
    const writer = new SnappyBlockWriter();
    for (const [what, data] of inputs) {
      const out = streamed(writer, data, 10_000);
      expect(out.equals(Buffer.from(compress(data))), what).toBe(true);
      expect((snappy.uncompressSync(out) as Buffer).equals(data), what).toBe(true);
    }
  });

  it('gives each body a Buffer of its own: the next body does not overwrite it', () => {
    const writer = new SnappyBlockWriter();
    const first = streamed(writer, input(100_000, 9), 4096);
    const kept = Buffer.from(first);
    streamed(writer, input(150_000, 10), 4096);
    expect(first.equals(kept)).toBe(true);
    expect((snappy.uncompressSync(first) as Buffer).equals(input(100_000, 9))).toBe(true);
  });
});
