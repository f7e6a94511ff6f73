import type { ScaphError } from '../core/errors.js';
import type { Exporter, MissedStep } from '../core/exporter.js';
import type { Sample } from '../core/sample.js';

/** How long one slice of the hand-over may keep the event loop (the sampling loop must not skip a tick). */
const SLICE_MS = 5;

/**
 * Stands for an exporter a reload builds, from the step the new config applies until the exporter can
 * take samples: the exporters it replaces must stop first (they hold its spool directory, its port, its
 * file, and a backend must get a series' samples in order). Keeps what it is given, in order, hands it
 * over after attach, then passes every sample straight through. What it holds is bounded by the time the
 * leaving exporters take to stop (the stop deadline: 40 samples at a 250 ms step). Handing them over
 * costs the exporter's work for each (metrics view, spool write): it goes in slices of a few ms, so the
 * sampling loop keeps its ticks; samples arriving meanwhile queue behind, in order.
 */
export class HandoverExporter implements Exporter {
  readonly ended: Promise<ScaphError | null>;
  private target: Exporter | null = null;
  /** Samples, and steps without one, in the order they came. */
  private held: Array<Sample | MissedStep> = [];
  private next = 0;
  private failed = false;
  private resolveEnded: (target: Exporter) => void = () => undefined;

  constructor(readonly name: string) {
    this.ended = new Promise<Exporter>((resolve) => (this.resolveEnded = resolve)).then((target) => target.ended ?? new Promise<never>(() => undefined));
  }

  /** Samples (and steps without one) held and not handed over yet. */
  get holding(): number {
    return this.held.length - this.next;
  }

  /** The reload starts the exporter itself, before attach. */
  async start(): Promise<void> {}

  export(sample: Sample): void {
    if (this.failed) return;
    if (this.target && this.holding === 0) this.target.export(sample);
    else this.held.push(sample);
  }

  /** A step without a sample is held in its place among the samples: the exporter withdraws what came before it. */
  missed(step: MissedStep): boolean {
    if (this.failed) return false;
    if (this.target && this.holding === 0) return this.target.missed?.(step) ?? false;
    this.held.push(step);
    return false;
  }

  /** `target` is started: it gets the samples held, oldest first, and every one after. */
  attach(target: Exporter): void {
    this.target = target;
    this.resolveEnded(target);
    this.handOver();
  }

  /** Resolves once every held sample is handed over (tests, and stop). */
  async drained(): Promise<void> {
    while (this.holding > 0 && this.target) await new Promise((r) => setImmediate(r));
  }

  private handOver(): void {
    const target = this.target;
    if (!target) return;
    const until = performance.now() + SLICE_MS;
    while (this.next < this.held.length && performance.now() < until) {
      const item = this.held[this.next++] as Sample | MissedStep;
      if (isMissedStep(item)) target.missed?.(item);
      else target.export(item);
    }
    if (this.holding > 0) {
      setImmediate(() => this.handOver());
      return;
    }
    this.held = [];
    this.next = 0;
  }

  /** The exporter could not be built or started: from now on samples go nowhere. Returns how many held ones are lost. */
  fail(): number {
    let lost = 0;
    for (let i = this.next; i < this.held.length; i++) if (!isMissedStep(this.held[i] as Sample | MissedStep)) lost += 1;
    this.held = [];
    this.next = 0;
    this.failed = true;
    return lost;
  }

  async stop(deadlineMs: number): Promise<void> {
    await this.drained();
    await this.target?.stop(deadlineMs);
  }
}

function isMissedStep(item: Sample | MissedStep): item is MissedStep {
  return 'reason' in item;
}
