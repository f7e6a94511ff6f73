import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Exporter, MissedStep } from '../core/exporter.js';
import type { Logger } from '../core/log.js';
import type { Sample } from '../core/sample.js';
import type { Outcome } from './outcome.js';
import type { PushExporter, SettleListener } from './push-exporter.js';
import { Spool, type SpoolOptions } from './spool.js';
import { DROP_QUEUE_FULL, DROP_SHUTDOWN } from './stats.js';
import type { QueuedSample } from './transport.js';
import { errorText } from '../core/errors.js';

export interface SpooledExporterOptions extends Omit<SpoolOptions, 'onDrop' | 'logger'> {
  readonly logger: Logger;
  /** Most samples handed to the in-memory queue at once (the rest wait on disk). Default 50. */
  readonly windowSamples?: number;
  /** Most samples kept in memory while the spool cannot be written (then the oldest go). Default 1000. */
  readonly memorySamples?: number;
}

interface Fed {
  /** The sample's spool record, or null for a sample kept in memory only (the disk refused it). */
  readonly seq: number | null;
  readonly timestampMs: number;
}

/**
 * A push exporter with a write-ahead disk spool in front of its queue. Every sample is appended to the
 * spool before anything else (so a SIGKILL loses nothing already sampled), then handed to the delivery
 * core when fewer than `windowSamples` are in flight there; the rest waits on disk and is read back in
 * order. The core reports what it settled (sent or given up on) and the spool acknowledges up to there;
 * acknowledged segments are deleted. After a restart, unacknowledged records are replayed first, so
 * every series still goes out in timestamp order.
 *
 * A disk that refuses writes (full, read-only, failing) degrades the spool, never the agent: samples are
 * then kept in memory, after everything on disk (so order holds), counted in
 * scaph_delivery_spool_write_failures_total, said once when it starts and once when the disk takes writes
 * again; at that point the samples still in memory are written to the spool first.
 */
export class SpooledExporter implements Exporter, SettleListener {
  readonly name: string;
  private readonly spool: Spool;
  private readonly fed: Fed[] = [];
  /** Samples not on disk (the spool refused them) and not yet handed to the core, oldest first. */
  private readonly memory: Sample[] = [];
  private nextSeq: number;
  private readonly window: number;
  private readonly memoryCap: number;
  private degradedSince: number | null = null;
  private stopped = false;

  constructor(
    readonly inner: PushExporter,
    private readonly options: SpooledExporterOptions,
  ) {
    this.name = inner.name;
    this.window = Math.max(1, options.windowSamples ?? 50);
    this.memoryCap = Math.max(1, options.memorySamples ?? 1000);
    this.spool = Spool.open({ ...options, onDrop: (reason, n) => inner.stats.addDropped(reason, n) });
    this.nextSeq = this.spool.acked + 1;
    const pending = this.spool.pending;
    if (pending > 0) options.logger.info({ transport: this.name, samples: pending, dir: options.dir }, 'replaying the spool');
    this.updateStats();
  }

  async start(): Promise<void> {
    this.inner.attachSpool(this);
    await this.inner.start();
    this.pump();
  }

  export(sample: Sample): void {
    if (this.stopped) return;
    this.memory.push(sample);
    if (this.memory.length > this.memoryCap) {
      this.memory.shift();
      this.inner.stats.addDropped(DROP_QUEUE_FULL, 1);
    }
    this.writeToDisk();
    this.pump();
    this.updateStats();
  }

  /**
   * Straight to the core, not through the disk: a step without a sample is no data to keep. Only a core
   * that withdraws figures (the Pushgateway's, whose queue holds one sample and no timestamps) acts on it.
   */
  missed(step: MissedStep): boolean {
    if (this.stopped) return false;
    return this.inner.missed?.(step) ?? false;
  }

  settled(entries: readonly QueuedSample[], _outcome: Outcome): void {
    const last = entries[entries.length - 1];
    if (!last) return;
    // The core settles in queue order: everything fed before the last settled entry is done too.
    const at = this.fed.findIndex((f) => f.timestampMs === last.timestampMs);
    if (at < 0) return;
    const done = this.fed.splice(0, at + 1);
    let ackSeq = -1;
    for (const f of done) if (f.seq !== null) ackSeq = f.seq;
    if (ackSeq >= 0) this.spool.ack(ackSeq);
    if (!this.stopped) queueMicrotask(() => this.pump());
    this.updateStats();
  }

  async stop(deadlineMs: number): Promise<void> {
    this.stopped = true;
    try {
      await this.inner.stop(deadlineMs);
    } finally {
      // What only memory held is lost now: on disk if the disk takes it at last, else counted.
      this.writeToDisk();
      const lost = this.memory.length + this.fed.filter((f) => f.seq === null).length;
      if (lost > 0) {
        this.inner.stats.addDropped(DROP_SHUTDOWN, lost);
        this.options.logger.warn({ transport: this.name, samples: lost }, 'stopping with samples the spool could not store: they are lost');
      }
      this.spool.close();
      this.updateStats();
    }
  }

  /** Appends the samples waiting in memory to the spool, oldest first, until the disk refuses one. */
  private writeToDisk(): void {
    while (this.memory.length > 0) {
      const sample = this.memory[0] as Sample;
      let seq: number;
      try {
        seq = this.spool.append(sample.timestampMs, encodeSample(sample));
      } catch (err) {
        this.writeFailed(err);
        return;
      }
      this.memory.shift();
      if (this.degradedSince !== null) this.writeRecovered();
      // Nothing waiting on disk before it: hand the live object over, no read back.
      if (seq === this.nextSeq && this.fed.length < this.window && !this.stopped) this.feed(seq, sample);
    }
  }

  private writeFailed(err: unknown): void {
    this.inner.stats.spoolWriteFailures += 1;
    if (this.degradedSince !== null) return;
    this.degradedSince = Date.now();
    this.options.logger.warn(
      { transport: this.name, dir: this.options.dir, err: errorText(err) },
      'cannot write to the spool: keeping samples in memory until it can (delivery goes on, but they would not survive a restart)',
    );
  }

  private writeRecovered(): void {
    this.options.logger.warn(
      { transport: this.name, dir: this.options.dir, failedForMs: Date.now() - (this.degradedSince ?? Date.now()), writeFailures: this.inner.stats.spoolWriteFailures },
      'the spool takes writes again: samples are on disk again',
    );
    this.degradedSince = null;
  }

  /** Hands waiting samples to the core, oldest first, up to the window: those on disk, then memory-only ones. */
  private pump(): void {
    while (!this.stopped && this.fed.length < this.window) {
      const records = this.spool.read(this.nextSeq, this.window - this.fed.length);
      if (records.length === 0) {
        this.nextSeq = Math.max(this.nextSeq, this.spool.nextSequence);
        const sample = this.memory.shift();
        if (!sample) return;
        this.fed.push({ seq: null, timestampMs: sample.timestampMs });
        this.inner.export(sample);
        continue;
      }
      for (const r of records) {
        let sample: Sample;
        try {
          sample = decodeSample(r.payload);
        } catch (err) {
          this.options.logger.warn({ transport: this.name, seq: r.seq, err: (err as Error).message }, 'undecodable spool record skipped');
          this.nextSeq = r.seq + 1;
          continue;
        }
        this.feed(r.seq, sample);
      }
    }
  }

  private feed(seq: number, sample: Sample): void {
    this.fed.push({ seq, timestampMs: sample.timestampMs });
    this.nextSeq = seq + 1;
    this.inner.export(sample);
  }

  private updateStats(): void {
    this.inner.stats.spoolSamples = this.spool.pending;
    this.inner.stats.spoolBytes = this.spool.bytes;
  }
}

/** A Sample is plain data: JSON round-trips it exactly. Deflate level 1 keeps it cheap and ~8x smaller. */
export function encodeSample(sample: Sample): Buffer {
  return deflateRawSync(Buffer.from(JSON.stringify(sample)), { level: 1 });
}

export function decodeSample(payload: Buffer): Sample {
  return JSON.parse(inflateRawSync(payload).toString('utf8')) as Sample;
}
