import { open, type FileHandle } from 'node:fs/promises';

/**
 * One energy_uj file kept open and re-read with pread at offset 0: one syscall per reading, and the
 * kernel regenerates the value on every read from offset 0. On a read error the handle is dropped and
 * reopened next time (the zone may have been unloaded and reloaded).
 */

const DIGITS = /^\d+$/;

export type CounterRead = { readonly ok: true; readonly valueUj: number } | { readonly ok: false; readonly problem: string };

export class EnergyCounterFile {
  private handle: FileHandle | null = null;
  private readonly buffer = Buffer.alloc(32);

  constructor(readonly path: string) {}

  /** Opens the file; lets EACCES/ENOENT through so start-up can tell the user what to do. */
  async open(): Promise<void> {
    if (this.handle === null) this.handle = await open(this.path, 'r');
  }

  async read(): Promise<CounterRead> {
    try {
      await this.open();
      let handle = this.handle;
      if (handle === null) return { ok: false, problem: 'not open' };
      // `scaph qemu` replaces a guest's energy_uj by rename on every step: the open handle then points
      // at the old, unlinked file (nlink 0) and would read a frozen value forever. One fstat per read.
      if ((await handle.stat()).nlink === 0) {
        await this.close();
        await this.open();
        handle = this.handle;
        if (handle === null) return { ok: false, problem: 'not open' };
      }
      const { bytesRead } = await handle.read(this.buffer, 0, this.buffer.length, 0);
      return parseCounter(this.buffer.toString('latin1', 0, bytesRead));
    } catch (err) {
      await this.close();
      return { ok: false, problem: errorText(err) };
    }
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = null;
    if (handle !== null) await handle.close().catch(() => undefined);
  }
}

export function parseCounter(raw: string): CounterRead {
  const text = raw.trim();
  if (!DIGITS.test(text)) return { ok: false, problem: `not a number: ${JSON.stringify(text.slice(0, 24))}` };
  const valueUj = Number(text);
  if (!Number.isSafeInteger(valueUj)) return { ok: false, problem: `out of range: ${text}` };
  return { ok: true, valueUj };
}

function errorText(err: unknown): string {
  if (err instanceof Error) return (err as NodeJS.ErrnoException).code ?? err.message;
  return String(err);
}
