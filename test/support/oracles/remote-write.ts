/**
 * Test oracle: queued samples -> prompb WriteRequest (remote-write 1.0), uncompressed protobuf bytes, the
 * readable way (protobufjs over proto/remote.proto). The transport's hand-written encoder
 * (src/exporters/remote-write/wire.ts) must decode to exactly what this gives; decodeWriteRequest reads
 * what receivers got.
 * Labels: the metric's own, plus `__name__`, `job`, `instance` and the user's extra labels; sorted by
 * name, one value per name, empty values left out (Prometheus refuses empty values and duplicates).
 */
import protobuf from 'protobufjs';
import { packageFile } from '../../../src/core/package-file.js';
import type { SeriesLabelOptions } from '../../../src/exporters/remote-write/wire.js';
import type { Metric } from '../../../src/core/metric-families.js';
import type { QueuedSample } from '../../../src/delivery/transport.js';
import { seriesKey } from '../../../src/delivery/series.js';

/** Prometheus' staleness marker: a NaN with this exact bit pattern ends a series. */
export const STALE_NAN_BITS = 0x7ff0000000000002n;
export const STALE_NAN: number = new Float64Array(new BigUint64Array([STALE_NAN_BITS]).buffer)[0] as number;

export interface PromLabel {
  readonly name: string;
  readonly value: string;
}
export interface PromSample {
  readonly value: number;
  readonly timestamp: number;
}
export interface PromTimeSeries {
  readonly labels: readonly PromLabel[];
  readonly samples: PromSample[];
}

let writeRequestType: protobuf.Type | null = null;

function writeRequest(): protobuf.Type {
  writeRequestType ??= protobuf.loadSync(packageFile('proto/remote.proto')).lookupType('prometheus.WriteRequest');
  return writeRequestType;
}

/** Groups the entries' metrics into time series (one per label set, samples in entry = time order). */
export function toTimeSeries(entries: readonly QueuedSample[], options: SeriesLabelOptions): PromTimeSeries[] {
  const byKey = new Map<string, PromTimeSeries>();
  const base = baseLabels(options);
  for (const entry of entries) {
    for (const m of entry.metrics) addPoint(byKey, base, m, m.value, entry.timestampMs);
    for (const m of entry.vanished) addPoint(byKey, base, m, STALE_NAN, entry.timestampMs);
  }
  return [...byKey.values()];
}

function addPoint(byKey: Map<string, PromTimeSeries>, base: ReadonlyMap<string, string>, m: Metric, value: number, timestamp: number): void {
  const key = seriesKey(m);
  let series = byKey.get(key);
  if (!series) {
    series = { labels: seriesLabels(base, m), samples: [] };
    byKey.set(key, series);
  }
  series.samples.push({ value, timestamp });
}

export function baseLabels(options: SeriesLabelOptions): ReadonlyMap<string, string> {
  const base = new Map<string, string>([
    ['job', options.job],
    ['instance', options.instance],
  ]);
  // --label instance=… or job=… is deliberate: it overrides the defaults.
  for (const [k, v] of Object.entries(options.extraLabels)) base.set(k, v);
  return base;
}

/** Sorted, unique, non-empty labels of one metric's series. */
export function seriesLabels(base: ReadonlyMap<string, string>, m: Metric): PromLabel[] {
  const all = new Map(base);
  for (const k in m.labels) all.set(k, m.labels[k] as string);
  all.set('__name__', m.name);
  const labels: PromLabel[] = [];
  for (const [name, value] of all) if (name !== '' && value !== '') labels.push({ name, value });
  // Prometheus compares label names as byte strings; names are ASCII, so code-unit order is the same.
  labels.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return labels;
}

/** The protobuf bytes of a WriteRequest holding these series. */
export function encodeWriteRequest(timeseries: readonly PromTimeSeries[]): Uint8Array {
  return writeRequest().encode({ timeseries }).finish();
}

/** Decodes a WriteRequest. */
export function decodeWriteRequest(bytes: Uint8Array): { timeseries: PromTimeSeries[] } {
  const type = writeRequest();
  return type.toObject(type.decode(bytes), { longs: Number, defaults: true }) as { timeseries: PromTimeSeries[] };
}
