import type { Outcome } from '../../../src/delivery/outcome.js';
import type { QueuedSample, Transport } from '../../../src/delivery/transport.js';

export interface SentBatch {
  readonly timestamps: number[];
  readonly atMs: number;
  readonly outcome: Outcome | 'hung';
}

/**
 * A transport whose outcomes the test scripts: `script` is consumed one outcome per send, then
 * `fallback` repeats. 'hang' never answers until aborted. Records every attempt.
 */
export class FakeTransport implements Transport<readonly QueuedSample[]> {
  readonly name = 'fake';
  readonly attempts: SentBatch[] = [];
  /** Every batch sent, as encoded (the self-metrics entry last). */
  readonly batches: Array<readonly QueuedSample[]> = [];
  closed = false;
  constructor(
    public script: Array<Outcome | 'hang'> = [],
    public fallback: Outcome | 'hang' = { kind: 'ok' },
  ) {}

  encode(entries: readonly QueuedSample[]): readonly QueuedSample[] {
    return entries;
  }

  get delivered(): number[] {
    return this.attempts.filter((a) => a.outcome !== 'hung' && a.outcome.kind === 'ok').flatMap((a) => a.timestamps);
  }

  async send(batch: readonly QueuedSample[], signal: AbortSignal): Promise<Outcome> {
    const next = this.script.shift() ?? this.fallback;
    this.batches.push(batch);
    // Self-metrics ride along as the last entry: only the scaph samples' timestamps are recorded.
    const timestamps = batch.filter((e) => !e.metrics.some((m) => m.name.startsWith('scaph_delivery_'))).map((e) => e.timestampMs);
    if (next === 'hang') {
      this.attempts.push({ timestamps, atMs: performance.now(), outcome: 'hung' });
      return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
    }
    this.attempts.push({ timestamps, atMs: performance.now(), outcome: next });
    return next;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
