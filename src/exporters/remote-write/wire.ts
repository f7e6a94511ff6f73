/**
 * Queued samples -> WriteRequest protobuf bytes, written by hand. Decodes to exactly what
 * encodeWriteRequest(toTimeSeries(...)) gives (the protobufjs test oracle in
 * test/support/oracles/remote-write.ts: same series, labels, grouping and sample order), but
 * the bench measured that path at 2.9x the npm peer for 1,000 processes, short of the 5x goal: it
 * builds a Map and sorts labels per metric and goes through protobufjs objects. Here:
 * - the labels of a labels object (the metrics view shares one between a process's five metrics) are
 *   merged, sorted and encoded once, split around where `__name__` sorts, and kept while the object lives;
 * - each series' label bytes (with `__name__`) are joined once and kept, with the series' points, in a
 *   slot reused from encode to encode: a steady set of series allocates nothing but the output buffer;
 * - sizes are computed first, then every byte is written into one buffer;
 * - a staleness marker is written as its exact bytes, never through a double (no NaN canonicalisation).
 *
 * Wire (proto/remote.proto): WriteRequest.timeseries = 1; TimeSeries.labels = 1, samples = 2;
 * Label.name = 1, value = 2; Sample.value = 1 (double), timestamp = 2 (int64 varint).
 */
import type { Metric, MetricLabels } from '../../core/metric-families.js';
import type { QueuedSample } from '../../delivery/transport.js';
import { baseLabels, sortedLabels, type SeriesLabelOptions } from './series-labels.js';

export type { SeriesLabelOptions };

const TAG_TIMESERIES = 0x0a; // field 1, length-delimited
const TAG_LABEL = 0x0a;
const TAG_SAMPLE = 0x12; // field 2, length-delimited
const TAG_NAME = 0x0a;
const TAG_VALUE = 0x12;
const TAG_SAMPLE_VALUE = 0x09; // field 1, 64-bit
const TAG_SAMPLE_TIMESTAMP = 0x10; // field 2, varint
/** Prometheus' staleness NaN, 0x7ff0000000000002, little-endian. */
const STALE_BYTES = Buffer.from([0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f]);

/** The encoded labels of one labels object, less `__name__`, split where `__name__` sorts. */
interface LabelSet {
  /** seriesKey(m) without the leading metric name. */
  readonly keySuffix: string;
  readonly before: Buffer;
  readonly after: Buffer;
  /** The series of this labels object, per metric name. */
  readonly slots: Map<string, SeriesSlot>;
}

/**
 * One series, kept across encodes: its label bytes (with `__name__`) in one piece, and the points of
 * the encode that last used it. Interned by series key, so labels objects with equal content (a new
 * host-labels object every sample, a backlog of several samples) land in the same slot.
 */
interface SeriesSlot {
  readonly key: string;
  readonly labelBytes: Buffer;
  /** The encode that last used this slot: its points belong to that encode only. */
  epoch: number;
  /** No longer interned (unused for a while): a labels object still holding it must look it up again. */
  evicted: boolean;
  /** Per point: value, timestamp, stale flag (1) — flat to avoid an object per point. Reused. */
  readonly points: number[];
  /** Numbers of `points` that belong to the current encode (3 per point). */
  used: number;
}

/** Series unused for this many encodes leave the intern table (checked every SWEEP_EVERY encodes). */
const SWEEP_AFTER = 64;
const SWEEP_EVERY = 16;

export class WriteRequestEncoder {
  private readonly base: ReadonlyMap<string, string>;
  private labelSets = new WeakMap<MetricLabels, LabelSet>();
  private lastLabels: MetricLabels | null = null;
  private lastLabelSet: LabelSet | null = null;
  private readonly nameLabels = new Map<string, Buffer>();
  private readonly slots = new Map<string, SeriesSlot>();
  /** The series of the current encode, in first-seen order: the first `orderUsed` items. Reused. */
  private readonly order: SeriesSlot[] = [];
  private orderUsed = 0;
  private readonly bodies: number[] = [];
  /** encodeTransient's output, grown as needed. */
  private scratch = Buffer.allocUnsafeSlow(0);
  private epoch = 0;
  private readonly timestamp = new TimestampField();

  constructor(options: SeriesLabelOptions) {
    this.base = baseLabels(options);
  }

  /** Series in the intern table (bounded: unused series leave it after SWEEP_AFTER encodes). */
  get cachedSeries(): number {
    return this.slots.size;
  }

  /** The WriteRequest bytes of `entries`, in a Buffer of their own. */
  encode(entries: readonly QueuedSample[]): Buffer {
    return Buffer.from(this.encodeTransient(entries));
  }

  /**
   * The same bytes in a scratch buffer that the next call overwrites: for a caller that compresses them
   * at once. Pure as far as callers see: the caches only save work, the bytes depend on `entries` alone.
   */
  encodeTransient(entries: readonly QueuedSample[]): Buffer {
    const epoch = ++this.epoch;
    this.orderUsed = 0;
    // The points are written here rather than in a helper taking the value and timestamp: passing a
    // double to a call boxes it, two heap numbers per series per encode (~100 KB a step on 500 processes).
    for (const entry of entries) {
      const t = entry.timestampMs;
      for (const m of entry.metrics) {
        const slot = this.slotOf(epoch, m);
        const at = slot.used;
        slot.points[at] = m.value;
        slot.points[at + 1] = t;
        slot.points[at + 2] = 0;
        slot.used = at + 3;
      }
      for (const m of entry.vanished) {
        const slot = this.slotOf(epoch, m);
        const at = slot.used;
        slot.points[at] = Number.NaN;
        slot.points[at + 1] = t;
        slot.points[at + 2] = 1;
        slot.used = at + 3;
      }
    }
    const out = this.write();
    if (epoch % SWEEP_EVERY === 0) this.sweep(epoch);
    return out;
  }

  /** The slot of `m`'s series, listed in this encode's order the first time the encode meets it. */
  private slotOf(epoch: number, m: Metric): SeriesSlot {
    const labels = this.labelSet(m.labels);
    let slot = labels.slots.get(m.name);
    if (slot === undefined || slot.evicted) {
      slot = this.slot(m.name, labels);
      labels.slots.set(m.name, slot);
    }
    if (slot.epoch !== epoch) {
      slot.epoch = epoch;
      slot.used = 0;
      this.order[this.orderUsed++] = slot;
    }
    return slot;
  }

  private slot(name: string, labels: LabelSet): SeriesSlot {
    const key = name + labels.keySuffix;
    let slot = this.slots.get(key);
    if (!slot) {
      const labelBytes = Buffer.concat([labels.before, this.nameLabel(name), labels.after]);
      slot = { key, labelBytes, epoch: 0, evicted: false, points: [], used: 0 };
      this.slots.set(key, slot);
    }
    return slot;
  }

  /** Forgets series not written for SWEEP_AFTER encodes (ended processes), so the table stays bounded. */
  private sweep(epoch: number): void {
    for (const slot of this.slots.values()) {
      if (epoch - slot.epoch < SWEEP_AFTER) continue;
      slot.evicted = true;
      this.slots.delete(slot.key);
    }
  }

  /**
   * The encoded labels of a labels object. The hot path (a labels object seen before) holds no closure:
   * a function with one allocates its closures' context on every call, 40 bytes a metric (~100 KB a step).
   */
  private labelSet(labels: MetricLabels): LabelSet {
    // A process's metrics come in a row with one labels object: look it up once for the five.
    if (labels === this.lastLabels) return this.lastLabelSet as LabelSet;
    const set = this.labelSets.get(labels) ?? this.newLabelSet(labels);
    this.lastLabels = labels;
    this.lastLabelSet = set;
    return set;
  }

  private newLabelSet(labels: MetricLabels): LabelSet {
    const { keySuffix, names, values, nameAt } = sortedLabels(this.base, labels);
    const encode = (from: number, to: number): Buffer => Buffer.concat(names.slice(from, to).map((k, i) => labelField(k, values[from + i] as string)));
    const set: LabelSet = { keySuffix, before: encode(0, nameAt), after: encode(nameAt, names.length), slots: new Map() };
    this.labelSets.set(labels, set);
    return set;
  }

  private nameLabel(name: string): Buffer {
    let bytes = this.nameLabels.get(name);
    if (!bytes) {
      bytes = name === '' ? Buffer.alloc(0) : labelField('__name__', name);
      this.nameLabels.set(name, bytes);
    }
    return bytes;
  }

  private write(): Buffer {
    const all = this.order;
    const count = this.orderUsed;
    const bodies = this.bodies;
    const ts = this.timestamp;
    let total = 0;
    for (let i = 0; i < count; i++) {
      const s = all[i] as SeriesSlot;
      let body = s.labelBytes.length;
      // A Sample field: its tag and length (one byte: a Sample is at most 20 bytes), then the Sample.
      for (let p = 0; p < s.used; p += 3) body += 2 + ts.sampleBytes(s.points[p + 1] as number);
      bodies[i] = body;
      total += 1 + varintSize(body) + body;
    }
    if (this.scratch.length < total) this.scratch = Buffer.allocUnsafeSlow(Math.max(total, this.scratch.length * 2));
    const out = this.scratch;
    let o = 0;
    for (let i = 0; i < count; i++) {
      const s = all[i] as SeriesSlot;
      out[o++] = TAG_TIMESERIES;
      o = writeVarint(out, o, bodies[i] as number);
      out.set(s.labelBytes, o);
      o += s.labelBytes.length;
      const points = s.points;
      for (let p = 0; p < s.used; p += 3) {
        out[o++] = TAG_SAMPLE;
        out[o++] = ts.sampleBytes(points[p + 1] as number);
        out[o++] = TAG_SAMPLE_VALUE;
        o = points[p + 2] === 1 ? writeStale(out, o) : writeDouble(out, o, points[p] as number);
        o = ts.write(out, o);
      }
    }
    return out.subarray(0, total);
  }
}

/**
 * The timestamp field of a Sample (tag and varint) for the last timestamp asked for: the series of one
 * queued sample share its timestamp, so the varint is worked out once per sample rather than twice per
 * series, and never through a boxed number.
 */
export class TimestampField {
  private ms = Number.NaN;
  private readonly bytes = new Uint8Array(11);
  private length = 0;

  /** Bytes of a Sample (value field, timestamp field) at `ms`; makes `ms` the timestamp `write` writes. */
  sampleBytes(ms: number): number {
    if (ms !== this.ms) this.set(ms);
    return 9 + this.length;
  }

  /** Writes the timestamp field of the last `sampleBytes` call at `at`. */
  write(out: Buffer, at: number): number {
    const bytes = this.bytes;
    const n = this.length;
    for (let i = 0; i < n; i++) out[at + i] = bytes[i] as number;
    return at + n;
  }

  private set(ms: number): void {
    this.ms = ms;
    this.bytes[0] = TAG_SAMPLE_TIMESTAMP;
    this.length = writeVarint(this.bytes, 1, ms);
  }
}

/** A double's bytes through one shared Float64Array, as Buffer.writeDoubleLE does, without a call that boxes it. */
const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function writeDouble(out: Buffer, at: number, value: number): number {
  if (!LITTLE_ENDIAN) return out.writeDoubleLE(value, at);
  F64[0] = value;
  for (let i = 0; i < 8; i++) out[at + i] = F64_BYTES[i] as number;
  return at + 8;
}

export function writeStale(out: Buffer, at: number): number {
  for (let i = 0; i < 8; i++) out[at + i] = STALE_BYTES[i] as number;
  return at + 8;
}

/** TimeSeries.labels field holding one Label{name, value}. */
function labelField(name: string, value: string): Buffer {
  const n = Buffer.byteLength(name);
  const v = Buffer.byteLength(value);
  const label = 1 + varintSize(n) + n + 1 + varintSize(v) + v;
  const out = Buffer.allocUnsafe(1 + varintSize(label) + label);
  let o = 0;
  out[o++] = TAG_LABEL;
  o = writeVarint(out, o, label);
  out[o++] = TAG_NAME;
  o = writeVarint(out, o, n);
  o += out.write(name, o, 'utf8');
  out[o++] = TAG_VALUE;
  o = writeVarint(out, o, v);
  out.write(value, o, 'utf8');
  return out;
}

/** Bytes of a non-negative integer below 2^53 as a varint (negative int64s never occur here: ms since 1970). */
export function varintSize(value: number): number {
  let size = 1;
  for (let v = value; v >= 0x80; v = Math.floor(v / 128)) size++;
  return size;
}

export function writeVarint(out: Uint8Array, at: number, value: number): number {
  let o = at;
  let v = value;
  while (v >= 0x80) {
    out[o++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  out[o++] = v;
  return o;
}
