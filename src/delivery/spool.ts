import { closeSync, fdatasyncSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ScaphError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { encodeRecord, parseSegment, segmentFirstSeq, segmentName, type SpoolRecord } from './spool-segment.js';

export const DROP_SPOOL_FULL = 'spool_full';
export const DROP_SPOOL_TOO_OLD = 'spool_too_old';
export const DROP_SPOOL_CORRUPT = 'spool_corrupt';

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

/** The spool directory cannot be created or written: the message says which and what to do. */
export class SpoolDirError extends ScaphError {
  constructor(dir: string, why: string) {
    super(`spool directory "${dir}" ${why}: create it writable for scaph's user (systemd: StateDirectory=scaph)`);
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
  private readonly segmentBytes: number;
  private readonly now: () => number;

  private constructor(private readonly o: SpoolOptions) {
    this.segmentBytes = o.segmentBytes ?? Math.max(64 * 1024, Math.min(8 * 1024 * 1024, Math.floor(o.maxBytes / 4)));
    this.now = o.now ?? Date.now;
  }

  /** Opens (or creates) the spool in `dir` and indexes what an earlier run left. */
  static open(o: SpoolOptions): Spool {
    const spool = new Spool(o);
    try {
      mkdirSync(o.dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new SpoolDirError(o.dir, `cannot be created (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    spool.ackedSeq = spool.readAck();
    spool.ackWrittenSeq = spool.ackedSeq;
    spool.index();
    spool.enforceCaps();
    return spool;
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

  /** Writes one record; returns its seq. Rolls the segment and applies the caps. */
  append(timestampMs: number, payload: Buffer): number {
    const seq = this.nextSeq++;
    const record = encodeRecord(seq, timestampMs, payload);
    let active = this.activeSegment();
    if (active && active.count > 0 && active.bytes + record.length > this.segmentBytes) {
      this.sealActive();
      active = null;
    }
    if (!active || this.fd === null) active = this.startSegment(seq);
    writeAll(this.fd as number, record);
    active.lastSeq = seq;
    active.count += 1;
    active.bytes += record.length;
    active.maxTimestampMs = Math.max(active.maxTimestampMs, timestampMs);
    if (this.now() - this.lastSyncMs >= (this.o.fsyncIntervalMs ?? 1000)) this.sync();
    this.enforceCaps();
    return seq;
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

  /** Syncs and closes the open segment and records the acknowledged seq. */
  close(): void {
    this.sealActive();
    this.writeAck();
  }

  private activeSegment(): Segment | null {
    return this.fd === null ? null : (this.segments[this.segments.length - 1] ?? null);
  }

  private startSegment(firstSeq: number): Segment {
    const path = join(this.o.dir, segmentName(firstSeq));
    try {
      this.fd = openSync(path, 'a', 0o600);
    } catch (err) {
      throw new SpoolDirError(this.o.dir, `is not writable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    syncDir(this.o.dir);
    const segment: Segment = { path, firstSeq, lastSeq: firstSeq - 1, count: 0, bytes: 0, maxTimestampMs: 0 };
    this.segments.push(segment);
    return segment;
  }

  private sealActive(): void {
    if (this.fd === null) return;
    this.sync();
    closeSync(this.fd);
    this.fd = null;
  }

  private sync(): void {
    if (this.fd !== null) fdatasyncSync(this.fd);
    this.lastSyncMs = this.now();
  }

  private recordsOf(s: Segment): SpoolRecord[] {
    if (this.cache?.path === s.path && s !== this.activeSegment()) return this.cache.records;
    let records: SpoolRecord[];
    try {
      records = parseSegment(readFileSync(s.path)).records;
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

  /** Indexes the segments an earlier run left; damaged ones keep their good records, empty ones go. */
  private index(): void {
    const names = readdirSync(this.o.dir)
      .map((name) => ({ name, first: segmentFirstSeq(name) }))
      .filter((e): e is { name: string; first: number } => e.first !== null)
      .sort((a, b) => a.first - b.first);
    for (const { name, first } of names) {
      const path = join(this.o.dir, name);
      const parsed = parseSegment(readFileSync(path));
      if (parsed.damage) {
        this.o.logger.warn({ segment: path, damage: parsed.damage, keptRecords: parsed.records.length }, 'damaged spool segment: keeping its valid records, skipping the rest');
        this.o.onDrop?.(DROP_SPOOL_CORRUPT, 1);
      }
      const last = parsed.records[parsed.records.length - 1];
      if (!last || last.seq <= this.ackedSeq) {
        unlinkSync(path);
        continue;
      }
      let maxTs = 0;
      for (const r of parsed.records) maxTs = Math.max(maxTs, r.timestampMs);
      this.segments.push({ path, firstSeq: parsed.records[0]?.seq ?? first, lastSeq: last.seq, count: parsed.records.length, bytes: statSync(path).size, maxTimestampMs: maxTs });
      this.nextSeq = Math.max(this.nextSeq, last.seq + 1);
    }
    this.nextSeq = Math.max(this.nextSeq, this.ackedSeq + 1);
  }

  private readAck(): number {
    try {
      const n = Number(readFileSync(join(this.o.dir, ACK_FILE), 'utf8').trim());
      return Number.isInteger(n) && n >= -1 ? n : -1;
    } catch {
      return -1;
    }
  }

  private writeAck(): void {
    if (this.ackedSeq === this.ackWrittenSeq) return;
    const tmp = join(this.o.dir, `${ACK_FILE}.tmp`);
    writeFileSync(tmp, `${this.ackedSeq}\n`);
    renameSync(tmp, join(this.o.dir, ACK_FILE));
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
