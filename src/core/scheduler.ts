import type { Exporter } from './exporter.js';
import type { Logger } from './log.js';
import type { Sample } from './sample.js';
import type { Sensor } from './sensor.js';

export interface SchedulerOptions {
  readonly stepMs: number;
  /** When the first reading is taken, ms after start (default: one step); the next ones follow every step. */
  readonly firstTickMs?: number;
  /** Stop after this many ms (the exporters' -t); null = run until stop() is called. */
  readonly durationMs: number | null;
  readonly logger: Logger;
}

/**
 * One loop, one sample per step, handed to every exporter without awaiting it. Ticks are aligned on
 * a monotonic schedule; a reading that overruns its step makes the loop skip the missed ticks instead
 * of running readings back to back.
 */
export class Scheduler {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private stopped = false;
  private readonly startNs = process.hrtime.bigint();
  private tick = 0;
  private resolveDone: (() => void) | null = null;
  readonly done: Promise<void>;
  skippedTicks = 0;
  samples = 0;

  constructor(
    private readonly sensor: Sensor,
    private readonly exporters: readonly Exporter[],
    private readonly options: SchedulerOptions,
  ) {
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
  }

  /** Starts the loop; the sensor must already be started (its first reading taken). */
  start(): void {
    this.scheduleNext();
  }

  /** Stops the loop; resolves once a reading in progress has been handed out. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.running) this.resolveDone?.();
  }

  private elapsedMs(): number {
    return Number(process.hrtime.bigint() - this.startNs) / 1e6;
  }

  /** Start of tick k (1-based), ms after start: the first at firstTickMs, then one every step. */
  private tickAtMs(k: number): number {
    const { stepMs, firstTickMs = stepMs } = this.options;
    return firstTickMs + (k - 1) * stepMs;
  }

  private scheduleNext(): void {
    if (this.stopped) return;
    const { stepMs, durationMs } = this.options;
    const elapsed = this.elapsedMs();
    let next = this.tickAtMs(this.tick + 1);
    if (next <= elapsed) {
      const missed = Math.floor((elapsed - next) / stepMs) + 1;
      this.skippedTicks += missed;
      this.tick += missed;
      next = this.tickAtMs(this.tick + 1);
      this.options.logger.warn({ missed, stepMs }, 'sampling overran its step; skipping ticks');
    }
    if (durationMs !== null && next > durationMs + 1) {
      this.stop();
      return;
    }
    this.timer = setTimeout(() => void this.runTick(), next - elapsed);
  }

  private async runTick(): Promise<void> {
    this.timer = null;
    this.tick += 1;
    this.running = true;
    try {
      const sample = await this.sensor.read();
      this.samples += 1;
      this.dispatch(sample);
    } catch (err) {
      this.options.logger.error({ err: errorText(err) }, 'reading the sensor failed; will retry next step');
    } finally {
      this.running = false;
    }
    if (this.stopped) this.resolveDone?.();
    else this.scheduleNext();
  }

  private dispatch(sample: Sample): void {
    for (const exporter of this.exporters) {
      try {
        exporter.export(sample);
      } catch (err) {
        // An exporter must never take the loop down with it.
        this.options.logger.error({ exporter: exporter.name, err: errorText(err) }, 'exporter failed on a sample');
      }
    }
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
