/**
 * Queued samples -> remote-write 2.0 `io.prometheus.write.v2.Request` protobuf bytes, written by hand.
 *
 * Specification: "Prometheus Remote-Write 2.0 specification", version 2.0-rc.4 (experimental, a release
 * candidate), prometheus/docs `docs/specs/prw/remote_write_spec_2_0.md`
 * (https://prometheus.io/docs/specs/prw/remote_write_spec_2_0/). Schema: prometheus/prometheus
 * `prompb/io/prometheus/write/v2/types.proto` as of commit cefefc6 (Nov 2025), whose subset is
 * proto/write-v2.proto. What they ask of a sender, and how this file does it:
 * - every string (label names and values, help, unit) goes once into `Request.symbols` (field 4), which
 *   starts with the empty string; a series names its labels by index pairs (`TimeSeries.labels_refs`,
 *   field 1, packed), names sorted and unique, no empty name or value (series-labels.ts); an index never
 *   points past the table. The table holds the strings of this request only (numbered in first-use order).
 * - `TimeSeries.metadata` (field 5): `type` (COUNTER = 1 for energy and the delivery counters, GAUGE = 2 for
 *   the rest, from the metrics view), `help_ref` (field 3), `unit_ref` (field 4: the family's unit, e.g.
 *   `microwatts`; index 0 when a family has none).
 * - `Sample` (field 2 of TimeSeries): value (1, double), timestamp (2, ms), start_timestamp (3, ms, 0 = not
 *   given), in timestamp order. The spec asks counters to carry when they started counting. Every scaph
 *   counter counts from zero at or after the moment this scaph process started (the sensor's energy since
 *   its first reading, a process's or a group's since scaph first saw it, the others rollups and the
 *   delivery counters since their exporter was built), so that moment (`countersStartMs`) is a start no
 *   counter can be older than: a receiver that stores a zero at it stores something true, and never a
 *   reset that did not happen. It is left out of the raw RAPL psys counter (counting since boot or its
 *   last wrap: its start is not known), of samples taken before it (replayed from the spool of an earlier
 *   run) and of staleness markers. Older release candidates had a per-series created_timestamp
 *   (TimeSeries field 6, now reserved): receivers of that era skip field 3.
 * - staleness markers: the NaN 0x7ff0000000000002, written as its exact bytes.
 * - histograms (3) and exemplars (4) are never sent; the fields 1 to 3 of Request are reserved, so a 1.x
 *   receiver that ignores the content type decodes the body as an empty 1.0 WriteRequest.
 *
 * The same discipline as the 1.0 encoder (wire.ts): a labels object's sorted labels are worked out once;
 * each series keeps its interned symbols and its points in a slot reused from encode to encode; strings
 * are interned once and keep their encoded field; sizes are computed first, then every byte is written
 * into one buffer reused across encodes. A steady set of series allocates nothing per metric.
 */
import { METRIC_FAMILIES, type Metric, type MetricLabels, type MetricName } from '../../core/metric-families.js';
import type { QueuedSample } from '../../delivery/transport.js';
import { baseLabels, sortedLabels, type SeriesLabelOptions, type SortedLabels } from './series-labels.js';
import { varintSize, writeVarint } from '../protobuf-varint.js';
import { TimestampField, writeDouble, writeStale } from './wire.js';

export interface RequestV2Options extends SeriesLabelOptions {
  /**
   * When this scaph process started counting, ms since the epoch: the start_timestamp of counter samples
   * taken after it (see above). null: no counter sample gets one.
   */
  readonly countersStartMs: number | null;
}

const TAG_SYMBOL = 0x22; // Request.symbols, field 4, length-delimited
const TAG_TIMESERIES = 0x2a; // Request.timeseries, field 5, length-delimited
const TAG_LABELS_REFS = 0x0a; // TimeSeries.labels_refs, field 1, packed varints
const TAG_SAMPLE = 0x12; // TimeSeries.samples, field 2, length-delimited
const TAG_METADATA = 0x2a; // TimeSeries.metadata, field 5, length-delimited
const TAG_SAMPLE_VALUE = 0x09; // Sample.value, field 1, 64-bit
const TAG_START_TIMESTAMP = 0x18; // Sample.start_timestamp, field 3, varint
const TAG_METADATA_TYPE = 0x08; // Metadata.type, field 1, varint
const TAG_HELP_REF = 0x18; // Metadata.help_ref, field 3, varint
const TAG_UNIT_REF = 0x20; // Metadata.unit_ref, field 4, varint
export const METRIC_TYPE_COUNTER = 1;
export const METRIC_TYPE_GAUGE = 2;

/** Counters whose start is not scaph's: the raw RAPL psys counter counts since boot or its last wrap. */
const RAW_COUNTERS: ReadonlySet<string> = new Set<MetricName>(['scaph_host_rapl_psys_microjoules']);

/** One interned string: its Request.symbols field, and its index in the request being written. */
interface SymbolEntry {
  readonly text: string;
  /** Tag, length and UTF-8 bytes. */
  readonly field: Buffer;
  /** The encode that last used it; its `ref` is valid for that encode only. */
  epoch: number;
  ref: number;
  /** No longer interned: a holder must intern the text again. */
  evicted: boolean;
}

/** The metadata of a metric name. */
interface Family {
  readonly type: number;
  readonly help: SymbolEntry;
  readonly unit: SymbolEntry;
  /** Its counter samples carry countersStartMs. */
  readonly startable: boolean;
}

interface LabelSetV2 {
  readonly sorted: SortedLabels;
  /** The series of this labels object, per metric name. */
  readonly slots: Map<string, SeriesSlotV2>;
}

/** One series, kept across encodes (as wire.ts's SeriesSlot), with its label symbols (name, value pairs). */
interface SeriesSlotV2 {
  readonly key: string;
  readonly labels: readonly SymbolEntry[];
  readonly family: Family;
  epoch: number;
  evicted: boolean;
  /** Per point: value, timestamp, stale flag (1). Reused. */
  readonly points: number[];
  used: number;
}

/** The string every request's symbols start with, index 0: never in the table, never numbered. */
const EMPTY: SymbolEntry = { text: '', field: Buffer.from([TAG_SYMBOL, 0]), epoch: 0, ref: 0, evicted: false };

/** Series and strings unused for this many encodes leave the tables (checked every SWEEP_EVERY encodes). */
const SWEEP_AFTER = 64;
const SWEEP_EVERY = 16;

export class RequestV2Encoder {
  private readonly base: ReadonlyMap<string, string>;
  private readonly labelSets = new WeakMap<MetricLabels, LabelSetV2>();
  private lastLabels: MetricLabels | null = null;
  private lastLabelSet: LabelSetV2 | null = null;
  private readonly symbols = new Map<string, SymbolEntry>();
  private readonly families = new Map<string, Family>();
  private readonly slots = new Map<string, SeriesSlotV2>();
  private readonly order: SeriesSlotV2[] = [];
  private orderUsed = 0;
  /** This encode's symbols in index order (index i + 1): the first `symbolsUsed` items. Reused. */
  private readonly symbolOrder: SymbolEntry[] = [];
  private symbolsUsed = 0;
  private readonly bodies: number[] = [];
  private readonly refBytes: number[] = [];
  private scratch = Buffer.allocUnsafeSlow(0);
  private epoch = 0;
  private pointCount = 0;
  private readonly timestamp = new TimestampField();
  private readonly countersStartMs: number | null;
  /** The start_timestamp field of countersStartMs (tag and varint). */
  private readonly startField: Uint8Array;

  constructor(options: RequestV2Options) {
    this.base = baseLabels(options);
    const start = options.countersStartMs;
    this.countersStartMs = start !== null && Number.isSafeInteger(start) && start > 0 ? start : null;
    this.startField = this.countersStartMs === null ? new Uint8Array(0) : startTimestampField(this.countersStartMs);
  }

  /** Series in the intern table (bounded like the strings: unused ones leave after SWEEP_AFTER encodes). */
  get cachedSeries(): number {
    return this.slots.size;
  }

  get cachedSymbols(): number {
    return this.symbols.size;
  }

  /** Samples (points, staleness markers included) in the last request encoded: what Samples-Written should say. */
  get points(): number {
    return this.pointCount;
  }

  /** The Request bytes of `entries`, in a Buffer of their own. */
  encode(entries: readonly QueuedSample[]): Buffer {
    return Buffer.from(this.encodeTransient(entries));
  }

  /** The same bytes in a scratch buffer that the next call overwrites (for a caller that compresses them at once). */
  encodeTransient(entries: readonly QueuedSample[]): Buffer {
    const epoch = ++this.epoch;
    this.orderUsed = 0;
    for (const entry of entries) {
      this.addPoints(epoch, entry.metrics, entry.timestampMs, false);
      this.addPoints(epoch, entry.vanished, entry.timestampMs, true);
    }
    this.numberSymbols(epoch);
    const out = this.write();
    if (epoch % SWEEP_EVERY === 0) this.sweep(epoch);
    return out;
  }

  /**
   * Appends each metric's point to its series' slot (a vanished series gets the staleness marker). Values
   * are read and stored here, never passed to a call: a double passed to a call is boxed (one heap number
   * per metric); the timestamp is, once per entry.
   */
  private addPoints(epoch: number, metrics: readonly Metric[], t: number, stale: boolean): void {
    for (const m of metrics) {
      const slot = this.slotOf(epoch, m);
      const at = slot.used;
      slot.points[at] = stale ? Number.NaN : m.value;
      slot.points[at + 1] = t;
      slot.points[at + 2] = stale ? 1 : 0;
      slot.used = at + 3;
    }
  }

  private slotOf(epoch: number, m: Metric): SeriesSlotV2 {
    const labels = this.labelSet(m.labels);
    let slot = labels.slots.get(m.name);
    if (slot === undefined || slot.evicted) {
      slot = this.slot(m, labels);
      labels.slots.set(m.name, slot);
    }
    if (slot.epoch !== epoch) {
      slot.epoch = epoch;
      slot.used = 0;
      this.order[this.orderUsed++] = slot;
    }
    return slot;
  }

  private slot(m: Metric, set: LabelSetV2): SeriesSlotV2 {
    const key = m.name + set.sorted.keySuffix;
    let slot = this.slots.get(key);
    if (!slot) {
      const { names, values, nameAt } = set.sorted;
      const labels: SymbolEntry[] = [];
      for (let i = 0; i < names.length; i++) {
        if (i === nameAt && m.name !== '') labels.push(this.symbol('__name__'), this.symbol(m.name));
        labels.push(this.symbol(names[i] as string), this.symbol(values[i] as string));
      }
      if (nameAt === names.length && m.name !== '') labels.push(this.symbol('__name__'), this.symbol(m.name));
      slot = { key, labels, family: this.family(m), epoch: 0, evicted: false, points: [], used: 0 };
      this.slots.set(key, slot);
    }
    return slot;
  }

  private labelSet(labels: MetricLabels): LabelSetV2 {
    if (labels === this.lastLabels) return this.lastLabelSet as LabelSetV2;
    let set = this.labelSets.get(labels);
    if (set === undefined) {
      set = { sorted: sortedLabels(this.base, labels), slots: new Map() };
      this.labelSets.set(labels, set);
    }
    this.lastLabels = labels;
    this.lastLabelSet = set;
    return set;
  }

  private family(m: Metric): Family {
    let f = this.families.get(m.name);
    if (f === undefined || f.help.evicted || f.unit.evicted) {
      const known = (METRIC_FAMILIES as Readonly<Record<string, { readonly unit: string }>>)[m.name];
      const counter = m.type === 'counter';
      f = {
        type: counter ? METRIC_TYPE_COUNTER : METRIC_TYPE_GAUGE,
        help: this.symbol(m.help),
        unit: this.symbol(known?.unit ?? ''),
        startable: counter && !RAW_COUNTERS.has(m.name) && this.countersStartMs !== null,
      };
      this.families.set(m.name, f);
    }
    return f;
  }

  private symbol(text: string): SymbolEntry {
    if (text === '') return EMPTY;
    let s = this.symbols.get(text);
    if (s === undefined) {
      const n = Buffer.byteLength(text);
      const field = Buffer.allocUnsafe(1 + varintSize(n) + n);
      field[0] = TAG_SYMBOL;
      field.write(text, writeVarint(field, 1, n), 'utf8');
      s = { text, field, epoch: 0, ref: 0, evicted: false };
      this.symbols.set(text, s);
    }
    return s;
  }

  /** Gives this encode's symbols their indexes (1, 2, … in first-use order; 0 is the empty string). */
  private numberSymbols(epoch: number): void {
    this.symbolsUsed = 0;
    for (let i = 0; i < this.orderUsed; i++) {
      const slot = this.order[i] as SeriesSlotV2;
      const labels = slot.labels;
      for (let k = 0; k < labels.length; k++) this.number(labels[k] as SymbolEntry, epoch);
      this.number(slot.family.help, epoch);
      this.number(slot.family.unit, epoch);
    }
  }

  /** Numbers `s` in this encode, the first time the encode meets it. */
  private number(s: SymbolEntry, epoch: number): void {
    if (s === EMPTY || s.epoch === epoch) return;
    s.epoch = epoch;
    this.symbolOrder[this.symbolsUsed] = s;
    s.ref = ++this.symbolsUsed;
  }

  private write(): Buffer {
    const total = this.size();
    if (this.scratch.length < total) this.scratch = Buffer.allocUnsafeSlow(Math.max(total, this.scratch.length * 2));
    const out = this.scratch;
    let o = 0;
    const symbols = this.symbolOrder;
    out.set(EMPTY.field, o);
    o += EMPTY.field.length;
    for (let j = 0; j < this.symbolsUsed; j++) {
      const field = (symbols[j] as SymbolEntry).field;
      out.set(field, o);
      o += field.length;
    }
    for (let i = 0; i < this.orderUsed; i++) o = this.writeSeries(out, o, i);
    return out.subarray(0, total);
  }

  /** Bytes of the request; fills `bodies` and `refBytes` per series, and counts the points. */
  private size(): number {
    const ts = this.timestamp;
    const startField = this.startField.length;
    const start = this.countersStartMs ?? Number.POSITIVE_INFINITY;
    let total = EMPTY.field.length;
    for (let j = 0; j < this.symbolsUsed; j++) total += (this.symbolOrder[j] as SymbolEntry).field.length;
    let points = 0;
    for (let i = 0; i < this.orderUsed; i++) {
      const s = this.order[i] as SeriesSlotV2;
      let refs = 0;
      for (let k = 0; k < s.labels.length; k++) refs += varintSize((s.labels[k] as SymbolEntry).ref);
      let body = refs > 0 ? 1 + varintSize(refs) + refs : 0;
      const startable = s.family.startable;
      // A Sample field: its tag and length (one byte: a Sample is at most 31 bytes), then the Sample.
      for (let p = 0; p < s.used; p += 3) {
        const t = s.points[p + 1] as number;
        body += 2 + ts.sampleBytes(t);
        if (startable && s.points[p + 2] === 0 && start < t) body += startField;
      }
      body += 2 + metadataBytes(s.family);
      points += s.used / 3;
      this.refBytes[i] = refs;
      this.bodies[i] = body;
      total += 1 + varintSize(body) + body;
    }
    this.pointCount = points;
    return total;
  }

  private writeSeries(out: Buffer, at: number, i: number): number {
    const s = this.order[i] as SeriesSlotV2;
    const ts = this.timestamp;
    const startField = this.startField;
    const start = this.countersStartMs ?? Number.POSITIVE_INFINITY;
    let o = at;
    out[o++] = TAG_TIMESERIES;
    o = writeVarint(out, o, this.bodies[i] as number);
    const refs = this.refBytes[i] as number;
    if (refs > 0) {
      out[o++] = TAG_LABELS_REFS;
      o = writeVarint(out, o, refs);
      for (let k = 0; k < s.labels.length; k++) o = writeVarint(out, o, (s.labels[k] as SymbolEntry).ref);
    }
    const points = s.points;
    const startable = s.family.startable;
    for (let p = 0; p < s.used; p += 3) {
      const t = points[p + 1] as number;
      const stale = points[p + 2] === 1;
      const withStart = startable && !stale && start < t;
      out[o++] = TAG_SAMPLE;
      out[o++] = ts.sampleBytes(t) + (withStart ? startField.length : 0);
      out[o++] = TAG_SAMPLE_VALUE;
      o = stale ? writeStale(out, o) : writeDouble(out, o, points[p] as number);
      o = ts.write(out, o);
      if (withStart) {
        out.set(startField, o);
        o += startField.length;
      }
    }
    const f = s.family;
    out[o++] = TAG_METADATA;
    out[o++] = metadataBytes(f);
    out[o++] = TAG_METADATA_TYPE;
    out[o++] = f.type;
    if (f.help.ref > 0) {
      out[o++] = TAG_HELP_REF;
      o = writeVarint(out, o, f.help.ref);
    }
    if (f.unit.ref > 0) {
      out[o++] = TAG_UNIT_REF;
      o = writeVarint(out, o, f.unit.ref);
    }
    return o;
  }

  /** Forgets series and strings unused for SWEEP_AFTER encodes (ended processes), so the tables stay bounded. */
  private sweep(epoch: number): void {
    for (const slot of this.slots.values()) {
      if (epoch - slot.epoch < SWEEP_AFTER) continue;
      slot.evicted = true;
      this.slots.delete(slot.key);
    }
    // A live series uses its strings in every encode it is in, so a string goes only once its series have.
    for (const s of this.symbols.values()) {
      if (epoch - s.epoch < SWEEP_AFTER) continue;
      s.evicted = true;
      this.symbols.delete(s.text);
    }
  }
}

/** Bytes of a Metadata message: type, and the help and unit indexes when they are not 0. */
function metadataBytes(f: Family): number {
  return 2 + (f.help.ref > 0 ? 1 + varintSize(f.help.ref) : 0) + (f.unit.ref > 0 ? 1 + varintSize(f.unit.ref) : 0);
}

/** Sample.start_timestamp of `ms`: its tag and varint, written once for every counter sample. */
function startTimestampField(ms: number): Uint8Array {
  const field = new Uint8Array(1 + varintSize(ms));
  field[0] = TAG_START_TIMESTAMP;
  writeVarint(field, 1, ms);
  return field;
}
