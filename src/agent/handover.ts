import type { ScaphError } from '../core/errors.js';
import type { Exporter } from '../core/exporter.js';
import type { Sample } from '../core/sample.js';

/**
 * Stands for an exporter a reload builds, from the step the new config applies until the exporter can
 * take samples: the exporters it replaces must stop first (they hold its spool directory, its port, its
 * file, and a backend must get a series' samples in order). Keeps what it is given, in order, hands it all
 * over on attach, then passes every sample straight through. What it holds is bounded by the time the
 * leaving exporters take to stop (the stop deadline).
 */
export class HandoverExporter implements Exporter {
  readonly ended: Promise<ScaphError | null>;
  private target: Exporter | null = null;
  private held: Sample[] = [];
  private failed = false;
  private resolveEnded: (target: Exporter) => void = () => undefined;

  constructor(readonly name: string) {
    this.ended = new Promise<Exporter>((resolve) => (this.resolveEnded = resolve)).then((target) => target.ended ?? new Promise<never>(() => undefined));
  }

  /** Samples held so far. */
  get holding(): number {
    return this.held.length;
  }

  /** The reload starts the exporter itself, before attach. */
  async start(): Promise<void> {}

  export(sample: Sample): void {
    if (this.target) this.target.export(sample);
    else if (!this.failed) this.held.push(sample);
  }

  /** `target` is started: it gets the samples held, oldest first, and every one after. */
  attach(target: Exporter): void {
    const held = this.held;
    this.held = [];
    this.target = target;
    for (const sample of held) target.export(sample);
    this.resolveEnded(target);
  }

  /** The exporter could not be built or started: from now on samples go nowhere. Returns how many held ones are lost. */
  fail(): number {
    const lost = this.held.length;
    this.held = [];
    this.failed = true;
    return lost;
  }

  async stop(deadlineMs: number): Promise<void> {
    await this.target?.stop(deadlineMs);
  }
}
