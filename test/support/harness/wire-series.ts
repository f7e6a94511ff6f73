/**
 * What each transport put on the wire, read back as the same shape: entries (one scaph sample, or the
 * delivery core's self-metrics entry) in the order they were sent, each a list of series (family name and
 * labels, the transport's own host labels left out). Used to check filters and the series count on every
 * wire with one set of assertions.
 */
import snappy from 'snappy';
import { decodeWriteRequest } from '../oracles/remote-write.js';
import type { StoredEvent } from '../servers/riemann.js';
import { parseGtsLine, type GtsPoint } from '../servers/gts-parse.js';

export interface WireSeries {
  readonly family: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface WireEntry {
  /** Every series of the entry is a scaph_delivery_* one: the delivery core's self-metrics. */
  readonly self: boolean;
  readonly series: readonly WireSeries[];
}

const DELIVERY = 'scaph_delivery_';

function entry(series: WireSeries[]): WireEntry {
  return { self: series.length > 0 && series.every((s) => s.family.startsWith(DELIVERY)), series };
}

function without(labels: Readonly<Record<string, string>>, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (!names.includes(k)) out[k] = v;
  return out;
}

/** Groups points into entries by timestamp, ascending (data entries carry sample times; the self entry the later send time). */
function byTimestamp(points: ReadonlyArray<{ readonly t: number; readonly series: WireSeries }>): WireEntry[] {
  const groups = new Map<number, WireSeries[]>();
  for (const p of [...points].sort((a, b) => a.t - b.t)) {
    let list = groups.get(p.t);
    if (!list) groups.set(p.t, (list = []));
    list.push(p.series);
  }
  return [...groups.values()].map(entry);
}

/** Remote-write request bodies (snappy block + protobuf): entries per request, job and instance left out. */
export function remoteWriteEntries(bodies: readonly Buffer[]): WireEntry[] {
  return bodies.flatMap((body) => {
    const request = decodeWriteRequest(snappy.uncompressSync(body) as Buffer);
    const points = request.timeseries.flatMap((ts) => {
      const labels = Object.fromEntries(ts.labels.map((l) => [l.name, l.value]));
      const family = labels['__name__'] as string;
      const series = { family, labels: without(labels, ['__name__', 'job', 'instance']) };
      return ts.samples.filter((s) => !Number.isNaN(s.value)).map((s) => ({ t: s.timestamp, series: { ...series, value: s.value } }));
    });
    return byTimestamp(points);
  });
}

/** Riemann events in arrival order, grouped by time_micros; the family from the service (process services name the pid and exe). */
export function riemannEntries(events: readonly StoredEvent[]): WireEntry[] {
  const out: WireEntry[] = [];
  let current: WireSeries[] = [];
  let time: number | null = null;
  for (const e of events) {
    if (time !== null && e.timeMicros !== time) {
      out.push(entry(current));
      current = [];
    }
    time = e.timeMicros ?? null;
    const labels = Object.fromEntries((e.attributes ?? []).map((a) => [a.key, a.value ?? '']));
    current.push({ family: riemannFamily(e.service ?? '', labels), labels, value: e.metric ?? Number.NaN });
  }
  if (current.length > 0) out.push(entry(current));
  return out;
}

/** `process_power_consumption_microwatts_<pid>_<exe>` -> scaph_process_power_consumption_microwatts; other services are the family. */
export function riemannFamily(service: string, labels: Readonly<Record<string, string>>): string {
  const pid = labels['pid'];
  if (pid === undefined || service.startsWith('scaph_')) return service;
  const suffix = labels['exe'] === undefined ? `_${pid}` : `_${pid}_${labels['exe']}`;
  return `scaph_${service.slice(0, service.length - suffix.length)}`;
}

/** Warp 10 update bodies (GTS lines): entries per request, the host label left out. */
export function warp10Entries(texts: readonly string[]): WireEntry[] {
  return texts.flatMap((text) => {
    let previous: GtsPoint | null = null;
    const points = text
      .split('\n')
      .filter((l) => l !== '')
      .map((line) => {
        previous = parseGtsLine(line, previous, 0);
        return { t: previous.timestampUs, series: { family: previous.className, labels: without(previous.labels, ['host']), value: Number(previous.value) } };
      });
    return byTimestamp(points);
  });
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Series of a text exposition (Prometheus 0.0.4, a Pushgateway PUT, stdout --raw-metrics): one line each, comments skipped. */
export function textSeries(text: string): WireSeries[] {
  const out: WireSeries[] = [];
  for (const line of text.split('\n')) {
    const m = SAMPLE_LINE.exec(line);
    if (!m || line.startsWith('#')) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(LABEL_PAIR)) labels[k as string] = (v as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    out.push({ family: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

/** A Pushgateway PUT body: the sample's series and the self-metrics, as two entries. */
export function pushgatewayEntries(bodies: readonly Buffer[]): WireEntry[] {
  return bodies.flatMap((body) => {
    const series = textSeries(body.toString('utf8'));
    return [entry(series.filter((s) => !s.family.startsWith(DELIVERY))), entry(series.filter((s) => s.family.startsWith(DELIVERY)))];
  });
}

/** The scaph_delivery_series_sent value of a self entry. */
export function seriesSentOf(e: WireEntry): number | undefined {
  return e.series.find((s) => s.family === 'scaph_delivery_series_sent')?.value;
}
