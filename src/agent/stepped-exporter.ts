import type { ScaphError } from '../core/errors.js';
import type { Exporter, MissedStep } from '../core/exporter.js';
import type { Sample } from '../core/sample.js';
import { gridClockMs, gridPointAfter, gridPointAtOrAfter, type SplayGrid } from './splay.js';

/**
 * What an exporter's first sample is: the loop's start-up reading (an exporter built at start), or a tick
 * like any other (an exporter a reload builds: the loop has been running, on its grid with splay).
 */
export type FirstSample = 'start-up reading' | 'loop tick';

/**
 * Gives an exporter the latest sample at its own step, inside one sampling loop. Driven by sample arrival
 * (no timer of its own, so it never sends the same sample twice and never drifts against the loop):
 * a sample passes when the exporter is due, within half a sensor step. An exporter step at or below the
 * sensor step passes every sample; a step that is not a multiple of the sensor step averages out to it
 * (sensor 2 s, exporter 5 s: samples at 0, 4, 10, 14, 20 s).
 *
 * With splay (a grid, src/agent/splay.ts), the exporter is due at the points of its grid on the wall
 * clock instead of one step after the previous sample, and the start-up reading waits for the first of
 * them: passed at once, a fleet started together would send it in the same second. It is the one sample
 * ever held back, passed just before the first sample on the grid, or on stop. An exporter a reload builds
 * holds nothing: its first sample is a tick of the loop (on the loop's grid), and the exporter it replaces
 * took every sample before it, so holding it would only delay it (or, at a longer step, send one more
 * sample than the step asks for).
 */
export class SteppedExporter implements Exporter {
  readonly name: string;
  readonly ended: Promise<ScaphError | null> | undefined;
  private dueMs: number | null = null;
  private startupSeen: boolean;
  /** Splay: the start-up reading, until the first sample on the grid. */
  private held: Sample | null = null;

  constructor(
    readonly inner: Exporter,
    private readonly stepMs: number,
    private sensorStepMs: number,
    private readonly nowMs: () => number = gridClockMs,
    private grid: SplayGrid | null = null,
    first: FirstSample = 'start-up reading',
  ) {
    this.name = inner.name;
    this.ended = inner.ended;
    this.startupSeen = first === 'loop tick';
  }

  /**
   * The sensor samples at a new step (a reload): without splay, or when its grid stays (an exporter on its
   * own grid, longer than both sensor steps), its schedule stays; on a new grid (the loop's, which moves
   * with the sensor step) its next due point is taken on that grid.
   */
  setSensorStep(sensorStepMs: number, grid: SplayGrid | null = this.grid): void {
    this.sensorStepMs = sensorStepMs;
    if (sameGrid(grid, this.grid)) return;
    this.grid = grid;
    this.dueMs = null;
  }

  /**
   * A reload rebuilt the exporter `previous` fed (new labels, a new backend...) at the same step and on the
   * same grid: this one goes on with its schedule, so the first sample it takes is the one `previous` would
   * have taken next (none twice in one step, none skipped). At another step or grid it starts its own.
   */
  continueSchedule(previous: SteppedExporter): void {
    if (previous.stepMs !== this.stepMs || !sameGrid(previous.grid, this.grid)) return;
    this.dueMs = previous.dueMs;
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  export(sample: Sample): void {
    if (this.grid) {
      this.exportOnGrid(sample, this.grid);
      return;
    }
    if (this.stepMs <= this.sensorStepMs) {
      this.inner.export(sample);
      return;
    }
    const now = this.nowMs();
    const slack = this.sensorStepMs / 2;
    if (this.dueMs !== null && now < this.dueMs - slack) return;
    // Behind by more than a step (loop skipped ticks, machine suspended): restart the schedule from now.
    this.dueMs = this.dueMs === null || now - this.dueMs > this.stepMs ? now + this.stepMs : this.dueMs + this.stepMs;
    this.inner.export(sample);
  }

  /**
   * The start-up reading (the first sample of an exporter built at start) is held; every later sample
   * comes from a tick of the loop's grid. An exporter at or below the sensor step shares that grid: it
   * takes them all. A longer one is due at the points of its own grid and takes the tick nearest each (from
   * half a sensor step before it). Its first due point is chosen when the loop's first tick on its grid
   * comes: the first point whose nearest tick is that one or a later one. Chosen at the start-up reading,
   * it could fall before the loop's grid begins, and every host started in that second would then take
   * that first grid tick: bunched. After a gap (suspend, skipped ticks) the overdue sample goes at once and
   * the next is due at the following grid point.
   */
  private exportOnGrid(sample: Sample, grid: SplayGrid): void {
    if (!this.startupSeen) {
      this.startupSeen = true;
      this.held = sample;
      return;
    }
    if (this.stepMs <= this.sensorStepMs) {
      this.pass(sample);
      return;
    }
    const now = this.nowMs();
    const slack = this.sensorStepMs / 2;
    this.dueMs ??= gridPointAtOrAfter(now - slack, grid.phaseMs, grid.periodMs);
    if (now < this.dueMs - slack) return;
    const next = this.dueMs + grid.periodMs;
    this.dueMs = next - slack > now ? next : gridPointAfter(now + slack, grid.phaseMs, grid.periodMs);
    this.pass(sample);
  }

  /** Passes `sample`, after the held start-up reading if there is one (older first: series stay in order). */
  private pass(sample: Sample | null): void {
    const held = this.held;
    this.held = null;
    if (held) this.inner.export(held);
    if (sample) this.inner.export(sample);
  }

  /**
   * A step without a sample reaches the exporter whatever its step: the figure it holds is no longer
   * current. One that withdrew its figures gets the next sample at once, not up to a whole step of its own
   * later: without a grid its schedule starts again there; on a grid that sample is overdue (it goes at
   * once) and the one after is due at the following grid point, as after any gap.
   */
  missed(step: MissedStep): boolean {
    const withdrew = this.inner.missed?.(step) ?? false;
    if (withdrew) this.dueMs = this.grid ? Number.NEGATIVE_INFINITY : null;
    return withdrew;
  }

  stop(deadlineMs: number): Promise<void> {
    // A run stopped before the first grid tick still delivers its start-up reading.
    this.pass(null);
    return this.inner.stop(deadlineMs);
  }
}

function sameGrid(a: SplayGrid | null, b: SplayGrid | null): boolean {
  return a === b || (a !== null && b !== null && a.phaseMs === b.phaseMs && a.periodMs === b.periodMs);
}
