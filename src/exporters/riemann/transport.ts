/**
 * Riemann transport: what is specific to Riemann's wire (events in Msgs of bounded size, length-prefixed
 * frames on one TCP/TLS connection, one ack per Msg, ok=false, TLS problems in plain words). Queueing,
 * retry with backoff and jitter, timeouts and the delivery counters are the delivery core's.
 */
import type { Logger } from '../../core/log.js';
import { OK, type Outcome } from '../../delivery/outcome.js';
import type { DeliveryTuning } from '../../delivery/push-exporter.js';
import type { QueuedSample, Transport } from '../../delivery/transport.js';
import type { TlsOptions } from '../../net/tls.js';
import { RiemannConnection, type RiemannEndpoint } from './connection.js';
import type { RiemannEventOptions } from './events.js';
import { describeRiemannFailure, type RiemannTlsFiles } from './problems.js';
import type { RiemannMsg } from './proto.js';
import { RiemannWireEncoder, type RiemannFrame } from './wire.js';

export type { RiemannFrame } from './wire.js';

export interface RiemannOptions extends RiemannEventOptions {
  /** Riemann server address (-a): also the name checked against its certificate. */
  readonly host: string;
  readonly port: number;
  /** null = plain TCP. */
  readonly tls: TlsOptions | null;
  /** The files behind `tls`, named in error messages. */
  readonly tlsFiles?: RiemannTlsFiles;
  /** Most events in one Msg (one ack each). */
  readonly maxEventsPerMsg: number;
  readonly connectTimeoutMs: number;
  readonly logger: Logger;
}

export const RIEMANN_DEFAULTS = { port: 5555, ttlS: 60, maxEventsPerMsg: 500, connectTimeoutMs: 5_000 } as const;

/** Drop reason when Riemann answered ok=false. */
export const DROP_RIEMANN_ERROR = 'riemann_error';

export interface RiemannBatch {
  readonly frames: readonly RiemannFrame[];
}

/** What the server answered, by Msg and by event (the delivery core counts samples). */
export interface RiemannCounters {
  msgsAcked: number;
  msgsRejected: number;
  eventsAcked: number;
  eventsRejected: number;
}

export class RiemannTransport implements Transport<RiemannBatch> {
  readonly name = 'riemann';
  readonly counters: RiemannCounters = { msgsAcked: 0, msgsRejected: 0, eventsAcked: 0, eventsRejected: 0 };
  readonly connection: RiemannConnection;
  private readonly encoder: RiemannWireEncoder;
  /**
   * Per queued sample, how many of its Msgs the server has answered (always a prefix: replies are in
   * order). A retry re-encodes the batch; send() skips what was answered, so nothing is sent twice.
   */
  private readonly answered = new WeakMap<QueuedSample, number>();
  /** First ok=false error not yet reported through an outcome (a retry may come between). */
  private unreportedRejection: string | null = null;
  /** The TLS problem last logged; cleared by a successful send so a recurrence is logged again. */
  private loggedTlsProblem: string | null = null;

  constructor(private readonly options: RiemannOptions) {
    this.encoder = new RiemannWireEncoder(options, options.maxEventsPerMsg);
    const endpoint: RiemannEndpoint = { host: options.host, port: options.port, tls: options.tls, connectTimeoutMs: options.connectTimeoutMs };
    this.connection = new RiemannConnection(endpoint);
  }

  /** Pure: the same entries always give the same frames (a Msg never spans two samples). */
  get target(): string {
    const host = this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host;
    return `${host}:${this.options.port}`;
  }

  encode(entries: readonly QueuedSample[]): RiemannBatch {
    return { frames: this.encoder.encode(entries) };
  }

  async send(batch: RiemannBatch, signal: AbortSignal): Promise<Outcome> {
    const todo = batch.frames.filter((f) => f.index >= (this.answered.get(f.entry) ?? 0));
    if (todo.length > 0) {
      try {
        await this.connection.request(
          todo.map((f) => f.bytes),
          signal,
          (i, msg) => this.onReply(todo[i] as RiemannFrame, msg),
        );
      } catch (err) {
        if (signal.aborted) throw err;
        return this.failed(err);
      }
    }
    this.loggedTlsProblem = null;
    const rejection = this.unreportedRejection;
    this.unreportedRejection = null;
    // Riemann processed the Msg up to the event its streams threw on: sending it again would not help.
    if (rejection !== null) return { kind: 'drop', reason: DROP_RIEMANN_ERROR, error: `Riemann answered ok=false: ${rejection}` };
    return OK;
  }

  async close(): Promise<void> {
    this.connection.close();
  }

  private onReply(frame: RiemannFrame, msg: RiemannMsg): void {
    this.answered.set(frame.entry, frame.index + 1);
    if (msg.ok === true) {
      this.counters.msgsAcked += 1;
      this.counters.eventsAcked += frame.events;
      return;
    }
    this.counters.msgsRejected += 1;
    this.counters.eventsRejected += frame.events;
    this.unreportedRejection ??= msg.error ?? '(no error text)';
  }

  private failed(err: unknown): Outcome {
    const problem = describeRiemannFailure(err, this.connection.endpoint, this.options.tlsFiles);
    if (problem.tls && problem.text !== this.loggedTlsProblem) {
      this.loggedTlsProblem = problem.text;
      this.options.logger.error({ transport: this.name, address: `${this.options.host}:${this.options.port}` }, problem.text);
    }
    return { kind: 'retry', error: problem.text };
  }
}

/**
 * Riemann's delivery queue: about one TTL of samples at the exporter's step (`stepMs`), and nothing older
 * than the TTL: an event older than its ttl is expired by Riemann's index on arrival.
 */
export function riemannDelivery(ttlS: number, stepMs: number): DeliveryTuning {
  const ttlMs = ttlS * 1000;
  return { maxAgeMs: ttlMs, maxQueueSamples: Math.max(1, Math.ceil(ttlMs / stepMs) + 1) };
}
