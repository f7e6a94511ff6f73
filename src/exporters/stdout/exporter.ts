import type { Exporter } from '../../core/exporter.js';
import type { Metric } from '../../core/metric-families.js';
import type { MetricsView } from '../../core/metrics-view.js';
import { everyProcess, type Selection, type SelectionOptions } from '../../core/process-selection.js';
import type { CarbonSample, Sample, SensorFallbackReason } from '../../core/sample.js';

export interface StdoutExporterOptions {
  /** How the table's processes were chosen (-p, -r, …), for its title; null with --raw-metrics (every process). */
  readonly selection: SelectionOptions | null;
  /** Print every metric (name, labels, value) instead of the summary table. */
  readonly rawMetrics: boolean;
  /** The table's selection (the rest are its "others" line), and the metrics of --raw-metrics. */
  readonly view: MetricsView;
  readonly write: (text: string) => void;
}

const RULE = '-'.repeat(60);

/** After "from estimate" when `--sensor auto` fell back: why, in a few words (the warning on stderr says what to do). */
const FALLBACK_NOTES: Readonly<Record<SensorFallbackReason, string>> = {
  rapl_unreadable: 'as RAPL is not readable by this user',
  rapl_missing: 'as there is no RAPL here',
};

/**
 * Scaphandre's terminal layout: a host line, one line per socket with its domains, the selected consumers
 * (`selection`, from the exporter's selector), then what they leave out: the others and the unattributed part.
 */
export function formatSampleTable(sample: Sample, selection: Selection, options: SelectionOptions | null): string {
  const domainNames = domainColumns(sample);
  const h = sample.host;
  const lines: string[] = [];
  lines.push(
    `Host:\t${watts(h.powerUw)} W from ${h.valueSource}${h.sensorFallback === undefined ? '' : `, ${FALLBACK_NOTES[h.sensorFallback]}`} (active ${watts(h.activePowerUw)} W, idle ${watts(h.idlePowerUw)} W, CPU ${(h.cpuBusyFraction * 100).toFixed(1)} % busy)${h.outsideRaplPowerUw === undefined ? '' : `; ${watts(h.outsideRaplPowerUw)} W of it outside RAPL`}`,
  );
  if (sample.carbon) lines.push(carbonLine(sample.carbon));
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
  lines.push(topTitle(options));
  lines.push('Power\t\tPID\tExe');
  for (const p of selection.processes) lines.push(`${watts(p.powerUw)} W\t${p.pid}\t${JSON.stringify(p.exePath || p.exe)}`);
  const others = selection.others;
  lines.push(`${watts(others.powerUw)} W\t-\tothers (${others.count} ${others.count === 1 ? 'process' : 'processes'} not listed)`);
  lines.push(`${watts(h.unattributedPowerUw)} W\t-\tunattributed (busy CPU time no live process explains; shares of ${h.attribution} power)`);
  lines.push(RULE);
  return `${lines.join('\n')}\n`;
}

/** Emissions since start, and the intensity the last step was counted at (and where it came from). */
function carbonLine(c: CarbonSample): string {
  const at =
    c.intensityGPerKwh === null
      ? 'no carbon intensity known this step (nothing counted)'
      : `at ${c.intensityGPerKwh} g/kWh (${c.source ?? ''}${c.zone ? `, ${c.zone}` : ''})`;
  return `Carbon:\t${c.hostGrams.toFixed(6)} gCO2e since start, ${at}`;
}

function topTitle(o: SelectionOptions | null): string {
  if (o === null) return 'Consumers:';
  const top = o.maxTopConsumers === null ? 'Selected consumers' : `Top ${o.maxTopConsumers} consumers`;
  const filters: string[] = [];
  if (o.include) filters.push(`matching ${o.include.toString()}`);
  if (o.exclude) filters.push(`not matching ${o.exclude.toString()}`);
  if (o.minPowerUw > 0) filters.push(`using at least ${watts(o.minPowerUw)} W`);
  return `${[top, ...filters].join(' ')}:`;
}

function domainColumns(sample: Sample): string[] {
  const names: string[] = [];
  for (const s of sample.sockets) for (const d of s.domains) if (!names.includes(d.name)) names.push(d.name);
  return names;
}

function watts(uw: number): string {
  return (uw / 1e6).toFixed(6);
}

function formatRawMetrics(metrics: readonly Metric[]): string {
  const rows = metrics.map((m) => {
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
    o.write(o.rawMetrics ? formatRawMetrics(o.view.metrics(sample)) : formatSampleTable(sample, o.view.select(sample) ?? everyProcess(sample), o.selection));
  }

  async stop(): Promise<void> {}
}
