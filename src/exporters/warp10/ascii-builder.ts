/**
 * Appends ASCII bytes to one growing buffer. Built for wire formats whose every byte is ASCII (the GTS
 * input format once percent-encoded): concatenating JS strings instead builds a rope of tens of
 * thousands of pieces that costs more to flatten into bytes than to build (measured: 1.2 ms of 1.8 ms
 * for 1,000 processes), while cached byte arrays copied here keep the whole body at one copy per piece.
 */
export class AsciiBuilder {
  private buf: Buffer;
  private length = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  get size(): number {
    return this.length;
  }

  reset(): void {
    this.length = 0;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  byte(c: number): void {
    this.ensure(1);
    this.buf[this.length++] = c;
  }

  /** Appends a string known to be ASCII (one byte per char). */
  ascii(s: string): void {
    this.ensure(s.length);
    // Long strings: one native copy; short ones: a loop is cheaper than the call.
    if (s.length > 24) {
      this.length += this.buf.write(s, this.length, 'latin1');
      return;
    }
    const buf = this.buf;
    let at = this.length;
    for (let i = 0; i < s.length; i++) buf[at++] = s.charCodeAt(i);
    this.length = at;
  }

  /** Appends a safe integer in decimal; below 2^31 without allocating a string (the common case). */
  int(v: number): void {
    if (v < -2147483647 || v > 2147483647) {
      this.ascii(String(v));
      return;
    }
    this.ensure(11);
    let n = v | 0;
    if (n < 0) {
      this.buf[this.length++] = 45; // '-'
      n = -n;
    }
    let digits = 1;
    for (let x = n; x >= 10; x = (x / 10) | 0) digits++;
    let at = this.length + digits;
    this.length = at;
    do {
      this.buf[--at] = 48 + (n % 10);
      n = (n / 10) | 0;
    } while (n > 0);
  }

  /** Appends again `length` bytes already appended at `start` (no allocation). */
  repeat(start: number, length: number): void {
    this.ensure(length);
    this.buf.copyWithin(this.length, start, start + length);
    this.length += length;
  }

  /** What was appended, without a copy: valid until the next reset() or append. */
  view(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  /** A copy of what was appended (the internal buffer is reused). */
  take(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }

  private ensure(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + extra));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
}
