/**
 * A small procfs file the sensor reads every step (<root>/stat, uptime, loadavg, meminfo,
 * /proc/self/statm), through an fd kept open and re-read at offset 0: procfs regenerates the content on
 * a read at 0, as the stat files of the processes (reader.ts) rely on. One read() per step instead of
 * open + fstat + read + read + close: on the steady bench the five files cost about as much as reading
 * a hundred process stat files. The file is checked to be a regular file once, when opened (see
 * openRegularSync); a failed read closes it, and the next read opens it again by path.
 */
import { closeSync, readSync } from 'node:fs';
import { openRegularSync } from '../../core/bounded-fs.js';

/** Procfs files the sensor reads are small: a larger one is a wrong path, not data. */
const MAX_BYTES = 16 * 1024 * 1024;

export class KeptFile {
  private fd = -1;
  private buf = Buffer.allocUnsafe(4096);

  constructor(readonly path: string) {}

  /** The whole file as latin1 text. Throws what opening throws (ENOENT, NotRegularFileError, …) or the read's error. */
  readText(): string {
    if (this.fd < 0) this.fd = openRegularSync(this.path);
    let length: number;
    try {
      length = this.readAt0();
    } catch {
      // The fd went bad (the file was replaced on a remounted tree, EIO): once more by path.
      this.close();
      this.fd = openRegularSync(this.path);
      length = this.readAt0();
    }
    return this.buf.toString('latin1', 0, length);
  }

  close(): void {
    if (this.fd < 0) return;
    try {
      closeSync(this.fd);
    } catch {
      // Already closed or invalid: nothing left to release.
    }
    this.fd = -1;
  }

  /** One read from offset 0 into a buffer large enough for the whole file (grown and read again if not). */
  private readAt0(): number {
    let length = readSync(this.fd, this.buf, 0, this.buf.length, 0);
    while (length === this.buf.length) {
      if (this.buf.length >= MAX_BYTES) throw new Error(`${this.path} is larger than ${MAX_BYTES} bytes`);
      this.buf = Buffer.allocUnsafe(this.buf.length * 2);
      length = readSync(this.fd, this.buf, 0, this.buf.length, 0);
    }
    return length;
  }
}
