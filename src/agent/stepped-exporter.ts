import type { ScaphError } from '../core/errors.js';
import type { Exporter, MissedStep } from '../core/exporter.js';
import type { Sample } from '../core/sample.js';

/**
 * Gives an exporter the latest sample at its own step, inside one sampling loop. Driven by sample arrival
 * (no timer of its own, so it never sends the same sample twice and never drifts against the loop):
 * a sample passes when the exporter is due, within half a sensor step. An exporter step at or below the
 * sensor step passes every sample; a step that is not a multiple of the sensor step averages out to it
 * (sensor 2 s, exporter 5 s: samples at 0, 4, 10, 14, 20 s).
 */
export class SteppedExporter implements Exporter {
  readonly name: string;
  readonly ended: Promise<ScaphError | null> | undefined;
  private dueMs: number | null = null;

  constructor(
    readonly inner: Exporter,
    private readonly stepMs: number,
    private sensorStepMs: number,
    private readonly nowMs: () => number = () => performance.now(),
  ) {
    this.name = inner.name;
    this.ended = inner.ended;
  }

  /** The sensor samples at a new step (a reload): its own step and schedule stay. */
  setSensorStep(sensorStepMs: number): void {
    this.sensorStepMs = sensorStepMs;
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  export(sample: Sample): void {
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
   * A step without a sample reaches the exporter whatever its step: the figure it holds is no longer
   * current. One that withdrew its figures gets the next sample at once (its schedule starts again there),
   * not up to a whole step of its own later.
   */
  missed(step: MissedStep): boolean {
    const withdrew = this.inner.missed?.(step) ?? false;
    if (withdrew) this.dueMs = null;
    return withdrew;
  }

  stop(deadlineMs: number): Promise<void> {
    return this.inner.stop(deadlineMs);
  }
}
