import type { Exporter } from '../core/exporter.js';
import type { Logger } from '../core/log.js';
import type { Sample } from '../core/sample.js';
import { MeasurementUnavailableError, type Sensor } from '../core/sensor.js';
import { gridClockMs, gridPointAtOrAfter } from './splay.js';

export interface SchedulerOptions {
  readonly stepMs: number;
  /** When the first reading is taken, ms after start (default: one step); the next ones follow every step. */
  readonly firstTickMs?: number;
  /**
   * Splay: the ticks after the first land on the wall-clock grid `phaseMs + k × stepMs` (src/agent/splay.ts).
   * The first grid tick is the first at least half a step, and at least firstTickMs, after the first tick,
   * so no interval is shorter than that. Absent or null: every step after the first tick.
   */
  readonly phaseMs?: number | null;
  /** The clock the grid is laid on (tests). Default gridClockMs. */
  readonly clockMs?: () => number;
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
 * a monotonic schedule (with splay, on this host's phase of the wall clock); a reading that overruns its
 * step makes the loop skip the missed ticks instead of running readings back to back.
 *
 * A reading that fails (power not measurable, procfs unreadable) publishes nothing for that step; the
 * loop carries on. It says so once when readings start failing (again when the reason changes, except
 * while power is unavailable) and once when they recover, with the number of steps skipped.
 */
export class Scheduler {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private stopped = false;
  private readonly startNs = process.hrtime.bigint();
  /** Splay: when the first grid tick comes, ms after start; null without splay. */
  private readonly gridStartMs: number | null;
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

  constructor(
    private readonly sensor: Sensor,
    private readonly exporters: readonly Exporter[],
    private readonly options: SchedulerOptions,
  ) {
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
    this.gridStartMs = options.phaseMs === undefined || options.phaseMs === null ? null : gridStartMs(options, (options.clockMs ?? gridClockMs)());
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

  /** Start of tick k (1-based), ms after start: the first at firstTickMs, then one every step (from the grid's start with splay). */
  private tickAtMs(k: number): number {
    const { stepMs, firstTickMs = stepMs } = this.options;
    if (k === 1) return firstTickMs;
    return this.gridStartMs === null ? firstTickMs + (k - 1) * stepMs : this.gridStartMs + (k - 2) * stepMs;
  }

  /** How many ticks start at or before `elapsedMs`. */
  private ticksUpTo(elapsedMs: number): number {
    const { stepMs, firstTickMs = stepMs } = this.options;
    if (elapsedMs < firstTickMs) return 0;
    if (this.gridStartMs === null) return Math.floor((elapsedMs - firstTickMs) / stepMs) + 1;
    if (elapsedMs < this.gridStartMs) return 1;
    return Math.floor((elapsedMs - this.gridStartMs) / stepMs) + 2;
  }

  private scheduleNext(): void {
    if (this.stopped) return;
    const { durationMs } = this.options;
    const elapsed = this.elapsedMs();
    let next = this.tickAtMs(this.tick + 1);
    if (next <= elapsed) {
      const missed = this.ticksUpTo(elapsed) - this.tick;
      this.skippedTicks += missed;
      this.tick += missed;
      next = this.tickAtMs(this.tick + 1);
      this.logOverrun(missed, elapsed);
    }
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
      { missed: this.overrunsSinceLog, stepMs: this.options.stepMs },
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

/**
 * Splay: ms after start of the first grid tick, the first point of the grid at least max(half a step,
 * firstTickMs) after the first tick. A shorter first interval would make a noisy figure of a few CPU ticks
 * (and in a VM guest, whose tree moves once per step, 0 W or a spike).
 */
export function gridStartMs(options: Pick<SchedulerOptions, 'stepMs' | 'firstTickMs' | 'phaseMs'>, startWallMs: number): number {
  const { stepMs, firstTickMs = stepMs } = options;
  const earliest = startWallMs + firstTickMs + Math.max(stepMs / 2, firstTickMs);
  return gridPointAtOrAfter(earliest, options.phaseMs ?? 0, stepMs) - startWallMs;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
