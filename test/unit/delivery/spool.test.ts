import { appendFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/core/log.js';
import { createPushExporter } from '../../../src/delivery/push-exporter.js';
import { DROP_SPOOL_CORRUPT, DROP_SPOOL_FULL, DROP_SPOOL_TOO_OLD, Spool, type SpoolOptions } from '../../../src/delivery/spool.js';
import { RECORD_HEADER_BYTES } from '../../../src/delivery/spool-segment.js';
import { SpooledExporter } from '../../../src/delivery/spooled-exporter.js';
import { syntheticSample } from '../../support/fixtures/synthetic-sample.js';
import { FakeTransport } from '../../support/fakes/fake-transport.js';

const T0 = Date.UTC(2026, 0, 1);

function open(dir: string, drops: Map<string, number>, over: Partial<SpoolOptions> = {}): Spool {
  return Spool.open({
    dir,
    maxBytes: 1024 * 1024,
    maxAgeMs: 3_600_000,
    logger: silentLogger(),
    onDrop: (reason, n) => drops.set(reason, (drops.get(reason) ?? 0) + n),
    now: () => T0 + 60_000,
    ...over,
  });
}

const payload = (i: number, size = 100): Buffer => Buffer.alloc(size, i % 256);
const seqs = (s: Spool): number[] => s.read(0, 10_000).map((r) => r.seq);

describe('Spool', () => {
  it('replays unacknowledged records in order after a reopen, and deletes acknowledged segments', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-'));
    const drops = new Map<string, number>();
    const a = open(dir, drops, { segmentBytes: 500 });
    for (let i = 0; i < 10; i++) expect(a.append(T0 + i * 1000, payload(i))).toBe(i);
    expect(readdirSync(dir).filter((f) => f.endsWith('.seg'))).toHaveLength(3);
    a.ack(3);
    expect(a.pending).toBe(6);
    a.close();
    const b = open(dir, drops, { segmentBytes: 500 });
    const records = b.read(0, 100);
    expect(records.map((r) => r.seq)).toEqual([4, 5, 6, 7, 8, 9]);
    expect(records.map((r) => r.timestampMs)).toEqual([4, 5, 6, 7, 8, 9].map((i) => T0 + i * 1000));
    expect(records[0]?.payload.equals(payload(4))).toBe(true);
    expect(b.nextSequence).toBe(10);
    expect(b.append(T0 + 10_000, payload(10))).toBe(10);
    b.ack(9);
    // Segments wholly behind the ack are gone; the open one stays.
    expect(readdirSync(dir).filter((f) => f.endsWith('.seg'))).toHaveLength(1);
    expect(seqs(b)).toEqual([10]);
    expect(drops.size).toBe(0);
  });

  it('keeps the size cap by dropping the oldest segments, and counts what it dropped', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-'));
    const drops = new Map<string, number>();
    const s = open(dir, drops, { maxBytes: 4096, segmentBytes: 1024 });
    for (let i = 0; i < 100; i++) {
      s.append(T0 + i, payload(i));
      expect(s.bytes).toBeLessThanOrEqual(4096);
    }
    const kept = seqs(s);
    expect(kept[kept.length - 1]).toBe(99);
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => 100 - kept.length + i));
    expect(drops.get(DROP_SPOOL_FULL)).toBe(100 - kept.length);
    expect(kept.length).toBeGreaterThanOrEqual(24); // (4096 - one open segment) / 124-byte records
  });

  it('drops records older than the age cap, counting each once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-'));
    const drops = new Map<string, number>();
    let now = T0;
    const s = open(dir, drops, { maxAgeMs: 10_000, segmentBytes: 1_000_000, now: () => now });
    for (let i = 0; i < 20; i++) {
      now = T0 + i * 1000;
      s.append(now, payload(i));
    }
    now = T0 + 24_500; // records 0..14 are now older than 10 s
    expect(seqs(s)).toEqual([15, 16, 17, 18, 19]);
    expect(seqs(s)).toEqual([15, 16, 17, 18, 19]);
    expect(drops.get(DROP_SPOOL_TOO_OLD)).toBe(15);
  });

  it('survives a corrupt segment and a torn tail: keeps the good records, warns, never refuses to start', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-'));
    const drops = new Map<string, number>();
    const a = open(dir, drops, { segmentBytes: 600 });
    for (let i = 0; i < 12; i++) a.append(T0 + i, payload(i));
    a.close();
    const files = readdirSync(dir).filter((f) => f.endsWith('.seg')).sort();
    expect(files).toHaveLength(3); // 4 + 4 + 4 records of 124 bytes
    // Flip one payload byte of the 3rd record of the first segment (bit rot): its CRC no longer matches.
    const first = join(dir, files[0] as string);
    const bytes = readFileSync(first);
    const at = 2 * 124 + RECORD_HEADER_BYTES + 10;
    bytes[at] = (bytes[at] as number) ^ 0xff;
    writeFileSync(first, bytes);
    // A torn record at the end of the last segment (SIGKILL in the middle of a write).
    appendFileSync(join(dir, files[2] as string), Buffer.from([0, 0, 0, 100, 1, 2, 3]));
    const b = open(dir, drops, { segmentBytes: 600 });
    expect(seqs(b)).toEqual([0, 1, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(drops.get(DROP_SPOOL_CORRUPT)).toBe(2);
    // New records go to a fresh segment, after the damaged ones.
    expect(b.append(T0 + 12, payload(12))).toBe(12);
    expect(seqs(b).slice(-2)).toEqual([11, 12]);
    // A segment that is garbage from its first byte is deleted, not a reason to stop.
    writeFileSync(join(dir, '0000000000000100.seg'), Buffer.alloc(50, 0xff));
    b.close();
    const c = open(dir, drops, { segmentBytes: 600 });
    expect(seqs(c)).toEqual([0, 1, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(readdirSync(dir)).not.toContain('0000000000000100.seg');
  });
});

describe('SpooledExporter', () => {
  it('holds samples on disk through an outage and a restart, then delivers every one in order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spooled-'));
    const logger = silentLogger();
    const backoff = { minDelayMs: 20, maxDelayMs: 50 };
    const down = new FakeTransport([], { kind: 'retry', error: 'HTTP 503' });
    const first = new SpooledExporter(createPushExporter(down, { logger, backoff }), { dir, maxBytes: 1 << 20, maxAgeMs: 3_600_000, logger, windowSamples: 5 });
    await first.start();
    const stamps = Array.from({ length: 30 }, (_, i) => Date.now() - 60_000 + i * 1000);
    for (const t of stamps.slice(0, 20)) first.export(syntheticSample({ timestampMs: t }));
    expect(first.inner.stats.spoolSamples).toBe(20);
    // Only the window reached the memory queue; the rest waits on disk.
    expect(first.inner.stats.queueDepth).toBe(5);
    await new Promise((r) => setTimeout(r, 150));
    await first.stop(100);
    expect(down.delivered).toEqual([]);
    expect(first.inner.stats.snapshot().droppedTotal).toBe(0);

    const up = new FakeTransport();
    const second = new SpooledExporter(createPushExporter(up, { logger, backoff }), { dir, maxBytes: 1 << 20, maxAgeMs: 3_600_000, logger, windowSamples: 5 });
    expect(second.inner.stats.spoolSamples).toBe(20);
    await second.start();
    for (const t of stamps.slice(20)) second.export(syntheticSample({ timestampMs: t }));
    for (let i = 0; i < 100 && up.delivered.length < 30; i++) await new Promise((r) => setTimeout(r, 20));
    expect(up.delivered).toEqual(stamps);
    expect(second.inner.stats.spoolSamples).toBe(0);
    await second.stop(1000);
    expect(readdirSync(dir).filter((f) => f.endsWith('.seg')).length).toBeLessThanOrEqual(1);
  });
});
