/**
 * Test oracle for the energy an exporter sends under a process selection, as a TSDB holds it: each energy
 * series' last value (kept across the steps its process or group is not sent), the others counter, and
 * beside them the true counters of every process (or group of one kind) of the samples, in whole µJ.
 * The exporter's first step is the baseline (its others counter starts at 0): there each counter counts as
 * the start of its series, sent or not. Σ sent + others = Σ true at every step then means every window
 * between two steps adds up (increase() of the sent series + increase() of others = the growth of all
 * counters). A series that goes down is a counter reset, as PromQL reads it: its last value is kept aside
 * and counted.
 */
import type { Metric } from '../../../src/core/metric-families.js';
import { groupLabels } from '../../../src/core/metrics.js';
import type { GroupKind, Sample } from '../../../src/core/sample.js';

class Counters {
  private readonly last = new Map<string, number>();
  /** Σ last values of the counters before they went down. */
  private retiredUj = 0;
  resets = 0;

  set(key: string, uj: number): void {
    const before = this.last.get(key);
    if (before !== undefined && uj < before) {
      this.retiredUj += before;
      this.resets += 1;
    }
    this.last.set(key, uj);
  }

  get totalUj(): number {
    let sum = this.retiredUj;
    for (const uj of this.last.values()) sum += uj;
    return sum;
  }
}

export class EnergyLedger {
  private readonly sent = new Counters();
  private readonly truth = new Counters();
  private readonly others = new Counters();
  private readonly energyFamily: string;
  private readonly othersFamily: string;
  steps = 0;

  /** Processes (kind null), or the groups of one kind. */
  constructor(private readonly kind: GroupKind | null = null) {
    const k = kind ?? 'process';
    this.energyFamily = `scaph_${k}_energy_microjoules`;
    this.othersFamily = `scaph_${k}_others_energy_microjoules`;
  }

  /** One step: the sample's counters, and the metrics the exporter made of it (sampleToMetrics with its selector). */
  step(sample: Sample, metrics: readonly Metric[]): void {
    const counters: Array<[string, number]> =
      this.kind === null
        ? sample.processes.map((p) => [String(p.pid), Math.round(p.energyUj)])
        : sample.groups.filter((g) => g.kind === this.kind).map((g) => [JSON.stringify(groupLabels(g.kind, g.container)), Math.round(g.energyUj)]);
    for (const [key, uj] of counters) {
      this.truth.set(key, uj);
      if (this.steps === 0) this.sent.set(key, uj);
    }
    for (const m of metrics) {
      if (m.name === this.energyFamily) this.sent.set(this.kind === null ? (m.labels['pid'] as string) : JSON.stringify(m.labels), m.value);
      else if (m.name === this.othersFamily) this.others.set('', m.value);
    }
    this.steps += 1;
  }

  /** Σ last values of the sent energy series, µJ. */
  get sentUj(): number {
    return this.sent.totalUj;
  }

  /** The others counter, µJ (plus its values before any reset). */
  get othersUj(): number {
    return this.others.totalUj;
  }

  /** Σ the true counters, µJ. */
  get trueUj(): number {
    return this.truth.totalUj;
  }

  /** How many times a sent series or the others counter went down. */
  get sentResets(): number {
    return this.sent.resets + this.others.resets;
  }
}
