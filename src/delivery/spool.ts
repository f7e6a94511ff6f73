import { closeSync, fdatasyncSync, fstatSync, fsyncSync, ftruncateSync, lstatSync, openSync, readdirSync, readSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { mkdirsSync, NotRegularFileError, readRegularFileSync } from '../core/bounded-fs.js';
import { errorCodeOrText, ScaphError } from '../core/errors.js';
import { readSpoolFormat, writeSpoolFormat } from './spool-format.js';
import { acquireSpoolLock, releaseSpoolLock } from './spool-lock.js';
import type { Logger } from '../core/log.js';
import { encodeRecord, parseSegment, segmentFirstSeq, segmentName, type SpoolRecord } from './spool-segment.js';

export const DROP_SPOOL_FULL = 'spool_full';
export const DROP_SPOOL_TOO_OLD = 'spool_too_old';
export const DROP_SPOOL_CORRUPT = 'spool_corrupt';
/** Unsent records whose segment files were deleted from under the agent. */
export const DROP_SPOOL_DELETED = 'spool_deleted';

export interface SpoolOptions {
  readonly dir: string;
  /** Hard cap on the segment files' total size; the oldest segments go first. */
  readonly maxBytes: number;
  /** Records older than this (sample time vs wall clock) are dropped, not replayed. */
  readonly maxAgeMs: number;
  /** A segment is closed and a new one started past this size. Default: min(8 MiB, maxBytes / 4). */
  readonly segmentBytes?: number;
  /** fdatasync the open segment at most this often (and always on roll and close). Default 1000 ms. */
  readonly fsyncIntervalMs?: number;
  readonly logger: Logger;
  /** Records given up on (cap, age, corruption), counted by the caller's dropped{reason}. */
  readonly onDrop?: (reason: string, count: number) => void;
  /** Wall clock, ms (tests). */
  readonly now?: () => number;
}

/** The spool directory cannot be created, written or read: the message says which and what to do. */
export class SpoolDirError extends ScaphError {
  constructor(dir: string, why: string, what = "create it writable for scaph's user (systemd: StateDirectory=scaph)") {
    super(`spool directory "${dir}" ${why}: ${what}`);
  }
}

/** One append failed (disk full, I/O error): nothing of the record stays on disk. The caller carries on. */
export class SpoolWriteError extends ScaphError {
  constructor(
    readonly dir: string,
    readonly code: string,
  ) {
    super(`cannot write to the spool directory "${dir}" (${code})`);
  }
}

interface Segment {
  readonly path: string;
  readonly firstSeq: number;
  lastSeq: number;
  count: number;
  bytes: number;
  maxTimestampMs: number;
}

const ACK_FILE = 'ack';

/**
 * A write-ahead disk spool: append-only segment files of CRC-checked records (see spool-segment.ts), an
 * `ack` file holding the last acknowledged seq, and caps on size and age.
 *
 * Durability: every append is a write(2) before `append` returns, so a SIGKILL loses nothing appended
 * (the kernel holds the page). Against power loss the open segment is fdatasync'ed at most every
 * `fsyncIntervalMs`, on every segment roll and on close: a crash of the machine loses at most that window.
 * The ack file is rewritten (write + rename, no fsync) on every acknowledgement, i.e. once per delivered
 * batch: after a SIGKILL at most the batch acknowledged in that instant is sent again; after a power cut,
 * what the page cache had not written. Re-sent samples carry their original timestamps.
 *
 * Damage never stops the agent: a segment that ends in a torn record (killed mid-write) or fails its CRC
 * keeps its good records, the rest is skipped with a warning and counted as spool_corrupt.
 */
export class Spool {
  private readonly segments: Segment[] = [];
  private fd: number | null = null;
  private nextSeq = 0;
  private ackedSeq = -1;
  private ackWrittenSeq = -1;
  private lastSyncMs = 0;
  private oldCountedThrough = -1;
  private cache: { path: string; records: SpoolRecord[] } | null = null;
  private ackFailing = false;
  private readonly segmentBytes: number;
  private readonly now: () => number;

  private constructor(private readonly o: SpoolOptions) {
    this.segmentBytes = o.segmentBytes ?? Math.max(64 * 1024, Math.min(8 * 1024 * 1024, Math.floor(o.maxBytes / 4)));
    this.now = o.now ?? Date.now;
  }

  /**
   * Opens (or creates) the spool in `dir`, locks it for this process (another live agent holding it is a
   * SpoolLockedError naming its pid) and indexes what an earlier run left. Any setup problem is a
   * SpoolDirError naming the directory and the OS error: at start, never later. A directory holding a
   * format this scaph cannot read (spool-format.ts) is a SpoolFormatError, raised before anything in it
   * is touched.
   */
  static open(o: SpoolOptions): Spool {
    const spool = new Spool(o);
    spool.makeDir();
    const marked = readSpoolFormat(o.dir) !== null;
    acquireSpoolLock(o.dir);
    try {
      if (!marked) spool.markFormat();
      spool.ackedSeq = spool.readAck();
      spool.ackWrittenSeq = spool.ackedSeq;
      spool.index();
      spool.enforceCaps();
    } catch (err) {
      releaseSpoolLock(o.dir);
      throw err;
    }
    return spool;
  }

  private markFormat(): void {
    try {
      writeSpoolFormat(this.o.dir);
    } catch (err) {
      throw new SpoolDirError(this.o.dir, `cannot record its format (${errorCodeOrText(err)})`, 'make it writable for scaph\'s user, or free some space');
    }
  }

  private makeDir(): void {
    try {
      mkdirsSync(this.o.dir, 0o700);
    } catch (err) {
      const at = (err as NodeJS.ErrnoException).path;
      throw new SpoolDirError(this.o.dir, `cannot be created (${errorCodeOrText(err)}${at && at !== this.o.dir ? ` at ${at}` : ''})`);
    }
  }

  /** Records not yet acknowledged (approximate across gaps left by dropped segments). */
  get pending(): number {
    let n = 0;
    for (const s of this.segments) n += s.firstSeq > this.ackedSeq ? s.count : Math.max(0, s.lastSeq - this.ackedSeq);
    return n;
  }

  get bytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.bytes;
    return n;
  }

  /** The seq the next append gets. */
  get nextSequence(): number {
    return this.nextSeq;
  }

  get acked(): number {
    return this.ackedSeq;
  }

  /**
   * Writes one record; returns its seq. Rolls the segment and applies the caps. Throws SpoolWriteError when
   * the disk refuses (full, read-only, I/O error): then nothing of the record is left on disk, and the next
   * append tries again. A spool directory deleted from under the agent is noticed here and recreated.
   */
  append(timestampMs: number, payload: Buffer): number {
    if (this.deleted()) this.recreate();
    const seq = this.nextSeq;
    const record = encodeRecord(seq, timestampMs, payload);
    this.writeRecord(seq, timestampMs, record);
    this.nextSeq = seq + 1;
    this.enforceCaps();
    return seq;
  }

  private writeRecord(seq: number, timestampMs: number, record: Buffer): void {
    let active = this.activeSegment();
    try {
      if (active && active.count > 0 && active.bytes + record.length > this.segmentBytes) {
        active = null;
        this.sealActive();
      }
      if (!active || this.fd === null) active = this.startSegment(seq);
      writeAll(this.fd as number, record);
      if (this.now() - this.lastSyncMs >= (this.o.fsyncIntervalMs ?? 1000)) this.sync();
    } catch (err) {
      this.abandonActive();
      throw new SpoolWriteError(this.o.dir, errorCodeOrText(err));
    }
    active.lastSeq = seq;
    active.count += 1;
    active.bytes += record.length;
    active.maxTimestampMs = Math.max(active.maxTimestampMs, timestampMs);
  }

  /**
   * After a failed write: the torn record is cut off (or the segment closed), and a segment left empty is
   * removed if it is a plain file we created. The next append starts a fresh segment.
   */
  private abandonActive(): void {
    const active = this.activeSegment();
    const fd = this.fd;
    this.fd = null;
    if (fd === null || !active) return;
    try {
      ftruncateSync(fd, active.bytes);
    } catch {
      // Not truncatable (a device): closed below, never appended to again.
    }
    try {
      closeSync(fd);
    } catch {
      // Closing a failed descriptor: nothing more to release.
    }
    if (active.count > 0) return;
    this.segments.pop();
    try {
      if (lstatSync(active.path).isFile()) unlinkSync(active.path);
    } catch {
      // Already gone.
    }
  }

  /** The open segment (or, between segments, the directory) was deleted from under the agent. */
  private deleted(): boolean {
    try {
      if (this.fd !== null) return fstatSync(this.fd).nlink === 0;
      return !statSync(this.o.dir).isDirectory();
    } catch {
      return true;
    }
  }

  /**
   * Recreates a deleted spool: the directory, the lock, the acknowledgement, and the unacknowledged records
   * of the open segment (still readable through its descriptor). Records of closed segments that were
   * deleted are gone: counted as spool_deleted. Said once per occurrence.
   */
  private recreate(): void {
    const active = this.activeSegment();
    const salvaged = active && this.fd !== null ? this.readOpenSegment(this.fd) : [];
    let lost = 0;
    for (const s of this.segments) if (s !== active) lost += s.firstSeq > this.ackedSeq ? s.count : Math.max(0, s.lastSeq - this.ackedSeq);
    if (this.fd !== null) {
      try {
        closeSync(this.fd);
      } catch {
        // The file is gone anyway.
      }
    }
    this.fd = null;
    this.segments.length = 0;
    this.cache = null;
    this.makeDir();
    acquireSpoolLock(this.o.dir);
    this.markFormat();
    this.ackWrittenSeq = Number.NaN;
    this.writeAck();
    let kept = 0;
    for (const r of salvaged) {
      if (r.seq <= this.ackedSeq) continue;
      this.writeRecord(r.seq, r.timestampMs, encodeRecord(r.seq, r.timestampMs, r.payload));
      kept += 1;
    }
    this.o.logger.warn(
      { spool: this.o.dir, rewritten: kept, lost },
      'the spool directory was deleted while scaph was running: recreated it and wrote back the unsent samples still at hand',
    );
    this.drop(DROP_SPOOL_DELETED, lost);
  }

  private readOpenSegment(fd: number): SpoolRecord[] {
    try {
      const size = fstatSync(fd).size;
      const buf = Buffer.allocUnsafe(size);
      let at = 0;
      while (at < size) {
        const n = readSync(fd, buf, at, size - at, at);
        if (n === 0) break;
        at += n;
      }
      return parseSegment(buf.subarray(0, at)).records;
    } catch {
      return [];
    }
  }

  /** Everything up to and including `seq` was delivered (or given up on): segments wholly behind it go. */
  ack(seq: number): void {
    if (seq <= this.ackedSeq) return;
    this.ackedSeq = seq;
    for (let s = this.segments[0]; s && s.lastSeq <= seq && s !== this.activeSegment(); s = this.segments[0]) this.removeOldest(null);
    this.writeAck();
  }

  /** Up to `max` unacknowledged records with seq >= fromSeq, oldest first; too old ones are dropped. */
  read(fromSeq: number, max: number): SpoolRecord[] {
    const out: SpoolRecord[] = [];
    const from = Math.max(fromSeq, this.ackedSeq + 1);
    const oldest = this.now() - this.o.maxAgeMs;
    for (const s of this.segments) {
      if (s.lastSeq < from) continue;
      for (const r of this.recordsOf(s)) {
        if (r.seq < from) continue;
        if (r.timestampMs < oldest) {
          if (r.seq > this.oldCountedThrough) this.drop(DROP_SPOOL_TOO_OLD, 1);
          this.oldCountedThrough = Math.max(this.oldCountedThrough, r.seq);
          continue;
        }
        out.push(r);
        if (out.length >= max) return out;
      }
    }
    return out;
  }

  /** Syncs and closes the open segment, records the acknowledged seq and releases the lock. */
  close(): void {
    try {
      this.sealActive();
    } catch (err) {
      this.o.logger.warn({ spool: this.o.dir, err: errorCodeOrText(err) }, 'could not sync the spool segment on close');
      this.fd = null;
    }
    this.writeAck();
    releaseSpoolLock(this.o.dir);
  }

  private activeSegment(): Segment | null {
    return this.fd === null ? null : (this.segments[this.segments.length - 1] ?? null);
  }

  private startSegment(firstSeq: number): Segment {
    const path = join(this.o.dir, segmentName(firstSeq));
    // a+: appended to, and readable back should the directory be deleted from under us (see recreate).
    this.fd = openSync(path, 'a+', 0o600);
    syncDir(this.o.dir);
    const segment: Segment = { path, firstSeq, lastSeq: firstSeq - 1, count: 0, bytes: 0, maxTimestampMs: 0 };
    this.segments.push(segment);
    return segment;
  }

  private sealActive(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    try {
      fdatasyncSync(fd);
      this.lastSyncMs = this.now();
    } finally {
      closeSync(fd);
    }
  }

  private sync(): void {
    if (this.fd !== null) fdatasyncSync(this.fd);
    this.lastSyncMs = this.now();
  }

  private recordsOf(s: Segment): SpoolRecord[] {
    if (this.cache?.path === s.path && s !== this.activeSegment()) return this.cache.records;
    let records: SpoolRecord[];
    try {
      records = parseSegment(readRegularFileSync(s.path, Number.MAX_SAFE_INTEGER)).records;
    } catch (err) {
      this.o.logger.warn({ segment: s.path, err: (err as Error).message }, 'spool segment unreadable; skipping it');
      records = [];
    }
    this.cache = { path: s.path, records };
    return records;
  }

  /** Drops the oldest segment; counts its unacknowledged records under `reason` (null: all were acked). */
  private removeOldest(reason: string | null): void {
    const s = this.segments.shift();
    if (!s) return;
    if (reason) this.drop(reason, s.firstSeq > this.ackedSeq ? s.count : Math.max(0, s.lastSeq - this.ackedSeq));
    if (this.cache?.path === s.path) this.cache = null;
    try {
      unlinkSync(s.path);
    } catch (err) {
      this.o.logger.warn({ segment: s.path, err: (err as Error).message }, 'could not delete a spool segment');
    }
  }

  private enforceCaps(): void {
    const oldest = this.now() - this.o.maxAgeMs;
    for (let s = this.segments[0]; s && s !== this.activeSegment() && s.maxTimestampMs < oldest; s = this.segments[0]) {
      this.removeOldest(DROP_SPOOL_TOO_OLD);
    }
    while (this.segments.length > 1 && this.bytes > this.o.maxBytes) this.removeOldest(DROP_SPOOL_FULL);
  }

  private drop(reason: string, count: number): void {
    if (count <= 0) return;
    this.o.logger.warn({ spool: this.o.dir, reason, samples: count }, 'spool dropped samples');
    this.o.onDrop?.(reason, count);
  }

  /**
   * Indexes the segments an earlier run left; damaged ones keep their good records, empty ones go. A segment
   * that cannot be read at all (a directory or FIFO by that name, unreadable) stops the start: exit 1.
   */
  private index(): void {
    let entries: string[];
    try {
      entries = readdirSync(this.o.dir);
    } catch (err) {
      throw new SpoolDirError(this.o.dir, `cannot be listed (${errorCodeOrText(err)})`);
    }
    const names = entries
      .map((name) => ({ name, first: segmentFirstSeq(name) }))
      .filter((e): e is { name: string; first: number } => e.first !== null)
      .sort((a, b) => a.first - b.first);
    for (const { name, first } of names) {
      const path = join(this.o.dir, name);
      const parsed = parseSegment(this.readSegmentAtStart(path, name));
      if (parsed.damage) {
        this.o.logger.warn({ segment: path, damage: parsed.damage, keptRecords: parsed.records.length }, 'damaged spool segment: keeping its valid records, skipping the rest');
        this.o.onDrop?.(DROP_SPOOL_CORRUPT, 1);
      }
      const last = parsed.records[parsed.records.length - 1];
      if (!last || last.seq <= this.ackedSeq) {
        this.unlinkOrExplain(path, name);
        continue;
      }
      let maxTs = 0;
      for (const r of parsed.records) maxTs = Math.max(maxTs, r.timestampMs);
      this.segments.push({ path, firstSeq: parsed.records[0]?.seq ?? first, lastSeq: last.seq, count: parsed.records.length, bytes: statSync(path).size, maxTimestampMs: maxTs });
      this.nextSeq = Math.max(this.nextSeq, last.seq + 1);
    }
    this.nextSeq = Math.max(this.nextSeq, this.ackedSeq + 1);
  }

  private readSegmentAtStart(path: string, name: string): Buffer {
    try {
      return readRegularFileSync(path, Number.MAX_SAFE_INTEGER);
    } catch (err) {
      const why = err instanceof NotRegularFileError ? `it is ${err.kind}` : errorCodeOrText(err);
      throw new SpoolDirError(this.o.dir, `holds "${name}", named like a spool segment but unreadable (${why})`, 'remove that entry, or choose another spool_dir');
    }
  }

  private unlinkOrExplain(path: string, name: string): void {
    try {
      unlinkSync(path);
    } catch (err) {
      throw new SpoolDirError(this.o.dir, `holds "${name}", which cannot be removed (${errorCodeOrText(err)})`);
    }
  }

  private readAck(): number {
    const path = join(this.o.dir, ACK_FILE);
    let text: string;
    try {
      text = readRegularFileSync(path).toString('utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return -1;
      const why = err instanceof NotRegularFileError ? `it is ${err.kind}` : errorCodeOrText(err);
      throw new SpoolDirError(this.o.dir, `holds an unreadable "${ACK_FILE}" file (${why})`, 'remove it (samples may then be sent twice), or choose another spool_dir');
    }
    const n = Number(text.trim());
    return Number.isInteger(n) && n >= -1 ? n : -1;
  }

  /**
   * Records the acknowledged seq (write + rename). A failure (disk full) is said once and retried at the
   * next acknowledgement: in the meantime a restart would only send some delivered samples again.
   */
  private writeAck(): void {
    if (this.ackedSeq === this.ackWrittenSeq) return;
    const tmp = join(this.o.dir, `${ACK_FILE}.tmp`);
    try {
      writeFileSync(tmp, `${this.ackedSeq}\n`);
      renameSync(tmp, join(this.o.dir, ACK_FILE));
    } catch (err) {
      if (!this.ackFailing) {
        this.ackFailing = true;
        this.o.logger.warn(
          { spool: this.o.dir, err: errorCodeOrText(err) },
          'cannot record delivered samples in the spool (retried at each delivery): after a restart some may be sent again',
        );
      }
      return;
    }
    if (this.ackFailing) {
      this.ackFailing = false;
      this.o.logger.warn({ spool: this.o.dir }, 'spool acknowledgements recorded again');
    }
    this.ackWrittenSeq = this.ackedSeq;
  }
}

function writeAll(fd: number, buf: Buffer): void {
  for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off);
}

/** A new segment's directory entry must survive a power cut too. */
function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the data fsyncs still hold.
  }
}
