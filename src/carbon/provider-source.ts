/**
 * A live grid signal as an intensity source: the provider is asked in the background (a sample never waits
 * for it), every `refreshMs`, one request at a time, each within `timeoutMs`, its answer size-capped.
 *
 * What a step is counted at:
 * - the provider's value while its last request succeeded and is younger than two refreshes (source
 *   `provider`);
 * - else the static table's value of the zone's country (source `static`), said once when the provider
 *   fails (down, slow, 401, garbage, a zone it does not know) and once when it answers again; the provider
 *   is asked again every min(refresh, 1 minute) meanwhile;
 * - else (a zone the table does not hold) nothing: no emissions are counted and the intensity is not
 *   published until the provider answers, said once. A provider's value is never carried past its failure
 *   as if it were live.
 *
 * An answer for a period older than max(2 refreshes, 3 hours) is a failure too: the provider is stuck.
 */
import { undici } from '../core/lazy-modules.cjs';
import type { Logger } from '../core/log.js';
import { errorText } from '../core/errors.js';
import { readJsonAnswer } from '../sensors/containers/answer.js';
import { withDeadline } from '../sensors/containers/refresh.js';
import type { Intensity, IntensitySource } from './intensity.js';
import { parseProviderAnswer, providerRequest, ProviderAnswerError, type CarbonProvider, type ProviderReading } from './providers.js';
import type { StaticZone } from './zones.js';

export interface ProviderSourceOptions {
  readonly provider: CarbonProvider;
  readonly baseUrl: string;
  readonly zone: string;
  readonly token: string | null;
  /** The static row used while the provider fails; null: none (nothing is counted then). */
  readonly fallback: StaticZone | null;
  readonly refreshMs: number;
  /** Deadline of one request, answer included, ms. */
  readonly timeoutMs: number;
  readonly logger: Logger;
  /** Wall clock, ms (tests). */
  readonly nowMs?: () => number;
}

/** A provider's answer is a few hundred bytes. */
const MAX_ANSWER_BYTES = 64 * 1024;
/** While failing, asked again at least this often. */
const MAX_RETRY_MS = 60_000;
/** A value for a period older than this (or two refreshes, when longer) is stale. */
const MAX_PERIOD_AGE_MS = 3 * 3_600_000;

export const DEFAULT_CARBON_REFRESH_MS = 15 * 60_000;
export const DEFAULT_CARBON_TIMEOUT_MS = 10_000;

interface Held {
  readonly value: Intensity;
  /** When it was fetched (wall clock), ms. */
  readonly atMs: number;
}

export class ProviderIntensitySource implements IntensitySource {
  private held: Held | null = null;
  private readonly fallbackValue: Intensity | null;
  private failing: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly abort = new AbortController();
  private inFlight: Promise<void> | null = null;
  private readonly now: () => number;

  constructor(private readonly o: ProviderSourceOptions) {
    this.now = o.nowMs ?? Date.now;
    this.fallbackValue = o.fallback ? Object.freeze({ gPerKwh: o.fallback.gPerKwh, source: 'static', zone: o.zone }) : null;
  }

  async start(): Promise<void> {
    await this.refresh();
  }

  current(): Intensity | null {
    const held = this.held;
    if (held !== null && this.now() - held.atMs <= 2 * this.o.refreshMs) return held.value;
    return this.fallbackValue;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.abort.abort();
    await this.inFlight;
  }

  describe(): Record<string, unknown> {
    return {
      intensity: 'provider',
      provider: this.o.provider,
      url: this.o.baseUrl,
      zone: this.o.zone,
      refreshS: this.o.refreshMs / 1000,
      fallback: this.o.fallback ? { zone: this.o.fallback.code, gPerKwh: this.o.fallback.gPerKwh, year: this.o.fallback.year } : null,
    };
  }

  private refresh(): Promise<void> {
    const run = this.ask().finally(() => {
      this.inFlight = null;
      this.schedule(this.failing === null ? this.o.refreshMs : Math.min(this.o.refreshMs, MAX_RETRY_MS));
    });
    this.inFlight = run;
    return run;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.refresh();
    }, delayMs);
    this.timer.unref();
  }

  private async ask(): Promise<void> {
    try {
      const reading = await this.fetchReading();
      this.checkAge(reading);
      this.held = { value: Object.freeze({ gPerKwh: reading.gPerKwh, source: 'provider', zone: this.o.zone }), atMs: this.now() };
      this.recovered(reading);
    } catch (err) {
      if (this.stopped) return;
      // Never carried past a failure as if it were live.
      this.held = null;
      this.failed(errorText(err));
    }
  }

  private async fetchReading(): Promise<ProviderReading> {
    const { url, headers } = providerRequest(this.o.provider, this.o.baseUrl, this.o.zone, this.o.token);
    return withDeadline(this.abort.signal, this.o.timeoutMs, async (signal) => {
      const res = await undici().request(url, { method: 'GET', signal, headers: { accept: 'application/json', ...headers } });
      const what = `GET ${pathOf(url)}`;
      if (res.statusCode < 200 || res.statusCode >= 300) {
        const body = await readJsonAnswer(res.body, res.headers['content-length'], MAX_ANSWER_BYTES, what).catch(() => null);
        throw new ProviderAnswerError(`${what} answered HTTP ${res.statusCode}${statusHint(res.statusCode)}${messageOf(body)}`);
      }
      return parseProviderAnswer(this.o.provider, await readJsonAnswer(res.body, res.headers['content-length'], MAX_ANSWER_BYTES, what), this.o.zone);
    });
  }

  private checkAge(reading: ProviderReading): void {
    if (reading.forMs === null) return;
    const maxAgeMs = Math.max(2 * this.o.refreshMs, MAX_PERIOD_AGE_MS);
    if (this.now() - reading.forMs > maxAgeMs) {
      throw new ProviderAnswerError(`its latest value is for ${new Date(reading.forMs).toISOString()}, more than ${Math.round(maxAgeMs / 60_000)} minutes ago: stale`);
    }
  }

  private failed(error: string): void {
    if (this.failing !== null) {
      this.o.logger.debug({ provider: this.o.provider, err: error }, 'the carbon intensity provider still fails');
      return;
    }
    this.failing = error;
    const retryS = Math.min(this.o.refreshMs, MAX_RETRY_MS) / 1000;
    const fb = this.o.fallback;
    this.o.logger.warn(
      { provider: this.o.provider, zone: this.o.zone, err: error, retryEveryS: retryS },
      fb
        ? `the carbon intensity provider failed: emissions are counted at scaph's static value for ${fb.code} (${fb.gPerKwh} g/kWh, ${fb.year}; source="static") until it answers; asked again every ${retryS} s (said once)`
        : `the carbon intensity provider failed and scaph's table has no value for zone ${this.o.zone}: no emissions are counted until it answers; asked again every ${retryS} s (said once)`,
    );
  }

  private recovered(reading: ProviderReading): void {
    if (this.failing === null) {
      this.o.logger.debug({ provider: this.o.provider, zone: this.o.zone, gPerKwh: reading.gPerKwh }, 'carbon intensity');
      return;
    }
    this.failing = null;
    this.o.logger.warn({ provider: this.o.provider, zone: this.o.zone, gPerKwh: reading.gPerKwh }, 'the carbon intensity provider answers again: emissions are counted at its value (source="provider")');
  }
}

function pathOf(url: string): string {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
}

function statusHint(status: number): string {
  if (status === 401 || status === 403) return ' (the token was refused: check --carbon-token-file)';
  if (status === 404 || status === 400) return ' (check the zone and --carbon-api-url)';
  if (status === 429) return ' (rate limited: raise --carbon-refresh)';
  return '';
}

/** The error body's message (`error` or `message`), cut short. */
function messageOf(body: unknown): string {
  if (body === null || typeof body !== 'object') return '';
  const b = body as { error?: unknown; message?: unknown };
  const text = typeof b.error === 'string' ? b.error : typeof b.message === 'string' ? b.message : null;
  return text === null || text === '' ? '' : `: ${JSON.stringify(text.slice(0, 120))}`;
}

