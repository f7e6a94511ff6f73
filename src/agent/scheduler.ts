import type { Exporter, MissedStep } from '../core/exporter.js';
import type { Logger } from '../core/log.js';
import type { Sample } from '../core/sample.js';
import { MeasurementUnavailableError, type Sensor } from '../core/sensor.js';

export interface SchedulerOptions {
  readonly stepMs: number;
  /** When the first reading is taken, ms after start (default: one step); the next ones follow every step. */
  readonly firstTickMs?: number;
  /** Stop after this many ms (the exporters' -t); null = run until stop() is called. */
  readonly durationMs: number | null;
  readonly logger: Logger;
}

/** setTimeout's longest delay (2^31 - 1 ms, ~24.8 days): a longer one fires after 1 ms instead. */
export const MAX_TIMER_MS = 2_147_483_647;
/** While ticks keep being skipped, at most one log line per this period. */
const OVERRUN_LOG_EVERY_MS = 60_000;

/**
 * One loop, one sample per step, handed to every exporter without awaiting it. Ticks are aligned on
 * a monotonic schedule; a reading that overruns its step makes the loop skip the missed ticks instead
 * of running readings back to back.
 *
 * A reading that fails (power not measurable, procfs unreadable) publishes nothing for that step, and
 * every exporter is told (Exporter.missed: one that presents a latest sample as current withdraws it); the
 * loop carries on. It says so once when readings start failing (again when the reason changes, except
 * while power is unavailable) and once when they recover, with the number of steps skipped.
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
  /** Steps whose reading failed, in total and in the current failing run. */
  failedReadings = 0;
  private failing: { readonly sinceMs: number; steps: number; lastError: string } | null = null;
  private lastOverrunLogMs = Number.NEGATIVE_INFINITY;
  private overrunsSinceLog = 0;
  private stepMs: number;
  /** Tick `tick` starts at `atMs` after start, the next ones one step apart (moved by setStep). */
  private anchor: { readonly tick: number; readonly atMs: number };

  constructor(
    private readonly sensor: Sensor,
    private exporters: readonly Exporter[],
    private readonly options: SchedulerOptions,
  ) {
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
    this.stepMs = options.stepMs;
    this.anchor = { tick: 1, atMs: options.firstTickMs ?? options.stepMs };
  }

  /** From the next tick on, samples go to these exporters (a reload). */
  setExporters(exporters: readonly Exporter[]): void {
    this.exporters = exporters;
  }

  /**
   * A new step (a reload): the next tick comes one new step after the last one (at once if that is past),
   * the following ones one new step apart.
   */
  setStep(stepMs: number): void {
    if (stepMs === this.stepMs) return;
    const lastTickMs = this.tickAtMs(this.tick);
    this.stepMs = stepMs;
    // Before the first tick, the first stays at firstTickMs.
    if (this.tick === 0) return;
    const elapsed = this.elapsedMs();
    this.anchor = { tick: this.tick + 1, atMs: Math.max(lastTickMs + stepMs, elapsed) };
    if (this.timer && !this.stopped) {
      clearTimeout(this.timer);
      this.timer = null;
      this.arm(this.anchor.atMs, elapsed);
    }
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

  /** Start of tick k (1-based), ms after start: the first at firstTickMs, then one every step (from the anchor a new step set). */
  private tickAtMs(k: number): number {
    return this.anchor.atMs + (k - this.anchor.tick) * this.stepMs;
  }

  private scheduleNext(): void {
    if (this.stopped) return;
    const { stepMs } = this;
    const elapsed = this.elapsedMs();
    let next = this.tickAtMs(this.tick + 1);
    if (next <= elapsed) {
      const missed = Math.floor((elapsed - next) / stepMs) + 1;
      this.skippedTicks += missed;
      this.tick += missed;
      next = this.tickAtMs(this.tick + 1);
      this.logOverrun(missed, elapsed);
    }
    this.arm(next, elapsed);
  }

  /** Sets the timer of the tick due at `next` (ms after start), or stops when that is past the duration. */
  private arm(next: number, elapsed: number): void {
    const { durationMs } = this.options;
    if (durationMs !== null && next > durationMs + 1) {
      this.stop();
      return;
    }
    const delay = next - elapsed;
    // A step beyond setTimeout's range waits in several timers (one longer would fire at once, a spin).
    this.timer = delay > MAX_TIMER_MS ? setTimeout(() => this.scheduleNext(), MAX_TIMER_MS) : setTimeout(() => void this.runTick(), delay);
  }

  private logOverrun(missed: number, elapsedMs: number): void {
    this.overrunsSinceLog += missed;
    if (elapsedMs - this.lastOverrunLogMs < OVERRUN_LOG_EVERY_MS) return;
    this.options.logger.warn(
      { missed: this.overrunsSinceLog, stepMs: this.stepMs },
      'sampling overran its step; skipping ticks (said at most once a minute)',
    );
    this.lastOverrunLogMs = elapsedMs;
    this.overrunsSinceLog = 0;
  }

  private async runTick(): Promise<void> {
    this.timer = null;
    this.tick += 1;
    this.running = true;
    try {
      const sample = await this.sensor.read();
      this.samples += 1;
      this.recovered();
      this.dispatch(sample);
    } catch (err) {
      this.readingFailed(err);
    } finally {
      this.running = false;
    }
    if (this.stopped) this.resolveDone?.();
    else this.scheduleNext();
  }

  private readingFailed(err: unknown): void {
    this.failedReadings += 1;
    const error = errorText(err);
    this.dispatchMissed({ timestampMs: Date.now(), reason: error });
    const failing = this.failing;
    if (failing) {
      failing.steps += 1;
      if (error === failing.lastError || err instanceof MeasurementUnavailableError) return;
      failing.lastError = error;
    } else {
      this.failing = { sinceMs: this.elapsedMs(), steps: 1, lastError: error };
    }
    this.options.logger.warn({ err: error }, 'no sample this step: nothing is published until readings work again (retried every step)');
  }

  private recovered(): void {
    const failing = this.failing;
    if (!failing) return;
    this.failing = null;
    this.options.logger.warn(
      { skippedSteps: failing.steps, failedForMs: Math.round(this.elapsedMs() - failing.sinceMs) },
      'readings work again: publishing resumes',
    );
  }

  private dispatchMissed(step: MissedStep): void {
    for (const exporter of this.exporters) {
      try {
        exporter.missed?.(step);
      } catch (err) {
        this.options.logger.error({ exporter: exporter.name, err: errorText(err) }, 'exporter failed on a step without a sample');
      }
    }
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
