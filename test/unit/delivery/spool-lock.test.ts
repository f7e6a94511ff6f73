import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireSpoolLock, releaseSpoolLock, SpoolLockedError } from '../../../src/delivery/spool-lock.js';

const startTime = (pid: number): string => {
  const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return text.slice(text.lastIndexOf(')') + 2).split(' ')[19] ?? '';
};

describe('spool lock', () => {
  it('is refused while another live process holds it, naming its pid', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-lock-'));
    writeFileSync(join(dir, 'lock'), `1 ${startTime(1)}\n`);
    expect(() => acquireSpoolLock(dir)).toThrow(SpoolLockedError);
    expect(() => acquireSpoolLock(dir)).toThrow(/in use by another scaph agent \(pid 1\)/);
  });

  it('is taken over from a process that is gone, or from a pid reused by another process', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-lock-'));
    writeFileSync(join(dir, 'lock'), '2147483 12345\n');
    acquireSpoolLock(dir);
    expect(readFileSync(join(dir, 'lock'), 'utf8')).toBe(`${process.pid} ${startTime(process.pid)}\n`);
    releaseSpoolLock(dir);
    writeFileSync(join(dir, 'lock'), `1 ${Number(startTime(1)) + 1}\n`);
    acquireSpoolLock(dir);
    expect(readFileSync(join(dir, 'lock'), 'utf8')).toMatch(new RegExp(`^${process.pid} `));
  });
});
