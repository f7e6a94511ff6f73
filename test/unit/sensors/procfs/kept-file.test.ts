import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NotRegularFileError } from '../../../../src/core/bounded-fs.js';
import { KeptFile } from '../../../../src/sensors/procfs/kept-file.js';

const openFds = (): number => readdirSync('/proc/self/fd').length;

describe('KeptFile', () => {
  let dir: string;
  let file: KeptFile | null = null;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'scaph-kept-'));
  });
  afterEach(() => {
    file?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the file again through one kept fd after it is rewritten in place, as procfs regenerates it', () => {
    const path = join(dir, 'stat');
    writeFileSync(path, 'cpu  1 2 3\n');
    file = new KeptFile(path);
    const before = openFds();
    expect(file.readText()).toBe('cpu  1 2 3\n');
    expect(openFds()).toBe(before + 1);
    writeFileSync(path, 'cpu  10 20 30 40\n');
    expect(file.readText()).toBe('cpu  10 20 30 40\n');
    writeFileSync(path, 'cpu  7\n');
    expect(file.readText()).toBe('cpu  7\n');
    expect(openFds()).toBe(before + 1);
    file.close();
    expect(openFds()).toBe(before);
    // Still usable: it opens the file again.
    expect(file.readText()).toBe('cpu  7\n');
  });

  it('reads a file larger than its first buffer whole', () => {
    const path = join(dir, 'meminfo');
    const text = 'x'.repeat(10_000) + '\nend\n';
    writeFileSync(path, text);
    file = new KeptFile(path);
    expect(file.readText()).toBe(text);
    expect(file.readText()).toBe(text);
  });

  it('refuses a FIFO without blocking, and fails for a missing file until it appears', () => {
    const fifo = join(dir, 'loadavg');
    execFileSync('mkfifo', [fifo]);
    file = new KeptFile(fifo);
    expect(() => (file as KeptFile).readText()).toThrow(NotRegularFileError);
    const missing = new KeptFile(join(dir, 'uptime'));
    expect(() => missing.readText()).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    writeFileSync(join(dir, 'uptime'), '123.45 6.78\n');
    expect(missing.readText()).toBe('123.45 6.78\n');
    missing.close();
  });

  it('reads the real /proc/self/statm and /proc/stat', () => {
    file = new KeptFile('/proc/self/statm');
    expect(file.readText()).toMatch(/^\d+ \d+ \d+ /);
    const stat = new KeptFile('/proc/stat');
    expect(stat.readText()).toMatch(/^cpu /);
    expect(stat.readText()).toMatch(/^cpu /);
    stat.close();
  });
});
