import { errorText } from '../core/errors.js';
import type { Exporter, MissedStep } from '../core/exporter.js';
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

/** Tick `tick` is due `atMs` after start, the following ones one step apart. */
interface Anchor {
  readonly tick: number;
  readonly atMs: number;
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
 * One schedule model: an anchor (tick `n` is due at `t`, the following ones one step apart). The first
 * tick is at firstTickMs; without splay the anchor is that tick, with splay it is the first grid tick
 * (tick 2), and a new step or phase (a reload) moves it to the next tick, on the new grid with splay.
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
  /** The grid clock when the loop was built: grid points, wall-clock ms, less this are ms after start. */
  private readonly startWallMs: number;
  private readonly firstTickMs: number;
  private tick = 0;
  /** When the last tick (run or skipped) was due, ms after start; null before the first. */
  private lastTickMs: number | null = null;
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
  /** Splay: this host's phase within the step; null: ticks one step after the anchor, wherever it fell. */
  private phaseMs: number | null;
  /**
   * Ticks from `anchor.tick` on. Those before it have run, except tick 1 with splay (at firstTickMs, the
   * grid starting at tick 2).
   */
  private anchor: Anchor;

  constructor(
    private readonly sensor: Sensor,
    private exporters: readonly Exporter[],
    private readonly options: SchedulerOptions,
  ) {
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
    this.startWallMs = (options.clockMs ?? gridClockMs)();
    this.stepMs = options.stepMs;
    this.firstTickMs = options.firstTickMs ?? options.stepMs;
    this.phaseMs = options.phaseMs ?? null;
    this.anchor = this.startAnchor();
  }

  /** From the next tick on, samples go to these exporters (a reload). */
  setExporters(exporters: readonly Exporter[]): void {
    this.exporters = exporters;
  }

  /**
   * A new step, or splay turned on or off (a reload; `phaseMs` as SchedulerOptions.phaseMs, the new step's).
   * Without splay the next tick comes one new step after the last one (at once if that is past); with splay
   * it is the first point of the new grid at least shortestGridGapMs after the last one, and not in the
   * past. The following ones are one new step apart. Before the first tick, the first stays at firstTickMs.
   */
  setStep(stepMs: number, phaseMs: number | null): void {
    if (stepMs === this.stepMs && phaseMs === this.phaseMs) return;
    this.stepMs = stepMs;
    this.phaseMs = phaseMs;
    if (this.lastTickMs === null) {
      this.anchor = this.startAnchor();
      return;
    }
    const elapsed = this.elapsedMs();
    const earliest = Math.max(this.lastTickMs + (phaseMs === null ? stepMs : shortestGridGapMs(stepMs, this.firstTickMs)), elapsed);
    this.anchor = { tick: this.tick + 1, atMs: phaseMs === null ? earliest : this.gridPointAtOrAfter(earliest, phaseMs) };
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

  /** Tick 1 at firstTickMs; the following ones a step apart from it, or with splay from the first grid point far enough after it. */
  private startAnchor(): Anchor {
    const { stepMs, firstTickMs, phaseMs } = this;
    if (phaseMs === null) return { tick: 1, atMs: firstTickMs };
    return { tick: 2, atMs: gridStartMs({ stepMs, firstTickMs, phaseMs }, this.startWallMs) };
  }

  /** The first point of the grid `phaseMs + k × step` of the wall clock at or after `tMs`, both ms after start. */
  private gridPointAtOrAfter(tMs: number, phaseMs: number): number {
    return gridPointAtOrAfter(this.startWallMs + tMs, phaseMs, this.stepMs) - this.startWallMs;
  }

  /** When tick k (the next one: k >= anchor.tick, or 1) is due, ms after start. */
  private tickAtMs(k: number): number {
    if (k < this.anchor.tick) return this.firstTickMs;
    return this.anchor.atMs + (k - this.anchor.tick) * this.stepMs;
  }

  /** How many ticks are due at or before `elapsedMs`, once the next one is (all those before the anchor are). */
  private ticksUpTo(elapsedMs: number): number {
    if (elapsedMs < this.anchor.atMs) return this.anchor.tick - 1;
    return this.anchor.tick + Math.floor((elapsedMs - this.anchor.atMs) / this.stepMs);
  }

  private scheduleNext(): void {
    if (this.stopped) return;
    const elapsed = this.elapsedMs();
    let next = this.tickAtMs(this.tick + 1);
    if (next <= elapsed) {
      const missed = this.ticksUpTo(elapsed) - this.tick;
      this.skippedTicks += missed;
      this.tick += missed;
      this.lastTickMs = this.tickAtMs(this.tick);
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
    this.lastTickMs = this.tickAtMs(this.tick);
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

/**
 * Splay: the shortest interval before the loop's first tick on a grid, half a step and at least the first
 * tick's delay (a whole step in a VM guest). A shorter interval would make a noisy figure of a few CPU
 * ticks (and in a VM guest, whose tree moves once per step, 0 W or a spike).
 */
export function shortestGridGapMs(stepMs: number, firstTickMs: number): number {
  return Math.max(stepMs / 2, Math.min(firstTickMs, stepMs));
}

/** Splay: ms after start of the first grid tick, the first point of the grid at least shortestGridGapMs after the first tick. */
export function gridStartMs(options: Pick<SchedulerOptions, 'stepMs' | 'firstTickMs' | 'phaseMs'>, startWallMs: number): number {
  const { stepMs, firstTickMs = stepMs } = options;
  const earliest = startWallMs + firstTickMs + shortestGridGapMs(stepMs, firstTickMs);
  return gridPointAtOrAfter(earliest, options.phaseMs ?? 0, stepMs) - startWallMs;
}
