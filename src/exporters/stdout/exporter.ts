import type { Exporter } from '../../core/exporter.js';
import { applyMetricFilter } from '../../core/metric-filter.js';
import { sampleToMetrics, type MetricsViewOptions } from '../../core/metrics.js';
import type { ProcessSample, Sample } from '../../core/sample.js';

export interface StdoutExporterOptions {
  /** How many top consumers to list. */
  readonly topN: number;
  /** Only list processes whose exe or cmdline matches. */
  readonly processFilter: RegExp | null;
  /** Print every metric (name, labels, value) instead of the summary table. */
  readonly rawMetrics: boolean;
  readonly metricsView: MetricsViewOptions;
  readonly write: (text: string) => void;
}

const RULE = '-'.repeat(60);

/** Scaphandre's terminal layout: a host line, one line per socket with its domains, the top consumers. */
export function formatSampleTable(sample: Sample, topN: number, processFilter: RegExp | null): string {
  const domainNames = domainColumns(sample);
  const h = sample.host;
  const lines: string[] = [];
  lines.push(
    `Host:\t${watts(h.powerUw)} W from ${h.valueSource} (active ${watts(h.activePowerUw)} W, idle ${watts(h.idlePowerUw)} W, CPU ${(h.cpuBusyFraction * 100).toFixed(1)} % busy)`,
  );
  if (sample.sockets.length > 0) {
    lines.push(`\tpackage\t\t${domainNames.join('\t\t')}`);
    for (const s of sample.sockets) {
      const cells = domainNames.map((name) => {
        const d = s.domains.find((x) => x.name === name);
        return d ? `${watts(d.powerUw)} W` : '----';
      });
      lines.push(`Socket${s.id}\t${watts(s.powerUw)} W |\t${cells.join('\t')}`);
    }
  }
  const shown = topConsumers(sample.processes, topN, processFilter);
  lines.push(processFilter ? `Top ${topN} consumers matching ${processFilter.source}:` : `Top ${topN} consumers:`);
  lines.push('Power\t\tPID\tExe');
  for (const p of shown) lines.push(`${watts(p.powerUw)} W\t${p.pid}\t${JSON.stringify(p.exePath || p.exe)}`);
  lines.push(`${watts(h.unattributedPowerUw)} W\t-\tunattributed (busy CPU time no live process explains; shares of ${h.attribution} power)`);
  lines.push(RULE);
  return `${lines.join('\n')}\n`;
}

export function topConsumers(processes: readonly ProcessSample[], topN: number, filter: RegExp | null): ProcessSample[] {
  const out: ProcessSample[] = [];
  // processes are sorted by power, highest first, by the sensor.
  for (const p of processes) {
    if (out.length >= topN) break;
    if (filter && !filter.test(p.exe) && !filter.test(p.cmdline)) continue;
    out.push(p);
  }
  return out;
}

function domainColumns(sample: Sample): string[] {
  const names: string[] = [];
  for (const s of sample.sockets) for (const d of s.domains) if (!names.includes(d.name)) names.push(d.name);
  return names;
}

function watts(uw: number): string {
  return (uw / 1e6).toFixed(6);
}

function formatRawMetrics(sample: Sample, view: MetricsViewOptions): string {
  const rows = applyMetricFilter(sampleToMetrics(sample, view), view.metricFilter).map((m) => {
    const labels = Object.entries(m.labels)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(',');
    return `${m.name}{${labels}} ${m.value}`;
  });
  return `${rows.join('\n')}\n${RULE}\n`;
}

export class StdoutExporter implements Exporter {
  readonly name = 'stdout';
  constructor(private readonly options: StdoutExporterOptions) {}

  async start(): Promise<void> {
    this.options.write('Measurement step is running: the first figures come within a second (one step with --vm).\n');
  }

  export(sample: Sample): void {
    const o = this.options;
    o.write(o.rawMetrics ? formatRawMetrics(sample, o.metricsView) : formatSampleTable(sample, o.topN, o.processFilter));
  }

  async stop(): Promise<void> {}
}
