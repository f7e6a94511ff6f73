/**
 * Which on-disk format a spool directory holds, so an upgrade or a downgrade never misreads (or deletes)
 * what another version left. The marker is a file, `format`, holding `scaph spool format <n>`.
 *
 * Format 1 is what scaph 0.1.0 writes: segment files `<first seq, 16 digits>.seg` of records laid out as
 * spool-segment.ts says (length, CRC-32, seq, timestamp, payload), each payload one Sample as deflate-raw
 * JSON, and an `ack` file holding the last acknowledged seq. 0.1.0 wrote no marker: a spool without one is
 * format 1, and gets its marker when it is opened. Older code ignores the file (it lists only `*.seg`), so
 * a downgrade to 0.1.0 still reads a format-1 spool.
 *
 * A change that a scaph reading format 1 would misread (record layout, payload encoding, what `ack` means,
 * a Sample field it could not do without) must raise SPOOL_FORMAT. A scaph meeting a higher number refuses
 * the directory before touching it: no lock taken, nothing indexed, nothing deleted.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NotRegularFileError, readRegularFileSync } from '../core/bounded-fs.js';
import { errorCodeOrText, ScaphError } from '../core/errors.js';

/** The spool format this scaph writes and reads. */
export const SPOOL_FORMAT = 1;
export const FORMAT_FILE = 'format';
const MARKER = /^scaph spool format (\d+)\s*$/;

/** The spool directory holds a format this scaph cannot read (written by a newer scaph), or an unreadable marker. */
export class SpoolFormatError extends ScaphError {
  constructor(
    readonly dir: string,
    why: string,
  ) {
    super(
      `spool directory "${dir}" ${why}; this scaph reads spool format ${SPOOL_FORMAT}. Nothing in it was changed: ` +
        'run the scaph version that wrote it (its unsent samples are still there), or give this one another spool_dir',
    );
  }
}

/**
 * The format marked in `dir`, or null when it has no marker (a new spool, or one 0.1.0 wrote: format 1).
 * Throws SpoolFormatError when this scaph cannot read what the directory holds.
 */
export function readSpoolFormat(dir: string): number | null {
  let text: string;
  try {
    text = readRegularFileSync(join(dir, FORMAT_FILE)).toString('utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    const why = err instanceof NotRegularFileError ? `it is ${err.kind}` : errorCodeOrText(err);
    throw new SpoolFormatError(dir, `holds a "${FORMAT_FILE}" marker that cannot be read (${why})`);
  }
  const m = MARKER.exec(text);
  if (!m?.[1] || Number(m[1]) < 1) throw new SpoolFormatError(dir, `holds a "${FORMAT_FILE}" marker scaph does not understand (${JSON.stringify(text.slice(0, 40))})`);
  const format = Number(m[1]);
  if (format > SPOOL_FORMAT) throw new SpoolFormatError(dir, `holds spool format ${format}, written by a newer scaph`);
  return format;
}

/** Writes the marker (write + rename, so a reader never sees half of it). Throws the fs error. */
export function writeSpoolFormat(dir: string): void {
  const tmp = join(dir, `${FORMAT_FILE}.tmp`);
  writeFileSync(tmp, `scaph spool format ${SPOOL_FORMAT}\n`, { mode: 0o600 });
  renameSync(tmp, join(dir, FORMAT_FILE));
}
