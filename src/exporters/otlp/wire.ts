/**
 * Queued samples -> an OTLP ExportMetricsServiceRequest, written by hand: one ResourceMetrics (the
 * resource's attributes), one ScopeMetrics (scope `scaph` and its version), one Metric per family met in
 * the batch (first-met order) holding the data points of every entry, in entry order. Decodes to exactly
 * what OpenTelemetry's own generated code reads (test/support/servers/otlp-receiver.ts decodes with it).
 *
 * Why by hand: OpenTelemetry JS's serializer walks the SDK's objects and encodes every attribute of every
 * point at every export. Here, as in the remote-write wire:
 * - each family's Metric head (name, description, unit) is encoded once;
 * - the attributes of a labels object (the metrics view shares one between a process's five series, and
 *   keeps it while the process lives) are encoded once and reused, step after step;
 * - each entry's time, and each cumulative series' start time, is worked out once as its 8 bytes;
 * - sizes are computed first, then every byte is written into one buffer, reused from encode to encode.
 *
 * Field numbers (opentelemetry-proto v1.11.0, commit 790608c4d51e6ffc12210b541e8514cbed9e91a4):
 * - collector/metrics/v1/metrics_service.proto: ExportMetricsServiceRequest.resource_metrics = 1
 * - metrics/v1/metrics.proto: ResourceMetrics.resource = 1, scope_metrics = 2; ScopeMetrics.scope = 1,
 *   metrics = 2; Metric.name = 1, description = 2, unit = 3, gauge = 5, sum = 7; Gauge.data_points = 1;
 *   Sum.data_points = 1, aggregation_temporality = 2 (AGGREGATION_TEMPORALITY_CUMULATIVE = 2),
 *   is_monotonic = 3; NumberDataPoint.start_time_unix_nano = 2 (fixed64), time_unix_nano = 3 (fixed64),
 *   as_double = 4, as_int = 6 (sfixed64), attributes = 7, flags = 8 (DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK
 *   = 1)
 * - resource/v1/resource.proto: Resource.attributes = 1
 * - common/v1/common.proto: InstrumentationScope.name = 1, version = 2; KeyValue.key = 1, value = 2;
 *   AnyValue.string_value = 1, int_value = 3 (int64)
 *
 * Counters are monotonic cumulative Sums. A series' start_time_unix_nano is when scaph began counting it:
 * the reading before the first entry it was met in (QueuedSample.startMs), kept while the series lives, and
 * moved only when its counter goes down (it started again: a group back after its retention, a raw counter
 * that wrapped). A series that vanished (a process ended or left the selection) gets one point with no
 * value and the NO_RECORDED_VALUE flag, which receivers translating to Prometheus store as a staleness
 * marker, so graphs stop at once.
 */
import type { Metric, MetricLabels } from '../../core/metric-families.js';
import { otlpFamily, type OtlpAttribute, type OtlpFamily, type OtlpNaming } from '../../core/otlp-names.js';
import type { QueuedSample } from '../../delivery/transport.js';
import { varintSize, writeVarint } from '../protobuf-varint.js';
import { lenField, putBytes, putDouble, putInt64, stringField, tag, unixNanoBytes, varintField, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from './protobuf-bytes.js';

const TAG_RESOURCE_METRICS = tag(1, WIRE_LEN);
const TAG_RESOURCE = tag(1, WIRE_LEN);
const TAG_SCOPE_METRICS = tag(2, WIRE_LEN);
const TAG_SCOPE = tag(1, WIRE_LEN);
const TAG_METRIC = tag(2, WIRE_LEN);
const TAG_GAUGE = tag(5, WIRE_LEN);
const TAG_SUM = tag(7, WIRE_LEN);
const TAG_DATA_POINT = tag(1, WIRE_LEN);
const TAG_START_TIME = tag(2, WIRE_FIXED64);
const TAG_TIME = tag(3, WIRE_FIXED64);
const TAG_AS_DOUBLE = tag(4, WIRE_FIXED64);
const TAG_AS_INT = tag(6, WIRE_FIXED64);
const TAG_ATTRIBUTE = tag(7, WIRE_LEN);
const TAG_FLAGS = tag(8, WIRE_VARINT);
const NO_RECORDED_VALUE = 1;
/** Sum.aggregation_temporality = CUMULATIVE, Sum.is_monotonic = true. */
const SUM_TRAILER = Buffer.concat([varintField(2, 2), varintField(3, 1)]);

/** How a point's value is written. */
const VALUE_DOUBLE = 0;
const VALUE_INT = 1;
const VALUE_NONE = 2;

/** A cumulative series not met for this long (sample time) is forgotten: longer than a group's energy retention (10 min). */
const SERIES_KEPT_MS = 15 * 60_000;
const SWEEP_EVERY = 16;

export interface OtlpWireOptions {
  readonly naming: OtlpNaming;
  /** The resource's attributes (service.name, host.name, …), in order. */
  readonly resource: readonly OtlpAttribute[];
  /** The scope's version: scaph's. */
  readonly scopeVersion: string;
}

/** When a cumulative series began, kept across encodes. */
interface SeriesStart {
  readonly key: string;
  /** start_time_unix_nano's bytes now, and before the last reset (for a retried batch that straddles it). */
  bytes: Uint8Array;
  previousBytes: Uint8Array;
  /** Time of the point the current start applies from. */
  sinceMs: number;
  lastMs: number;
  lastValue: number;
  evicted: boolean;
}

/** What is kept per labels object and attribute mapping. */
interface LabelEntry {
  /** The NumberDataPoint.attributes fields, encoded. */
  readonly bytes: Buffer;
  /** The labels' content, for series keys (labels objects with the same content share series). */
  readonly key: string;
  /** Cumulative series of these labels, per family name. */
  readonly series: Map<string, SeriesStart>;
}

/** One family's Metric in the encode under way; kept (with its arrays) from encode to encode. */
interface FamilySlot {
  readonly family: OtlpFamily;
  readonly scaphName: string;
  /** name, description and unit fields. */
  readonly head: Buffer;
  readonly cumulative: boolean;
  readonly labelCache: WeakMap<MetricLabels, LabelEntry>;
  epoch: number;
  /** Points of the current encode: the first `used` items of each array. */
  used: number;
  readonly attributes: Buffer[];
  readonly values: number[];
  readonly valueKinds: number[];
  readonly times: Uint8Array[];
  readonly starts: Uint8Array[];
  /** Body of the Gauge or Sum message (computed while sizing). */
  dataBytes: number;
  metricBytes: number;
}

const EMPTY = new Uint8Array(0);

export class OtlpMetricsEncoder {
  private readonly naming: OtlpNaming;
  private readonly resourceField: Buffer;
  private readonly scopeField: Buffer;
  private readonly slots = new Map<string, FamilySlot>();
  /** Label caches per attribute mapping, shared by the families that map alike. */
  private readonly labelCaches = new Map<string, WeakMap<MetricLabels, LabelEntry>>();
  private readonly series = new Map<string, SeriesStart>();
  private readonly order: FamilySlot[] = [];
  private orderUsed = 0;
  private readonly timeBytes = new Map<number, Uint8Array>();
  private scratch = Buffer.allocUnsafeSlow(0);
  private epoch = 0;
  private newestMs = 0;

  constructor(options: OtlpWireOptions) {
    this.naming = options.naming;
    this.resourceField = lenField(1, Buffer.concat(options.resource.map((a) => keyValueField(1, a))));
    this.scopeField = lenField(1, Buffer.concat([stringField(1, 'scaph'), stringField(2, options.scopeVersion)]));
  }

  /** Cumulative series whose start time is kept (bounded: those not met for 15 minutes are forgotten). */
  get keptSeries(): number {
    return this.series.size;
  }

  /** The request's bytes, in a Buffer of their own. */
  encode(entries: readonly QueuedSample[]): Buffer {
    return Buffer.from(this.encodeTransient(entries));
  }

  /** The same bytes in a scratch buffer the next call overwrites (for a caller that compresses them at once). */
  encodeTransient(entries: readonly QueuedSample[]): Buffer {
    const epoch = ++this.epoch;
    this.orderUsed = 0;
    for (const entry of entries) {
      const time = this.timeOf(entry.timestampMs);
      const startMs = entry.startMs ?? entry.timestampMs;
      for (const m of entry.metrics) this.add(epoch, m, time, entry.timestampMs, startMs, false);
      for (const m of entry.vanished) this.add(epoch, m, time, entry.timestampMs, startMs, true);
      if (entry.timestampMs > this.newestMs) this.newestMs = entry.timestampMs;
    }
    const out = this.write();
    if (epoch % SWEEP_EVERY === 0) this.sweep();
    return out;
  }

  private add(epoch: number, m: Metric, time: Uint8Array, timestampMs: number, startMs: number, vanished: boolean): void {
    const slot = this.slotOf(m.name);
    if (slot === null) return;
    if (slot.epoch !== epoch) {
      slot.epoch = epoch;
      slot.used = 0;
      this.order[this.orderUsed++] = slot;
    }
    const labels = this.labelEntry(slot, m.labels);
    const i = slot.used++;
    slot.attributes[i] = labels.bytes;
    slot.times[i] = time;
    if (vanished) {
      slot.valueKinds[i] = VALUE_NONE;
      slot.values[i] = 0;
    } else {
      const family = slot.family;
      const value = family.divisor === 1 ? m.value : m.value / family.divisor;
      slot.values[i] = value;
      slot.valueKinds[i] = family.asInt && Number.isSafeInteger(value) ? VALUE_INT : VALUE_DOUBLE;
    }
    slot.starts[i] = slot.cumulative ? this.startOf(slot, labels, timestampMs, startMs, vanished ? null : m.value) : EMPTY;
  }

  private slotOf(name: string): FamilySlot | null {
    let slot = this.slots.get(name);
    if (slot === undefined) {
      const family = otlpFamily(name, this.naming);
      // A family the table does not know cannot be named under this naming: left out (the unit tests hold
      // every family of metric-families.ts to be known).
      if (family === null) return null;
      let labelCache = this.labelCaches.get(family.attributeMapping);
      if (!labelCache) {
        labelCache = new WeakMap();
        this.labelCaches.set(family.attributeMapping, labelCache);
      }
      slot = {
        family,
        scaphName: name,
        head: Buffer.concat([stringField(1, family.name), stringField(2, family.description), stringField(3, family.unit)]),
        cumulative: family.type === 'counter',
        labelCache,
        epoch: 0,
        used: 0,
        attributes: [],
        values: [],
        valueKinds: [],
        times: [],
        starts: [],
        dataBytes: 0,
        metricBytes: 0,
      };
      this.slots.set(name, slot);
    }
    return slot;
  }

  private labelEntry(slot: FamilySlot, labels: MetricLabels): LabelEntry {
    let entry = slot.labelCache.get(labels);
    if (entry === undefined) {
      entry = { bytes: attributeFields(slot.family.attributes(labels)), key: labelsKey(labels), series: new Map() };
      slot.labelCache.set(labels, entry);
    }
    return entry;
  }

  /** start_time_unix_nano of the series of `labels` in `slot` at `timestampMs` (value null: a vanished series). */
  private startOf(slot: FamilySlot, labels: LabelEntry, timestampMs: number, startMs: number, value: number | null): Uint8Array {
    let s = labels.series.get(slot.scaphName);
    if (s === undefined || s.evicted) {
      const key = `${slot.scaphName}${labels.key}`;
      s = this.series.get(key);
      if (s === undefined) {
        const bytes = unixNanoBytes(Math.min(startMs, timestampMs));
        s = { key, bytes, previousBytes: bytes, sinceMs: timestampMs, lastMs: timestampMs, lastValue: value ?? 0, evicted: false };
        this.series.set(key, s);
      }
      labels.series.set(slot.scaphName, s);
    }
    if (value === null) return s.bytes;
    if (timestampMs > s.lastMs) {
      if (value < s.lastValue) {
        // The counter started again, within (lastMs, timestampMs]: from the reading before this one.
        s.previousBytes = s.bytes;
        s.bytes = unixNanoBytes(Math.min(timestampMs, Math.max(startMs, s.lastMs)));
        s.sinceMs = timestampMs;
      }
      s.lastMs = timestampMs;
      s.lastValue = value;
      return s.bytes;
    }
    // A point met before (a batch encoded again for a retry): the start it had then.
    return timestampMs >= s.sinceMs ? s.bytes : s.previousBytes;
  }

  private timeOf(ms: number): Uint8Array {
    let bytes = this.timeBytes.get(ms);
    if (bytes === undefined) {
      // Times of the entries under way only: a queue holds at most a few thousand.
      if (this.timeBytes.size >= 4096) this.timeBytes.clear();
      bytes = unixNanoBytes(ms);
      this.timeBytes.set(ms, bytes);
    }
    return bytes;
  }

  private sweep(): void {
    const oldest = this.newestMs - SERIES_KEPT_MS;
    for (const s of this.series.values()) {
      if (s.lastMs >= oldest) continue;
      s.evicted = true;
      this.series.delete(s.key);
    }
  }

  private write(): Buffer {
    const order = this.order;
    const count = this.orderUsed;
    let metricsBytes = 0;
    for (let f = 0; f < count; f++) {
      const slot = order[f] as FamilySlot;
      let data = slot.cumulative ? SUM_TRAILER.length : 0;
      const fixed = slot.cumulative ? 18 : 9;
      for (let i = 0; i < slot.used; i++) {
        const point = pointBytes(fixed, slot.valueKinds[i] as number, (slot.attributes[i] as Buffer).length);
        data += 1 + varintSize(point) + point;
      }
      slot.dataBytes = data;
      slot.metricBytes = slot.head.length + 1 + varintSize(data) + data;
      metricsBytes += 1 + varintSize(slot.metricBytes) + slot.metricBytes;
    }
    const scopeMetrics = this.scopeField.length + metricsBytes;
    const resourceMetrics = this.resourceField.length + 1 + varintSize(scopeMetrics) + scopeMetrics;
    const total = 1 + varintSize(resourceMetrics) + resourceMetrics;
    if (this.scratch.length < total) this.scratch = Buffer.allocUnsafeSlow(Math.max(total, this.scratch.length * 2));
    const out = this.scratch;
    let o = 0;
    out[o++] = TAG_RESOURCE_METRICS;
    o = writeVarint(out, o, resourceMetrics);
    o = putBytes(out, o, this.resourceField);
    out[o++] = TAG_SCOPE_METRICS;
    o = writeVarint(out, o, scopeMetrics);
    o = putBytes(out, o, this.scopeField);
    for (let f = 0; f < count; f++) o = writeMetric(out, o, order[f] as FamilySlot);
    return out.subarray(0, total);
  }
}

/** Bytes of one NumberDataPoint: start (sums) and time, the value (or the flag of a point without one), attributes. */
function pointBytes(fixed: number, valueKind: number, attributes: number): number {
  return fixed + (valueKind === VALUE_NONE ? 2 : 9) + attributes;
}

function writeMetric(out: Buffer, at: number, slot: FamilySlot): number {
  let o = at;
  out[o++] = TAG_METRIC;
  o = writeVarint(out, o, slot.metricBytes);
  o = putBytes(out, o, slot.head);
  out[o++] = slot.cumulative ? TAG_SUM : TAG_GAUGE;
  o = writeVarint(out, o, slot.dataBytes);
  const fixed = slot.cumulative ? 18 : 9;
  for (let i = 0; i < slot.used; i++) {
    const attributes = slot.attributes[i] as Buffer;
    const kind = slot.valueKinds[i] as number;
    out[o++] = TAG_DATA_POINT;
    o = writeVarint(out, o, pointBytes(fixed, kind, attributes.length));
    if (slot.cumulative) {
      out[o++] = TAG_START_TIME;
      o = putBytes(out, o, slot.starts[i] as Uint8Array);
    }
    out[o++] = TAG_TIME;
    o = putBytes(out, o, slot.times[i] as Uint8Array);
    if (kind === VALUE_INT) {
      out[o++] = TAG_AS_INT;
      o = putInt64(out, o, slot.values[i] as number);
    } else if (kind === VALUE_DOUBLE) {
      out[o++] = TAG_AS_DOUBLE;
      o = putDouble(out, o, slot.values[i] as number);
    }
    o = putBytes(out, o, attributes);
    if (kind === VALUE_NONE) {
      out[o++] = TAG_FLAGS;
      out[o++] = NO_RECORDED_VALUE;
    }
  }
  if (slot.cumulative) o = putBytes(out, o, SUM_TRAILER);
  return o;
}

/** The labels' content as a key: names and values, in the object's order (the view builds each kind alike). */
function labelsKey(labels: MetricLabels): string {
  let key = '';
  for (const k in labels) key += `\u0000${k}\u0001${labels[k] as string}`;
  return key;
}

/** The attributes of a data point as repeated NumberDataPoint.attributes fields. */
function attributeFields(attributes: readonly OtlpAttribute[]): Buffer {
  return Buffer.concat(attributes.map((a) => keyValueField(7, a)));
}

/** A KeyValue{key, AnyValue{string_value | int_value}} in field `field` of its message. */
export function keyValueField(field: number, [key, value]: OtlpAttribute): Buffer {
  const any = typeof value === 'number' ? varintField(3, value) : lenField(1, Buffer.from(value, 'utf8'));
  return lenField(field, Buffer.concat([stringField(1, key), lenField(2, any)]));
}
