/**
 * Queued samples -> WriteRequest protobuf bytes, written by hand. Decodes to exactly what
 * encodeWriteRequest(toTimeSeries(...)) gives (the protobufjs test oracle in
 * test/support/oracles/remote-write.ts: same series, labels, grouping and sample order), but
 * the bench measured that path at 2.9x the npm peer for 1,000 processes, short of the 5x goal: it
 * builds a Map and sorts labels per metric and goes through protobufjs objects. Here:
 * - the labels of a labels object (the metrics view shares one between a process's five metrics) are
 *   merged, sorted and encoded once into one buffer, split where `__name__` sorts, and kept while the
 *   object lives; a series writes that buffer around its `__name__` label (one buffer per name), so the
 *   label bytes exist once per labels object, not once per series (bench, scale section: 10,000 processes
 *   held 5 buffers, a key string and a points array per series, ~5 KB a process);
 * - label sets are interned by content, so labels objects with equal content (a new host-labels object
 *   every sample, a backlog of several samples) land in the same series;
 * - the points of an encode go into flat typed arrays shared by every series, chained per series: a steady
 *   set of series allocates nothing but the output buffer;
 * - sizes are computed first, then every byte is written into one buffer;
 * - a staleness marker is written as its exact bytes, never through a double (no NaN canonicalisation).
 *
 * Wire (proto/remote.proto): WriteRequest.timeseries = 1; TimeSeries.labels = 1, samples = 2;
 * Label.name = 1, value = 2; Sample.value = 1 (double), timestamp = 2 (int64 varint).
 */
import { labelsKey } from '../../core/labels-key.js';
import type { Metric, MetricLabels } from '../../core/metric-families.js';
import type { QueuedSample } from '../../delivery/transport.js';
import { baseLabels, sortedLabels, type SeriesLabelOptions } from './series-labels.js';
import { SNAPPY_BLOCK_BYTES, SnappyBlockWriter } from './snappy-block.js';
import { varintSize, writeVarint } from '../protobuf-varint.js';

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

/**
 * The encoded labels of one label content, less `__name__` (sorted, merged with job, instance and the
 * --label pairs), and its series, one per metric name.
 */
interface LabelSet {
  /** The content in insertion order: labels objects with equal content share the set. */
  readonly key: string;
  /** The encoded Label fields, `__name__` left out: it goes at `split`. */
  readonly bytes: Buffer;
  readonly split: number;
  /** The names of its series (a handful: a process has five), searched in order. */
  names: NameList;
  /**
   * Per series (same index as its name), three numbers: the encode that last used it (its chain of points
   * belongs to that encode only), then the index of its first and of its last point in the encode's point arrays.
   */
  readonly chains: number[];
  /** The last encode that used the set: sets unused for SWEEP_AFTER encodes are forgotten. */
  epoch: number;
  /** No longer interned: a labels object still holding it must look it up again. */
  evicted: boolean;
}

/**
 * The metric names of a label set's series in the order they came, with their `__name__` label bytes:
 * one list shared by every set that has the same names (10,000 processes, one list of five), where an
 * object per series made five objects a process that every full collection had to mark (bench, scale section).
 */
class NameList {
  private readonly longer = new Map<string, NameList>();

  constructor(
    readonly names: readonly string[],
    readonly nameBytes: readonly Buffer[],
  ) {}

  /** This list and `name` after it: one list per name added, shared by the sets that grow alike. */
  with(name: string, bytes: Buffer): NameList {
    let list = this.longer.get(name);
    if (list === undefined) {
      list = new NameList([...this.names, name], [...this.nameBytes, bytes]);
      this.longer.set(name, list);
    }
    return list;
  }
}

/** What a set's chains hold per series, and where. */
const CHAIN_FIELDS = 3;
const CHAIN_EPOCH = 0;
const CHAIN_FIRST = 1;
const CHAIN_LAST = 2;

/** Label sets unused for this many encodes leave the intern table (checked every SWEEP_EVERY encodes). */
const SWEEP_AFTER = 64;
const SWEEP_EVERY = 16;
const NO_POINT = -1;

export class WriteRequestEncoder {
  private readonly base: ReadonlyMap<string, string>;
  private labelSets = new WeakMap<MetricLabels, LabelSet>();
  private lastLabels: MetricLabels | null = null;
  private lastLabelSet: LabelSet | null = null;
  /** The set of the previous point, and the index of its slot there (pointOf's guess at the next slot). */
  private hintSet: LabelSet | null = null;
  private hintAt = -1;
  private readonly nameLabels = new Map<string, Buffer>();
  private readonly noNames = new NameList([], []);
  /** Label sets by content key. */
  private readonly interned = new Map<string, LabelSet>();
  private seriesInterned = 0;
  /**
   * The series of the current encode, in first-seen order: the first `orderUsed` items, each a label set
   * and the index of the series' name in it. Reused.
   */
  private readonly orderSets: LabelSet[] = [];
  private orderIndex = new Int32Array(256);
  private orderUsed = 0;
  /** The points of the current encode, chained per series through `pointNext`. Reused, grown as needed. */
  private pointValue = new Float64Array(256);
  private pointTime = new Float64Array(256);
  private pointStale = new Uint8Array(256);
  private pointNext = new Int32Array(256);
  private pointsUsed = 0;
  /** Per series of `order`: the length of its TimeSeries message. */
  private bodies = new Int32Array(256);
  /** The window write() writes a request through (SNAPPY_BLOCK_BYTES and one series at least). */
  private window: Buffer = Buffer.allocUnsafeSlow(2 * SNAPPY_BLOCK_BYTES);
  private readonly flat = new FlatSink();
  private readonly snappy = new SnappyBlockWriter();
  private epoch = 0;
  private readonly timestamp = new TimestampField();

  constructor(options: SeriesLabelOptions) {
    this.base = baseLabels(options);
  }

  /** Series in the intern table (bounded: unused label sets leave it after SWEEP_AFTER encodes). */
  get cachedSeries(): number {
    return this.seriesInterned;
  }

  /** The WriteRequest bytes of `entries`, in a Buffer of their own. */
  encode(entries: readonly QueuedSample[]): Buffer {
    return Buffer.from(this.encodeTransient(entries));
  }

  /**
   * The same bytes in a scratch buffer that the next call overwrites. Pure as far as callers see: the
   * caches only save work, the bytes depend on `entries` alone.
   */
  encodeTransient(entries: readonly QueuedSample[]): Buffer {
    this.collect(entries);
    return this.write(this.flat);
  }

  /**
   * The WriteRequest bytes snappy-compressed (block format), as the wire carries them, in a Buffer of their
   * own: the request is written and compressed 64 KiB at a time (snappy-block.ts), never whole.
   */
  encodeSnappy(entries: readonly QueuedSample[]): Buffer {
    this.collect(entries);
    return this.write(this.snappy);
  }

  /** Gathers the points of `entries` per series, in first-seen order. */
  private collect(entries: readonly QueuedSample[]): void {
    const epoch = ++this.epoch;
    this.orderUsed = 0;
    this.pointsUsed = 0;
    // The points are written here rather than in a helper taking the value and timestamp: passing a
    // double to a call boxes it, two heap numbers per series per encode (~100 KB a step on 500 processes).
    for (const entry of entries) {
      const t = entry.timestampMs;
      for (const m of entry.metrics) {
        const at = this.pointOf(epoch, m);
        this.pointValue[at] = m.value;
        this.pointTime[at] = t;
        this.pointStale[at] = 0;
      }
      for (const m of entry.vanished) {
        const at = this.pointOf(epoch, m);
        this.pointValue[at] = Number.NaN;
        this.pointTime[at] = t;
        this.pointStale[at] = 1;
      }
    }
    if (epoch % SWEEP_EVERY === 0) this.sweep(epoch);
  }

  /** A new point at the end of the chain of `m`'s series (listed in this encode's order the first time the encode meets it). */
  private pointOf(epoch: number, m: Metric): number {
    const set = this.labelSet(m.labels);
    set.epoch = epoch;
    if (set !== this.hintSet) {
      this.hintSet = set;
      this.hintAt = -1;
    }
    // A process's metrics come in the same order every step: the slot after the previous one is
    // usually the one, found without reading the others.
    const name = m.name;
    let index = this.hintAt + 1;
    const names = set.names.names;
    if (index >= names.length || names[index] !== name) index = names.indexOf(name);
    if (index < 0) index = this.newSeries(set, name);
    this.hintAt = index;
    const at = this.pointsUsed++;
    if (at === this.pointNext.length) this.growPoints();
    this.pointNext[at] = NO_POINT;
    const chains = set.chains;
    const c = index * CHAIN_FIELDS;
    if (chains[c + CHAIN_EPOCH] !== epoch) {
      chains[c + CHAIN_EPOCH] = epoch;
      chains[c + CHAIN_FIRST] = at;
      if (this.orderUsed === this.orderIndex.length) this.orderIndex = grown(this.orderIndex, new Int32Array(2 * this.orderUsed));
      this.orderSets[this.orderUsed] = set;
      this.orderIndex[this.orderUsed++] = index;
    } else this.pointNext[chains[c + CHAIN_LAST] as number] = at;
    chains[c + CHAIN_LAST] = at;
    return at;
  }

  /** Adds a series named `name` to the set; returns its index. */
  private newSeries(set: LabelSet, name: string): number {
    set.names = set.names.with(name, this.nameLabel(name));
    set.chains.push(0, NO_POINT, NO_POINT);
    if (!set.evicted) this.seriesInterned += 1;
    return set.names.names.length - 1;
  }

  private growPoints(): void {
    const size = this.pointNext.length * 2;
    this.pointValue = grown(this.pointValue, new Float64Array(size));
    this.pointTime = grown(this.pointTime, new Float64Array(size));
    this.pointStale = grown(this.pointStale, new Uint8Array(size));
    this.pointNext = grown(this.pointNext, new Int32Array(size));
  }

  /** Forgets label sets not written for SWEEP_AFTER encodes (ended processes), so the table stays bounded. */
  private sweep(epoch: number): void {
    for (const set of this.interned.values()) {
      if (epoch - set.epoch < SWEEP_AFTER) continue;
      set.evicted = true;
      this.seriesInterned -= set.names.names.length;
      this.interned.delete(set.key);
    }
  }

  /**
   * The label set of a labels object. The hot path (a labels object seen before) holds no closure:
   * a function with one allocates its closures' context on every call, 40 bytes a metric (~100 KB a step).
   */
  private labelSet(labels: MetricLabels): LabelSet {
    // A process's metrics come in a row with one labels object: look it up once for the five.
    if (labels === this.lastLabels) return this.lastLabelSet as LabelSet;
    let set = this.labelSets.get(labels);
    if (set === undefined || set.evicted) {
      set = this.internedSet(labels);
      this.labelSets.set(labels, set);
    }
    this.lastLabels = labels;
    this.lastLabelSet = set;
    return set;
  }

  private internedSet(labels: MetricLabels): LabelSet {
    // The key string is shared with the staleness tracker (one per labels object, core/labels-key.ts).
    const key = labelsKey(labels);
    return this.interned.get(key) ?? this.newLabelSet(key, labels);
  }

  private newLabelSet(key: string, labels: MetricLabels): LabelSet {
    const { names, values, nameAt } = sortedLabels(this.base, labels);
    const fields = names.map((k, i) => labelField(k, values[i] as string));
    const bytes = Buffer.concat(fields);
    const set: LabelSet = { key, bytes, split: fields.slice(0, nameAt).reduce((n, f) => n + f.length, 0), names: this.noNames, chains: [], epoch: 0, evicted: false };
    this.interned.set(key, set);
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

  /** Sizes every series, then writes them through a window of SNAPPY_BLOCK_BYTES (and a series) into `sink`. */
  private write(sink: ByteSink): Buffer {
    const count = this.orderUsed;
    if (this.bodies.length < count) this.bodies = new Int32Array(Math.max(count, this.bodies.length * 2));
    const { orderIndex, orderSets, bodies, pointTime, pointNext } = this;
    const ts = this.timestamp;
    let total = 0;
    for (let i = 0; i < count; i++) {
      const set = orderSets[i] as LabelSet;
      const index = orderIndex[i] as number;
      let body = set.bytes.length + (set.names.nameBytes[index] as Buffer).length;
      // A Sample field: its tag and length (one byte: a Sample is at most 20 bytes), then the Sample.
      const first = set.chains[index * CHAIN_FIELDS + CHAIN_FIRST] as number;
      for (let p = first; p !== NO_POINT; p = pointNext[p] as number) body += 2 + ts.sampleBytes(pointTime[p] as number);
      bodies[i] = body;
      total += 1 + varintSize(body) + body;
    }
    sink.begin(total);
    const { pointValue, pointStale } = this;
    let out = this.window;
    let o = 0;
    for (let i = 0; i < count; i++) {
      const set = orderSets[i] as LabelSet;
      const index = orderIndex[i] as number;
      const nameBytes = set.names.nameBytes[index] as Buffer;
      const body = bodies[i] as number;
      // A series longer than what is left of the window (a long command line) grows it.
      if (o + 1 + varintSize(body) + body > out.length) out = this.growWindow(o + 1 + varintSize(body) + body);
      out[o++] = TAG_TIMESERIES;
      o = writeVarint(out, o, body);
      if (set.split === 0) {
        // `__name__` sorts first (label names in lower case): two whole copies.
        o = copyAll(out, o, nameBytes);
        o = copyAll(out, o, set.bytes);
      } else {
        o = copyBytes(out, o, set.bytes, 0, set.split);
        o = copyAll(out, o, nameBytes);
        o = copyBytes(out, o, set.bytes, set.split, set.bytes.length);
      }
      for (let p = set.chains[index * CHAIN_FIELDS + CHAIN_FIRST] as number; p !== NO_POINT; p = pointNext[p] as number) {
        out[o++] = TAG_SAMPLE;
        out[o++] = ts.sampleBytes(pointTime[p] as number);
        out[o++] = TAG_SAMPLE_VALUE;
        o = pointStale[p] === 1 ? writeStale(out, o) : writeDouble(out, o, pointValue[p] as number);
        o = ts.write(out, o);
      }
      if (o >= SNAPPY_BLOCK_BYTES) o = sink.blocks(out, o);
    }
    return sink.finish(out, o);
  }

  private growWindow(size: number): Buffer {
    const grown = Buffer.allocUnsafeSlow(Math.max(size, this.window.length * 2));
    grown.set(this.window);
    this.window = grown;
    return grown;
  }
}

/** Where write() puts the request's bytes, a window at a time. */
interface ByteSink {
  /** A request of `inputBytes` bytes starts. */
  begin(inputBytes: number): void;
  /** Takes the bytes it wants of window[0, end), moves the rest to the window's start, returns its length. */
  blocks(window: Uint8Array, end: number): number;
  /** Takes window[0, end), the last bytes, and gives the result. */
  finish(window: Uint8Array, end: number): Buffer;
}

/** The request uncompressed, in one scratch buffer that the next request overwrites. */
class FlatSink implements ByteSink {
  private scratch: Buffer = Buffer.allocUnsafeSlow(0);
  private length = 0;

  begin(inputBytes: number): void {
    if (this.scratch.length < inputBytes) this.scratch = Buffer.allocUnsafeSlow(inputBytes);
    this.length = 0;
  }

  blocks(window: Uint8Array, end: number): number {
    this.scratch.set(window.subarray(0, end), this.length);
    this.length += end;
    return 0;
  }

  finish(window: Uint8Array, end: number): Buffer {
    this.blocks(window, end);
    return this.scratch.subarray(0, this.length);
  }
}


/** `to` with `from` copied at its start. */
function grown<T extends Float64Array | Uint8Array | Int32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/** Below this many bytes a copy goes byte by byte; from it on, TypedArray#set's memmove is faster than the loop. */
const SET_FROM_BYTES = 24;

/**
 * Copies all of `from` to `out` at `at`. A series' label bytes (~150 at 10,000 processes) went byte by byte
 * at ~1 ns a byte; set() copies them in ~20 ns (write() was 16 ms a step, 9 MB of series; bench, scale section).
 */
function copyAll(out: Buffer, at: number, from: Buffer): number {
  const n = from.length;
  if (n < SET_FROM_BYTES) return copyBytes(out, at, from, 0, n);
  out.set(from, at);
  return at + n;
}

/** Copies from[start, end) to `out` at `at` byte by byte: for short ranges, where a call per copy costs more. */
function copyBytes(out: Buffer, at: number, from: Buffer, start: number, end: number): number {
  let o = at;
  for (let i = start; i < end; i++) out[o++] = from[i] as number;
  return o;
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
