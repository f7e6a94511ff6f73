import { closeSync, constants, fstatSync, openSync, writeSync } from 'node:fs';
import { errorCodeOrText, ScaphError } from '../../core/errors.js';
import type { Exporter } from '../../core/exporter.js';
import { capCmdline } from '../../core/metrics.js';
import type { MetricsView } from '../../core/metrics-view.js';
import { everyProcess, type Selection } from '../../core/process-selection.js';
import type { CarbonSample, ContainerInfo, ProcessSample, Sample } from '../../core/sample.js';

export interface JsonExporterOptions extends JsonReportOptions {
  /** File to write the JSON array to; null = stdout. */
  readonly file: string | null;
  /** Which processes a report lists (-m, -r, …: its selection); the rest go into its `others`. */
  readonly view: MetricsView;
}

export interface JsonReportOptions {
  /** Add per-consumer resources_usage (CPU, memory). */
  readonly resources: boolean;
  /** Add the container description of each consumer. */
  readonly containers: boolean;
  readonly maxCmdlineLength: number;
}

/**
 * Scaphandre's JSON report, with every socket, the active/idle split and the unattributed remainder
 * (µW, timestamps in seconds).
 */
export interface JsonReport {
  readonly host: {
    readonly consumption: number;
    readonly active_consumption: number;
    readonly idle_consumption: number;
    /** Part of the attribution model's total that no live process explains, µW. */
    readonly unattributed_consumption: number;
    /** What the consumers' consumption is a share of: `host` or `active` power. */
    readonly attribution: string;
    readonly value_source: string;
    /** Why the figures are the estimate under `--sensor auto` (rapl_unreadable, rapl_missing); absent when measured. */
    readonly sensor_fallback?: string;
    /** With a platform meter beside readable RAPL: the part of consumption RAPL does not see, µW. */
    readonly outside_rapl_consumption?: number;
    readonly timestamp: number;
    /** With a carbon intensity configured: the emissions counters, grams of CO2e since start. */
    readonly carbon?: JsonCarbon;
  };
  readonly consumers: readonly JsonConsumer[];
  /** The processes not listed in consumers (not selected): consumers + others + unattributed = host consumption. */
  readonly others: JsonOthers;
  readonly sockets: readonly JsonSocket[];
}

interface JsonCarbon {
  readonly emissions: number;
  readonly unattributed_emissions: number;
  readonly emissions_unit: 'gCO2e';
  /** gCO2e/kWh the step was counted at; null when none was known (nothing counted). */
  readonly intensity: number | null;
  readonly intensity_unit: 'gCO2e/kWh';
  readonly source: string | null;
  readonly zone: string;
}

interface JsonOthers {
  /** Σ their power, µW. */
  readonly consumption: number;
  /** Energy of the processes while they were not listed, since the run started: the growth of their energy counters, µJ. */
  readonly energy: number;
  /** How many processes. */
  readonly count: number;
}

interface JsonConsumer {
  readonly exe: string;
  readonly cmdline: string;
  readonly pid: number;
  readonly consumption: number;
  readonly timestamp: number;
  /** With --carbon-per-process: the process's emissions since scaph first saw it, gCO2e. */
  readonly emissions?: number;
  readonly resources_usage?: {
    readonly cpu_usage: number;
    readonly cpu_usage_unit: '%';
    readonly memory_usage: number;
    readonly memory_usage_unit: 'Bytes';
    readonly memory_virtual_usage: number;
    readonly memory_virtual_usage_unit: 'Bytes';
  };
  readonly container?: ContainerInfo | null;
}

interface JsonSocket {
  readonly id: number;
  readonly consumption: number;
  readonly timestamp: number;
  readonly domains: readonly { readonly name: string; readonly consumption: number; readonly timestamp: number }[];
}

/** One report: `selection` is what the exporter's selector chose for this sample. */
export function sampleToJsonReport(sample: Sample, selection: Selection, o: JsonReportOptions): JsonReport {
  const ts = sample.timestampMs / 1000;
  const h = sample.host;
  return {
    host: {
      consumption: round(h.powerUw),
      active_consumption: round(h.activePowerUw),
      idle_consumption: round(h.idlePowerUw),
      unattributed_consumption: round(h.unattributedPowerUw),
      attribution: h.attribution,
      value_source: h.valueSource,
      ...(h.sensorFallback === undefined ? {} : { sensor_fallback: h.sensorFallback }),
      ...(h.outsideRaplPowerUw === undefined ? {} : { outside_rapl_consumption: round(h.outsideRaplPowerUw) }),
      timestamp: ts,
      ...(sample.carbon ? { carbon: jsonCarbon(sample.carbon) } : {}),
    },
    consumers: selection.processes.map((p) => consumer(p, ts, o, emissionsOf(sample))),
    others: { consumption: selection.others.powerUw, energy: round(selection.others.energyUj), count: selection.others.count },
    sockets: sample.sockets.map((s) => ({
      id: s.id,
      consumption: round(s.powerUw),
      timestamp: ts,
      domains: s.domains.map((d) => ({ name: d.name, consumption: round(d.powerUw), timestamp: ts })),
    })),
  };
}

function jsonCarbon(c: CarbonSample): JsonCarbon {
  return {
    emissions: c.hostGrams,
    unattributed_emissions: c.unattributedGrams,
    emissions_unit: 'gCO2e',
    intensity: c.intensityGPerKwh,
    intensity_unit: 'gCO2e/kWh',
    source: c.source,
    zone: c.zone,
  };
}

/** Each process's emissions by its sample object (with --carbon-per-process), else null. */
function emissionsOf(sample: Sample): Map<ProcessSample, number> | null {
  const grams = sample.carbon?.processGrams;
  if (!grams) return null;
  const byProcess = new Map<ProcessSample, number>();
  sample.processes.forEach((p, i) => byProcess.set(p, grams[i] as number));
  return byProcess;
}

function consumer(p: ProcessSample, ts: number, o: JsonReportOptions, emissions: Map<ProcessSample, number> | null): JsonConsumer {
  const grams = emissions?.get(p);
  const base = {
    exe: p.exePath || p.exe,
    cmdline: capCmdline(p.cmdline, o.maxCmdlineLength),
    pid: p.pid,
    consumption: round(p.powerUw),
    timestamp: ts,
    ...(grams === undefined ? {} : { emissions: grams }),
  };
  const resources = o.resources
    ? {
        resources_usage: {
          cpu_usage: Number(p.cpuUsagePercent.toFixed(3)),
          cpu_usage_unit: '%' as const,
          memory_usage: p.memoryBytes,
          memory_usage_unit: 'Bytes' as const,
          memory_virtual_usage: p.virtualMemoryBytes,
          memory_virtual_usage_unit: 'Bytes' as const,
        },
      }
    : {};
  const container = o.containers ? { container: p.container } : {};
  return { ...base, ...resources, ...container };
}

function round(uw: number): number {
  return Math.round(uw);
}

/** The JSON output cannot be opened or written: names the file (or stdout) and what to do. */
export class JsonOutputError extends ScaphError {
  constructor(file: string | null, code: string) {
    const where = file === null ? 'stdout' : `"${file}"`;
    const hint =
      code === 'ENOENT'
        ? 'its directory does not exist: create it, or give -f a path in an existing directory'
        : code === 'ENXIO'
          ? 'it is a FIFO (named pipe) that nobody reads: start its reader first, or give -f a file'
        : code === 'EISDIR'
          ? 'it is a directory: give -f a file path'
          : code === 'ENOSPC' || code === 'EDQUOT'
            ? 'no space left on that file system: free some, or write elsewhere'
            : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
              ? "scaph's user may not write there: choose another path"
              : 'check the path given to -f';
    super(`cannot write the JSON output to ${where} (${code}): ${hint}`);
  }
}

/**
 * Writes one JSON array of reports. The opening bracket goes out at start and the closing one at stop,
 * with synchronous writes, so the output is valid JSON even when the run ends on SIGINT/SIGTERM/SIGHUP.
 * When the output goes away, the exporter ends (see Exporter.ended): quietly when the reader of stdout
 * left (EPIPE, `scaph json | head`), with a JsonOutputError otherwise (disk full, …).
 */
export class JsonExporter implements Exporter {
  readonly name = 'json';
  readonly ended: Promise<ScaphError | null>;
  private fd = 1;
  private count = 0;
  private closed = false;
  private end: (err: ScaphError | null) => void = () => undefined;
  constructor(private readonly options: JsonExporterOptions) {
    this.ended = new Promise((resolve) => (this.end = resolve));
  }

  async start(): Promise<void> {
    try {
      if (this.options.file) this.fd = openOutput(this.options.file);
      writeSync(this.fd, '[');
    } catch (err) {
      throw new JsonOutputError(this.options.file, errorCodeOrText(err));
    }
  }

  export(sample: Sample): void {
    if (this.closed) return;
    const report = JSON.stringify(sampleToJsonReport(sample, this.options.view.select(sample) ?? everyProcess(sample), this.options));
    try {
      writeSync(this.fd, `${this.count === 0 ? '\n' : ',\n'}${report}`);
    } catch (err) {
      const code = errorCodeOrText(err);
      this.closed = true;
      // The reader of our stdout went away (`scaph json | head`): the run ends quietly, like any filter.
      this.end(code === 'EPIPE' ? null : new JsonOutputError(this.options.file, code));
      return;
    }
    this.count += 1;
  }

  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      writeSync(this.fd, this.count === 0 ? ']\n' : '\n]\n');
    } catch (err) {
      const code = errorCodeOrText(err);
      if (code !== 'EPIPE') throw new JsonOutputError(this.options.file, code);
    } finally {
      if (this.fd !== 1) closeSync(this.fd);
    }
  }
}

/**
 * Opens -f for writing (created or truncated) without ever blocking. An ordinary open of a FIFO nobody
 * reads waits for a reader, forever, before the first sample: opened non-blocking it fails at once with
 * ENXIO instead. A FIFO that has a reader is opened again in blocking mode (a full pipe then slows the
 * writes down as it would for stdout, rather than failing them with EAGAIN).
 */
function openOutput(file: string): number {
  const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NONBLOCK, 0o666);
  if (!fstatSync(fd).isFIFO()) return fd;
  try {
    return openSync(file, constants.O_WRONLY);
  } finally {
    closeSync(fd);
  }
}
