import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../../src/core/package-file.js';
import { silentLogger } from '../../../src/core/log.js';
import { MetricsView } from '../../../src/core/metrics-view.js';
import { Spool } from '../../../src/delivery/spool.js';
import { FORMAT_FILE, SPOOL_FORMAT, SpoolFormatError } from '../../../src/delivery/spool-format.js';
import { encodeRecord, parseSegment } from '../../../src/delivery/spool-segment.js';
import { decodeSample } from '../../../src/delivery/spooled-exporter.js';

/** scaph 0.1.0's spool, captured (see its README): records 0-3, ack 1. */
const FIXTURE = join(packageRoot(), 'test', 'support', 'fixtures', 'spool-0.1.0');
const SEGMENT = '0000000000000000.seg';

function open(dir: string, now = Date.now()): Spool {
  return Spool.open({ dir, maxBytes: 1024 ** 3, maxAgeMs: 100 * 365 * 86_400_000, logger: silentLogger(), now: () => now });
}

/** Every file of a directory with its bytes, to tell that nothing was touched. */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f)).toString('base64')]));
}

const temps: string[] = [];
afterAll(() => {
  for (const t of temps.splice(0)) rmSync(t, { recursive: true, force: true });
});

/** A fresh directory's `spool` path (not created), removed after the file's tests. */
function spoolPath(): string {
  const temp = mkdtempSync(join(tmpdir(), 'scaph-spool-format-'));
  temps.push(temp);
  return join(temp, 'spool');
}

function copyOfFixture(): string {
  const dir = spoolPath();
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

describe('spool format', () => {
  it('a new spool is marked with the format this scaph writes', () => {
    const dir = spoolPath();
    const s = open(dir);
    s.append(Date.now(), Buffer.from('x'));
    s.close();
    expect(SPOOL_FORMAT).toBe(1);
    expect(readFileSync(join(dir, FORMAT_FILE), 'utf8')).toBe('scaph spool format 1\n');
    expect(readdirSync(dir).sort()).toEqual(['0000000000000000.seg', 'format']);
    open(dir).close();
  });

  it("reads the spool scaph 0.1.0 left: the unsent records, with their timestamps and figures, and marks it format 1", () => {
    const dir = copyOfFixture();
    const s = open(dir);
    const records = s.read(0, 100);
    expect(records.map((r) => [r.seq, r.timestampMs])).toEqual([
      [2, 1796631172395],
      [3, 1796631173395],
    ]);
    const samples = records.map((r) => decodeSample(r.payload));
    expect(samples.map((x) => x.host.powerUw)).toEqual([17069607.6008942, 16904044.26488416]);
    expect(samples[0]?.processes.map((p) => [p.pid, p.exe, p.powerUw])).toEqual([
      [202, 'postgres', 8534804],
      [101, 'nginx', 4267402],
    ]);
    // Through today's metrics view, as an exporter replaying it sends them.
    const host = samples.map((x) => new MetricsView({ version: 'test' }).metrics(x).find((m) => m.name === 'scaph_host_power_microwatts'));
    expect(host.map((m) => [m?.value, m?.labels])).toEqual([
      [17069608, { value_source: 'powercap_rapl_psys' }],
      [16904044, { value_source: 'powercap_rapl_psys' }],
    ]);
    expect(s.nextSequence).toBe(4);
    s.close();
    expect(readFileSync(join(dir, FORMAT_FILE), 'utf8')).toBe('scaph spool format 1\n');
    // The segment and the ack are as 0.1.0 left them: what it wrote is still what it would read back.
    expect(readFileSync(join(dir, SEGMENT)).equals(readFileSync(join(FIXTURE, SEGMENT)))).toBe(true);
    expect(readFileSync(join(dir, 'ack'), 'utf8')).toBe('1\n');
  });

  it('writes records byte for byte as 0.1.0 did, so a downgrade reads them (0.1.0 lists only *.seg and ack)', () => {
    const original = readFileSync(join(FIXTURE, SEGMENT));
    const reencoded = Buffer.concat(parseSegment(original).records.map((r) => encodeRecord(r.seq, r.timestampMs, r.payload)));
    expect(reencoded.equals(original)).toBe(true);
  });

  it('a newer format on disk: refused naming the directory and both formats, before anything in it is touched', () => {
    const dir = copyOfFixture();
    writeFileSync(join(dir, FORMAT_FILE), 'scaph spool format 2\n');
    const before = snapshot(dir);
    expect(() => open(dir)).toThrow(SpoolFormatError);
    expect(() => open(dir)).toThrow(
      `spool directory "${dir}" holds spool format 2, written by a newer scaph; this scaph reads spool format 1. Nothing in it was changed: ` +
        'run the scaph version that wrote it (its unsent samples are still there), or give this one another spool_dir',
    );
    // No lock taken, no segment indexed away, no marker rewritten.
    expect(snapshot(dir)).toEqual(before);
    expect(new SpoolFormatError(dir, 'x').exitCode).toBe(1);
  });

  it('a marker it cannot read or understand is refused the same way', () => {
    const garbled = copyOfFixture();
    writeFileSync(join(garbled, FORMAT_FILE), 'v2 please\n');
    expect(() => open(garbled)).toThrow(/holds a "format" marker scaph does not understand \("v2 please\\n"\)/);
    const directory = copyOfFixture();
    mkdirSync(join(directory, FORMAT_FILE));
    const before = snapshot(join(directory, FORMAT_FILE));
    expect(() => open(directory)).toThrow(/holds a "format" marker that cannot be read \(it is a directory\)/);
    expect(snapshot(join(directory, FORMAT_FILE))).toEqual(before);
    expect(readdirSync(directory).sort()).toEqual(['0000000000000000.seg', 'README.md', 'ack', 'format']);
  });
});
