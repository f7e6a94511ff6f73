import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileTooLargeError, mkdirsSync, NotRegularFileError, ReadTimeoutError, readFileWithin, readRegularFileSync } from '../../../src/core/bounded-fs.js';

const dir = mkdtempSync(join(tmpdir(), 'scaph-bounded-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fifo(name: string): string {
  const path = join(dir, name);
  execFileSync('mkfifo', [path]);
  return path;
}

describe('bounded file system calls', () => {
  it('readRegularFileSync refuses a FIFO at once instead of blocking on it', () => {
    const path = fifo('sync-fifo');
    const t0 = performance.now();
    expect(() => readRegularFileSync(path)).toThrow(NotRegularFileError);
    expect(() => readRegularFileSync(path)).toThrow(`${path} is a FIFO (named pipe), not a regular file`);
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it('readRegularFileSync reads procfs files (size 0 in stat) and grows past its first buffer', () => {
    expect(readRegularFileSync('/proc/self/stat').toString('latin1')).toMatch(/^\d+ \(/);
    const big = join(dir, 'big');
    writeFileSync(big, 'x'.repeat(100_000));
    expect(readRegularFileSync(big).length).toBe(100_000);
  });

  it('readFileWithin gives up on a FIFO nobody writes to after its deadline, and reads one whose writer comes', async () => {
    const silent = fifo('silent');
    await expect(readFileWithin(silent, { pipes: true, timeoutMs: 300 })).rejects.toThrow(ReadTimeoutError);
    const late = fifo('late');
    setTimeout(() => writeFileSync(late, 'token\n'), 100);
    expect((await readFileWithin(late, { pipes: true, timeoutMs: 3000 })).toString()).toBe('token\n');
    await expect(readFileWithin(silent, { timeoutMs: 300 })).rejects.toThrow(NotRegularFileError);
  });

  it('readFileWithin with maxBytes reads a file up to the cap and refuses a larger one without reading it all', async () => {
    const small = join(dir, 'small');
    writeFileSync(small, 'power_meter\n');
    expect((await readFileWithin(small, { maxBytes: 12 })).toString()).toBe('power_meter\n');
    const big = join(dir, 'big');
    writeFileSync(big, Buffer.alloc(1024 * 1024, 0x31));
    const err = await readFileWithin(big, { maxBytes: 4096 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileTooLargeError);
    expect((err as Error).message).toBe(`${big} holds more than 4096 bytes (a device or a wrong path?)`);
  });

  it('mkdirsSync fails at once where recursive mkdir loops forever (/proc), and creates what is missing elsewhere', () => {
    const t0 = performance.now();
    expect(() => mkdirsSync('/proc/scaph-test/a/b')).toThrow(/ENOENT/);
    expect(performance.now() - t0).toBeLessThan(500);
    mkdirsSync(join(dir, 'a', 'b', 'c'));
    mkdirsSync(join(dir, 'a', 'b', 'c'));
    writeFileSync(join(dir, 'file'), '');
    expect(() => mkdirsSync(join(dir, 'file', 'sub'))).toThrow(/ENOTDIR/);
  });
});
