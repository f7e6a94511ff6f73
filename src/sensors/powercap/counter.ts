import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { fileKind, NotRegularFileError, ReadTimeoutError, within } from '../../core/bounded-fs.js';
import { errorCodeOrText } from '../../core/errors.js';

/**
 * One energy_uj file kept open and re-read with pread at offset 0: one syscall per reading, and the
 * kernel regenerates the value on every read from offset 0. On a read error the handle is dropped and
 * reopened next time (the zone may have been unloaded and reloaded).
 *
 * Never hangs the loop: the file is opened with O_NONBLOCK and must be a regular file (a FIFO would block
 * an ordinary open forever), and a read that takes longer than `timeoutMs` (a hung mount) is reported as a
 * problem; until it finishes, later reads report the same problem at once instead of piling up.
 */

const DIGITS = /^\d+$/;
const NONBLOCK_READ = constants.O_RDONLY | constants.O_NONBLOCK;
export const COUNTER_READ_TIMEOUT_MS = 1000;

/**
 * A failed read says whether the file itself is gone or unusable (`fileLost`: missing, not a regular file,
 * stuck): a counter read after that may be another counter, so its previous value is no baseline.
 */
export type CounterRead =
  | { readonly ok: true; readonly valueUj: number }
  | { readonly ok: false; readonly problem: string; readonly fileLost: boolean };

export class EnergyCounterFile {
  private handle: FileHandle | null = null;
  private readonly buffer = Buffer.alloc(32);
  private stuck: Promise<unknown> | null = null;

  constructor(
    readonly path: string,
    private readonly timeoutMs = COUNTER_READ_TIMEOUT_MS,
  ) {}

  /** Opens the file; lets EACCES/ENOENT through so start-up can tell the user what to do. */
  async open(): Promise<void> {
    if (this.handle !== null) return;
    const handle = await within(open(this.path, NONBLOCK_READ), this.path, this.timeoutMs, (h) => void h.close());
    const stats = await handle.stat().catch(async (err: unknown) => {
      await handle.close();
      throw err;
    });
    if (!stats.isFile()) {
      await handle.close();
      throw new NotRegularFileError(this.path, fileKind(stats));
    }
    this.handle = handle;
  }

  async read(): Promise<CounterRead> {
    if (this.stuck) return { ok: false, problem: `an earlier read of ${this.path} has not finished (hung file system?)`, fileLost: true };
    let parsing = false;
    const attempt = this.readOnce().then((text) => {
      parsing = true;
      return parseCounter(text);
    });
    try {
      return await within(attempt, this.path, this.timeoutMs);
    } catch (err) {
      if (err instanceof ReadTimeoutError) {
        this.stuck = attempt;
        void attempt.then(
          () => (this.stuck = null),
          () => (this.stuck = null),
        );
      }
      await this.close();
      return { ok: false, problem: problemText(err), fileLost: !parsing };
    }
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = null;
    if (handle !== null) await handle.close().catch(() => undefined);
  }

  private async readOnce(): Promise<string> {
    await this.open();
    let handle = this.handle as FileHandle;
    // `scaph qemu` replaces a guest's energy_uj by rename on every step: the open handle then points
    // at the old, unlinked file (nlink 0) and would read a frozen value forever. One fstat per read.
    if ((await handle.stat()).nlink === 0) {
      await this.close();
      await this.open();
      handle = this.handle as FileHandle;
    }
    const { bytesRead } = await handle.read(this.buffer, 0, this.buffer.length, 0);
    return this.buffer.toString('latin1', 0, bytesRead);
  }
}

/** ENOENT, EIO, …; our own errors (not a regular file, timed out) say it in words. */
function problemText(err: unknown): string {
  return err instanceof NotRegularFileError || err instanceof ReadTimeoutError ? err.message : errorCodeOrText(err);
}

export function parseCounter(raw: string): CounterRead {
  const text = raw.trim();
  if (!DIGITS.test(text)) return { ok: false, problem: `not a number: ${JSON.stringify(text.slice(0, 24))}`, fileLost: false };
  const valueUj = Number(text);
  if (!Number.isSafeInteger(valueUj)) return { ok: false, problem: `out of range: ${text}`, fileLost: false };
  return { ok: true, valueUj };
}
