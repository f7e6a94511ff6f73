import { crc32 } from 'node:zlib';

/**
 * One spool record on disk: a 24-byte header then the payload.
 *
 *   u32 BE  payload length
 *   u32 BE  CRC-32 of everything after this field (seq, timestamp, payload)
 *   f64 BE  seq (the spool's record number, monotonic across restarts)
 *   f64 BE  timestampMs (the sample's wall-clock time, for the age cap)
 *   payload
 *
 * A segment file is records back to back, append-only. The CRC catches torn writes and bit rot; the
 * length lets a reader stop at a truncated tail (the agent killed mid-write).
 */
export const RECORD_HEADER_BYTES = 24;
/** Bigger than any sane record: a length above it means a corrupt header, not a huge sample. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

export interface SpoolRecord {
  readonly seq: number;
  readonly timestampMs: number;
  readonly payload: Buffer;
}

export function encodeRecord(seq: number, timestampMs: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.writeDoubleBE(seq, 8);
  out.writeDoubleBE(timestampMs, 16);
  payload.copy(out, RECORD_HEADER_BYTES);
  out.writeUInt32BE(crc32(out.subarray(8)), 4);
  return out;
}

export interface ParsedSegment {
  readonly records: SpoolRecord[];
  /** Bytes of the file that hold whole, valid records. */
  readonly validBytes: number;
  /** Why parsing stopped before the end of the file, or null when the whole file is valid. */
  readonly damage: string | null;
}

/** Parses a segment's bytes up to the first damaged or truncated record; never throws on bad data. */
export function parseSegment(buf: Buffer): ParsedSegment {
  const records: SpoolRecord[] = [];
  let at = 0;
  while (at < buf.length) {
    if (buf.length - at < RECORD_HEADER_BYTES) return { records, validBytes: at, damage: `truncated record header at byte ${at}` };
    const length = buf.readUInt32BE(at);
    if (length > MAX_RECORD_BYTES) return { records, validBytes: at, damage: `impossible record length ${length} at byte ${at}` };
    const end = at + RECORD_HEADER_BYTES + length;
    if (end > buf.length) return { records, validBytes: at, damage: `truncated record at byte ${at} (${end - buf.length} bytes missing)` };
    if (crc32(buf.subarray(at + 8, end)) !== buf.readUInt32BE(at + 4)) return { records, validBytes: at, damage: `CRC mismatch at byte ${at}` };
    records.push({ seq: buf.readDoubleBE(at + 8), timestampMs: buf.readDoubleBE(at + 16), payload: buf.subarray(at + RECORD_HEADER_BYTES, end) });
    at = end;
  }
  return { records, validBytes: at, damage: null };
}

const NAME = /^(\d{16})\.seg$/;

export function segmentName(firstSeq: number): string {
  return `${String(firstSeq).padStart(16, '0')}.seg`;
}

/** The first seq a segment file name stands for, or null for files that are not segments. */
export function segmentFirstSeq(name: string): number | null {
  const m = NAME.exec(name);
  return m?.[1] ? Number(m[1]) : null;
}
