import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Exporter } from '../core/exporter.js';
import type { Logger } from '../core/log.js';
import type { Sample } from '../core/sample.js';
import type { Outcome } from './outcome.js';
import type { PushExporter, SettleListener } from './push-exporter.js';
import { Spool, type SpoolOptions } from './spool.js';
import type { QueuedSample } from './transport.js';

export interface SpooledExporterOptions extends Omit<SpoolOptions, 'onDrop' | 'logger'> {
  readonly logger: Logger;
  /** Most samples handed to the in-memory queue at once (the rest wait on disk). Default 50. */
  readonly windowSamples?: number;
}

interface Fed {
  readonly seq: number;
  readonly timestampMs: number;
}

/**
 * A push exporter with a write-ahead disk spool in front of its queue. Every sample is appended to the
 * spool before anything else (so a SIGKILL loses nothing already sampled), then handed to the delivery
 * core when fewer than `windowSamples` are in flight there; the rest waits on disk and is read back in
 * order. The core reports what it settled (sent or given up on) and the spool acknowledges up to there;
 * acknowledged segments are deleted. After a restart, unacknowledged records are replayed first, so
 * every series still goes out in timestamp order.
 */
export class SpooledExporter implements Exporter, SettleListener {
  readonly name: string;
  private readonly spool: Spool;
  private readonly fed: Fed[] = [];
  private nextSeq: number;
  private readonly window: number;
  private stopped = false;

  constructor(
    readonly inner: PushExporter,
    private readonly options: SpooledExporterOptions,
  ) {
    this.name = inner.name;
    this.window = Math.max(1, options.windowSamples ?? 50);
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
    const seq = this.spool.append(sample.timestampMs, encodeSample(sample));
    if (seq === this.nextSeq && this.fed.length < this.window) {
      // Nothing waiting on disk: hand the live object over, no read back.
      this.feed(seq, sample);
    } else {
      this.pump();
    }
    this.updateStats();
  }

  settled(entries: readonly QueuedSample[], _outcome: Outcome): void {
    const last = entries[entries.length - 1];
    if (!last) return;
    // The core settles in queue order: everything fed before the last settled entry is done too.
    const at = this.fed.findIndex((f) => f.timestampMs === last.timestampMs);
    if (at < 0) return;
    const done = this.fed.splice(0, at + 1);
    this.spool.ack((done[done.length - 1] as Fed).seq);
    if (!this.stopped) queueMicrotask(() => this.pump());
    this.updateStats();
  }

  async stop(deadlineMs: number): Promise<void> {
    this.stopped = true;
    try {
      await this.inner.stop(deadlineMs);
    } finally {
      this.spool.close();
      this.updateStats();
    }
  }

  /** Hands records waiting on disk to the core, oldest first, up to the window. */
  private pump(): void {
    while (!this.stopped && this.fed.length < this.window) {
      const records = this.spool.read(this.nextSeq, this.window - this.fed.length);
      if (records.length === 0) {
        this.nextSeq = Math.max(this.nextSeq, this.spool.nextSequence);
        return;
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
