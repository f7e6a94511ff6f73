/**
 * Test oracle for remote-write 2.0 (io.prometheus.write.v2.Request), the readable way: protobufjs over
 * proto/write-v2.proto decodes what a sender wrote, `requestV2Problems` lists what the specification
 * (prometheus/docs docs/specs/prw/remote_write_spec_2_0.md, 2.0-rc.4) forbids in it, `resolveRequestV2`
 * turns symbol references back into strings, and `expectedSeriesV2` says what a request for queued
 * samples must hold. The transport's hand-written encoder (src/exporters/remote-write/wire-v2.ts) must
 * decode to exactly what expectedSeriesV2 gives.
 */
import protobuf from 'protobufjs';
import { packageFile } from '../../../src/core/package-file.js';
import { METRIC_FAMILIES, type Metric } from '../../../src/core/metric-families.js';
import { seriesKey } from '../../../src/delivery/series.js';
import type { QueuedSample } from '../../../src/delivery/transport.js';
import type { SeriesLabelOptions } from '../../../src/exporters/remote-write/series-labels.js';
import { baseLabels, seriesLabels, STALE_NAN, type PromLabel } from './remote-write.js';

export const CONTENT_TYPE_V2 = 'application/x-protobuf;proto=io.prometheus.write.v2.Request';
export const METRIC_TYPES = { unspecified: 0, counter: 1, gauge: 2 } as const;

/** A decoded Request, as protobufjs gives it (numbers for int64, defaults filled in). */
export interface RawRequestV2 {
  readonly symbols: string[];
  readonly timeseries: Array<{
    readonly labelsRefs: number[];
    readonly samples: Array<{ readonly value: number; readonly timestamp: number; readonly startTimestamp: number }>;
    readonly metadata?: { readonly type: number; readonly helpRef: number; readonly unitRef: number } | null;
  }>;
}

export interface SampleV2 {
  readonly value: number;
  readonly timestamp: number;
  /** 0 = not given. */
  readonly startTimestamp: number;
}

/** One series with its strings resolved. */
export interface SeriesV2 {
  readonly labels: readonly PromLabel[];
  readonly samples: SampleV2[];
  readonly metadata: { readonly type: number; readonly help: string; readonly unit: string };
}

let requestType: protobuf.Type | null = null;

function request(): protobuf.Type {
  requestType ??= protobuf.loadSync(packageFile('proto/write-v2.proto')).lookupType('io.prometheus.write.v2.Request');
  return requestType;
}

/** Decodes Request bytes (uncompressed). Throws on bytes that are not a Request. */
export function decodeRequestV2(bytes: Uint8Array): RawRequestV2 {
  const type = request();
  return type.toObject(type.decode(bytes), { longs: Number, enums: Number, defaults: true, arrays: true }) as RawRequestV2;
}

/** Encodes a Request the protobufjs way (tests that need a body the transport did not write). */
export function encodeRequestV2(req: RawRequestV2): Uint8Array {
  return request().encode(req).finish();
}

/**
 * What the specification forbids in a decoded request, one line each (empty: a valid request): symbols
 * not starting with "", a string twice in the table, references out of range or not in pairs, label names
 * unsorted, repeated or empty, empty values, a series without samples or with samples out of order, a
 * metadata type outside the enum, help or unit references out of range.
 */
export function requestV2Problems(req: RawRequestV2): string[] {
  const problems: string[] = [];
  const n = req.symbols.length;
  if (req.symbols[0] !== '') problems.push(`symbols[0] is ${JSON.stringify(req.symbols[0])}, not ""`);
  if (new Set(req.symbols).size !== n) problems.push('symbols holds a string twice');
  req.timeseries.forEach((ts, i) => {
    const refs = ts.labelsRefs;
    if (refs.length === 0) problems.push(`timeseries[${i}]: no labels_refs`);
    if (refs.length % 2 !== 0) problems.push(`timeseries[${i}]: labels_refs has an odd length (${refs.length})`);
    const bad = refs.filter((r) => r >= n);
    if (bad.length > 0) problems.push(`timeseries[${i}]: labels_refs ${bad.join(',')} out of range (${n} symbols)`);
    const names: string[] = [];
    for (let k = 0; k + 1 < refs.length; k += 2) {
      const name = req.symbols[refs[k] as number] ?? '';
      const value = req.symbols[refs[k + 1] as number] ?? '';
      if (name === '') problems.push(`timeseries[${i}]: an empty label name`);
      if (value === '') problems.push(`timeseries[${i}]: label ${name} has an empty value`);
      names.push(name);
    }
    for (let k = 1; k < names.length; k++) {
      if (!((names[k - 1] as string) < (names[k] as string))) problems.push(`timeseries[${i}]: label names not sorted or repeated (${names[k - 1]}, ${names[k]})`);
    }
    if (ts.samples.length === 0) problems.push(`timeseries[${i}]: no samples`);
    for (let k = 1; k < ts.samples.length; k++) {
      if ((ts.samples[k] as SampleV2).timestamp < (ts.samples[k - 1] as SampleV2).timestamp) problems.push(`timeseries[${i}]: samples out of timestamp order`);
    }
    const md = ts.metadata;
    if (md) {
      if (md.type < 0 || md.type > 7) problems.push(`timeseries[${i}]: metadata type ${md.type} is not in the enum`);
      if (md.helpRef >= n) problems.push(`timeseries[${i}]: help_ref ${md.helpRef} out of range`);
      if (md.unitRef >= n) problems.push(`timeseries[${i}]: unit_ref ${md.unitRef} out of range`);
    }
  });
  return problems;
}

/** The request's series with their strings; throws on a request with problems (requestV2Problems). */
export function resolveRequestV2(req: RawRequestV2): SeriesV2[] {
  const problems = requestV2Problems(req);
  if (problems.length > 0) throw new Error(`invalid remote-write 2.0 request: ${problems.join('; ')}`);
  const sym = (i: number): string => req.symbols[i] as string;
  return req.timeseries.map((ts) => {
    const labels: PromLabel[] = [];
    for (let k = 0; k < ts.labelsRefs.length; k += 2) labels.push({ name: sym(ts.labelsRefs[k] as number), value: sym(ts.labelsRefs[k + 1] as number) });
    const md = ts.metadata ?? { type: 0, helpRef: 0, unitRef: 0 };
    return {
      labels,
      samples: ts.samples.map((s) => ({ value: s.value, timestamp: s.timestamp, startTimestamp: s.startTimestamp })),
      metadata: { type: md.type, help: sym(md.helpRef), unit: sym(md.unitRef) },
    };
  });
}

/** The family's unit from the metric families table ('' for a name not in it). */
function unitOf(name: string): string {
  return (METRIC_FAMILIES as Readonly<Record<string, { readonly unit: string }>>)[name]?.unit ?? '';
}

/**
 * What a 2.0 request for `entries` holds: one series per label set in first-seen order, samples in entry
 * order (a vanished series gets the staleness NaN), the metric's type, help and unit; counter samples taken
 * after `countersStartMs` carry it as their start, except the raw psys counter and staleness markers.
 */
export function expectedSeriesV2(entries: readonly QueuedSample[], options: SeriesLabelOptions, countersStartMs: number | null): SeriesV2[] {
  const byKey = new Map<string, SeriesV2>();
  const base = baseLabels(options);
  const add = (m: Metric, value: number, timestamp: number, stale: boolean): void => {
    const key = seriesKey(m);
    let series = byKey.get(key);
    if (!series) {
      const type = m.type === 'counter' ? METRIC_TYPES.counter : METRIC_TYPES.gauge;
      series = { labels: seriesLabels(base, m), samples: [], metadata: { type, help: m.help, unit: unitOf(m.name) } };
      byKey.set(key, series);
    }
    const started = m.type === 'counter' && m.name !== 'scaph_host_rapl_psys_microjoules' && !stale && countersStartMs !== null && countersStartMs < timestamp;
    series.samples.push({ value, timestamp, startTimestamp: started ? countersStartMs : 0 });
  };
  for (const entry of entries) {
    for (const m of entry.metrics) add(m, m.value, entry.timestampMs, false);
    for (const m of entry.vanished) add(m, STALE_NAN, entry.timestampMs, true);
  }
  return [...byKey.values()];
}

/** Series with NaN values made comparable (toEqual treats NaN as equal, but a diff reads better). */
export function comparable(series: readonly SeriesV2[]): unknown[] {
  return series.map((s) => ({ ...s, samples: s.samples.map((p) => ({ ...p, value: Number.isNaN(p.value) ? 'NaN' : p.value })) }));
}
