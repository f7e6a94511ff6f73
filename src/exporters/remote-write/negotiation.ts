/**
 * Which remote-write version the next request to one receiver goes as. With --protocol-version 2.0 it is
 * 2.0 until the receiver shows it is a 1.x one (a 415, a 2xx without the Samples-Written header, a 400
 * without any Written header: see transport-v2.ts); then 1.0, remembered for this receiver until scaph
 * restarts or `recheckMs` has passed, when one request goes as 2.0 again (a receiver upgraded meanwhile is
 * found; one still 1.x costs that request once more, as 1.0, at once). The first fallback is said in one
 * warning with what to change; later ones (after a recheck) only at debug level; a recheck that finds 2.0
 * is said once.
 */
import type { Logger } from '../../core/log.js';

export type ProtocolVersion = '1.0' | '2.0';
export const PROTOCOL_VERSIONS: readonly ProtocolVersion[] = ['1.0', '2.0'];

export interface NegotiationOptions {
  readonly configured: ProtocolVersion;
  /** After a fallback, ms until 2.0 is tried again; null: only after a restart. */
  readonly recheckMs: number | null;
  readonly logger: Logger;
  /** Where requests go, for the log lines (no credentials). */
  readonly target: string;
  readonly now?: () => number;
}

export class ProtocolNegotiation {
  /** When the receiver last showed it is 1.x; null while 2.0 goes through (or 1.0 was asked for). */
  private fellBackAtMs: number | null = null;
  private warned = false;
  private readonly now: () => number;

  constructor(private readonly options: NegotiationOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The version the next request goes as. */
  version(): ProtocolVersion {
    if (this.options.configured === '1.0') return '1.0';
    const since = this.fellBackAtMs;
    if (since === null) return '2.0';
    const recheck = this.options.recheckMs;
    return recheck !== null && this.now() - since >= recheck ? '2.0' : '1.0';
  }

  /** The receiver answered a 2.0 request as a 1.x receiver does (`answer` says how): 1.0 from now on. */
  fellBack(answer: string): void {
    const again = this.fellBackAtMs !== null;
    this.fellBackAtMs = this.now();
    const fields = { transport: 'remote-write', url: this.options.target, answer };
    if (this.warned) {
      this.options.logger.debug({ ...fields, again }, 'the receiver still takes remote-write 1.0 only: the samples went again as 1.0');
      return;
    }
    this.warned = true;
    const recheck = this.options.recheckMs;
    const when = recheck === null ? 'at the next start' : `in ${Math.round(recheck / 1000)} s, and at the next start`;
    this.options.logger.warn(
      { ...fields, ...(recheck === null ? {} : { recheckInS: Math.round(recheck / 1000) }) },
      `the receiver does not take remote-write 2.0 (it answered ${answer}): the same samples went again at once as 1.0; ` +
        `scaph sends 1.0 to it from now on and tries 2.0 again ${when}. Upgrade the receiver to one that takes 2.0 ` +
        '(Prometheus >= 2.54 with --web.enable-remote-write-receiver, Mimir >= 2.17, Grafana Alloy, the OpenTelemetry Collector), ' +
        'or set --protocol-version 1.0 (protocol_version = "1.0") to stop trying',
    );
  }

  /** The receiver wrote a 2.0 request (it sent the Written headers). */
  confirmed(): void {
    if (this.fellBackAtMs === null) return;
    this.fellBackAtMs = null;
    this.options.logger.info({ transport: 'remote-write', url: this.options.target }, 'the receiver takes remote-write 2.0 now: scaph sends 2.0 again');
  }
}
