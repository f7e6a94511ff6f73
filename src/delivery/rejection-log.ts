import type { Logger } from '../core/log.js';
import type { Rejection } from './outcome.js';

/** Messages remembered to say each once; beyond, the memory starts again (a backend with endless distinct messages). */
const MAX_REMEMBERED = 256;

/**
 * Says what a backend rejected within requests it accepted (OTLP partial success), once per distinct
 * message: a Collector dropping the same points at every step would otherwise write a line per step. The
 * count goes on in scaph_delivery_rejected_points_total.
 */
export class RejectionLog {
  private readonly said = new Set<string>();

  constructor(
    private readonly logger: Logger,
    private readonly transport: string,
  ) {}

  /** The backend's answer to one request; `totalPoints`: rejected so far, this one included. */
  rejected(r: Rejection, totalPoints: number): void {
    const key = `${r.points > 0 ? 'r' : 'w'}|${r.message}`;
    if (this.said.has(key)) return;
    if (this.said.size >= MAX_REMEMBERED) this.said.clear();
    this.said.add(key);
    const message = r.message === '' ? '(no message)' : r.message;
    if (r.points > 0) {
      this.logger.warn(
        { transport: this.transport, rejectedPoints: r.points, rejectedPointsTotal: totalPoints, error: message },
        'the backend accepted the request but rejected some of its data points (partial success); they are not resent (said once per message, counted in scaph_delivery_rejected_points_total)',
      );
    } else {
      this.logger.warn({ transport: this.transport, warning: message }, 'the backend accepted the request with a warning (said once per message)');
    }
  }
}
