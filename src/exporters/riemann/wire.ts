/**
 * Queued samples -> Riemann frames (4-byte big-endian length + Msg), written by hand. The bytes are
 * exactly those of encodeFrame({ events: RiemannEventBuilder.build(...) }) split the same way (that
 * builder is the test oracle in test/support/oracles/riemann-events.ts; the test proves it), but the
 * bench measured that path at 1.5x the npm `riemann` client for 1,000 processes, short of the 5x goal:
 * it builds an object per event and protobufjs walks each one. Here:
 * - per metric name: the name's service bytes and host + description + tags + ttl, which sit together
 *   on the wire (fields 4, 5, 7, 8), as one run of bytes;
 * - per labels object (the metrics view shares one between a process's five metrics): the attributes, with
 *   and without cmdline (only the process power event carries it), and the service suffixes;
 * - per sample: time + state (fields 1, 2) and time_micros (field 10);
 * - one buffer per batch, sized from the last batch, that the frames are views of (no copy; it grows if
 *   the batch is larger, and a batch that uses under half of it is copied into one that fits).
 *
 * Strings go through Buffer's UTF-8 encoder. protobufjs uses its own for strings under 40 characters,
 * which writes a lone surrogate (not valid UTF-16) as CESU bytes where Buffer writes U+FFFD: the one
 * input where the bytes differ. Labels and help texts come from /proc and our sources as valid strings.
 */
import type { Metric, MetricLabels } from '../../core/metric-families.js';
import type { QueuedSample } from '../../delivery/transport.js';
import { varintSize, writeVarint } from '../protobuf-varint.js';
import {
  carriesCmdline,
  CMDLINE_ATTRIBUTE,
  eventTags,
  eventTime,
  eventTimeMicros,
  goesAsSint64,
  processServicePrefix,
  processServiceSuffix,
  seriesServiceSuffix,
  withDescription,
  type RiemannEventOptions,
} from './events.js';
import { FRAME_HEADER_BYTES } from './proto.js';

// Tags: field number << 3 | wire type (0 varint, 1 64-bit, 2 length-delimited, 5 32-bit).
const TAG_MSG_EVENT = 0x32; // Msg.events = 6
const TAG_TIME = 0x08; // Event.time = 1
const TAG_STATE = 0x12; // 2
const TAG_SERVICE = 0x1a; // 3
const TAG_HOST = 0x22; // 4
const TAG_DESCRIPTION = 0x2a; // 5
const TAG_TAG = 0x3a; // 7
const TAG_TTL = 0x45; // 8, float
const TAG_ATTRIBUTE = 0x4a; // 9
const TAG_TIME_MICROS = 0x50; // 10
const TAG_METRIC_SINT64 = 0x68; // 13
const TAG_METRIC_D = 0x71; // 14, double
const TAG_ATTR_KEY = 0x0a; // Attribute.key = 1
const TAG_ATTR_VALUE = 0x12; // 2

const STATE = 'ok';
const MIN_BATCH_BYTES = 64 * 1024;
/** Tag + longest varint length of an event, beside its body. */
const EVENT_HEAD_MAX_BYTES = 1 + 5;

/** One Msg on the wire: the `index`-th Msg of `entry`'s events. */
export interface RiemannFrame {
  readonly entry: QueuedSample;
  readonly index: number;
  readonly events: number;
  readonly bytes: Buffer;
}

interface NameParts {
  readonly help: string;
  /** The service when the labels are not a process's (series suffix follows). */
  readonly service: Buffer;
  /** `<name without scaph_>_` for per-process names (process suffix follows), else null. */
  readonly processService: Buffer | null;
  /** Fields 4, 5, 7, 8: host, description (unless turned off), tags, ttl. */
  readonly middle: Buffer;
  /** Its events carry the cmdline attribute (carriesCmdline). */
  readonly cmdline: boolean;
}

interface LabelParts {
  readonly seriesSuffix: Buffer;
  readonly processSuffix: Buffer | null;
  /** Fields 9: one Attribute per label. */
  readonly attributes: Buffer;
  /** The same without the cmdline Attribute (the same buffer when there is none). */
  readonly attributesWithoutCmdline: Buffer;
}

/** What a frame covers in the batch buffer, until the buffer is final. */
interface Span {
  readonly entry: QueuedSample;
  readonly index: number;
  readonly events: number;
  readonly start: number;
  readonly end: number;
}

export class RiemannWireEncoder {
  private readonly constantMiddle: Buffer;
  private readonly names = new Map<string, NameParts>();
  private readonly labelParts = new WeakMap<MetricLabels, LabelParts>();
  private lastLabels: MetricLabels | null = null;
  private lastLabelParts: LabelParts | null = null;
  /** The batch being written: a new buffer per encode, since a batch may wait in the queue for a retry. */
  private out: Buffer = Buffer.alloc(0);
  private lastBatchBytes = 0;
  /** Fields 1, 2 and field 10 of the sample being written. */
  private head: Buffer = Buffer.alloc(0);
  private tail: Buffer = Buffer.alloc(0);
  private readonly maxEventsPerMsg: number;

  constructor(private readonly options: RiemannEventOptions, maxEventsPerMsg: number) {
    this.maxEventsPerMsg = Math.max(1, Math.floor(maxEventsPerMsg));
    const ttl = Buffer.allocUnsafe(5);
    ttl[0] = TAG_TTL;
    ttl.writeFloatLE(options.ttlS, 1);
    this.constantMiddle = Buffer.concat([...eventTags(options).map((t) => stringField(TAG_TAG, t)), ttl]);
  }

  /** Frames of every entry, in order; a Msg never spans two samples. Frames are views of one new buffer. */
  encode(entries: readonly QueuedSample[]): RiemannFrame[] {
    const spans: Span[] = [];
    this.out = Buffer.allocUnsafe(Math.max(MIN_BATCH_BYTES, this.lastBatchBytes + (this.lastBatchBytes >>> 4)));
    let o = 0;
    for (const entry of entries) {
      this.startSample(entry.timestampMs);
      const metrics = entry.metrics;
      for (let start = 0, index = 0; start < metrics.length; start += this.maxEventsPerMsg, index++) {
        const end = Math.min(start + this.maxEventsPerMsg, metrics.length);
        const frameStart = o;
        o = this.reserve(o, FRAME_HEADER_BYTES) + FRAME_HEADER_BYTES;
        for (let i = start; i < end; i++) o = this.writeEvent(metrics[i] as Metric, o);
        this.out.writeUInt32BE(o - frameStart - FRAME_HEADER_BYTES, frameStart);
        spans.push({ entry, index, events: end - start, start: frameStart, end: o });
      }
    }
    this.lastBatchBytes = o;
    let out = this.out;
    this.out = Buffer.alloc(0);
    if (o < out.length / 2) out = Buffer.from(out.subarray(0, o));
    return spans.map((s) => ({ entry: s.entry, index: s.index, events: s.events, bytes: out.subarray(s.start, s.end) }));
  }

  private startSample(timestampMs: number): void {
    this.head = Buffer.concat([int64Field(TAG_TIME, eventTime(timestampMs)), stringField(TAG_STATE, STATE)]);
    this.tail = int64Field(TAG_TIME_MICROS, eventTimeMicros(timestampMs));
  }

  private writeEvent(m: Metric, at: number): number {
    const name = this.nameParts(m);
    const labels = this.labelsParts(m.labels);
    let serviceName = name.service;
    let serviceSuffix = labels.seriesSuffix;
    if (name.processService !== null && labels.processSuffix !== null) {
      serviceName = name.processService;
      serviceSuffix = labels.processSuffix;
    }
    const serviceBytes = serviceName.length + serviceSuffix.length;
    const attributes = name.cmdline ? labels.attributes : labels.attributesWithoutCmdline;
    const value = m.value;
    const sint64 = goesAsSint64(m);
    const body =
      this.head.length +
      1 + varintSize(serviceBytes) + serviceBytes +
      name.middle.length +
      attributes.length +
      this.tail.length +
      (sint64 ? 1 + varintSize(zigzagMagnitude(value)) : 9);
    this.reserve(at, EVENT_HEAD_MAX_BYTES + body);
    const out = this.out;
    let o = at;
    out[o++] = TAG_MSG_EVENT;
    o = writeVarint(out, o, body);
    o = put(out, o, this.head);
    out[o++] = TAG_SERVICE;
    o = writeVarint(out, o, serviceBytes);
    o = put(out, o, serviceName);
    o = put(out, o, serviceSuffix);
    o = put(out, o, name.middle);
    o = put(out, o, attributes);
    o = put(out, o, this.tail);
    if (sint64) {
      out[o++] = TAG_METRIC_SINT64;
      const first = o;
      o = writeVarint(out, o, zigzagMagnitude(value));
      // zigzag(n) for n < 0 is 2(-n - 1) + 1: the even part written above, plus 1 in its lowest bit.
      if (value < 0) out[first] = (out[first] as number) | 1;
    } else {
      out[o++] = TAG_METRIC_D;
      o = out.writeDoubleLE(value, o);
    }
    return o;
  }

  /** Grows the batch buffer so `bytes` more fit at `at`; returns `at`. */
  private reserve(at: number, bytes: number): number {
    if (at + bytes > this.out.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.out.length * 2, at + bytes));
      this.out.copy(grown, 0, 0, at);
      this.out = grown;
    }
    return at;
  }

  private nameParts(m: Metric): NameParts {
    const cached = this.names.get(m.name);
    if (cached !== undefined && cached.help === m.help) return cached;
    const processPrefix = processServicePrefix(m.name);
    const parts: NameParts = {
      help: m.help,
      service: Buffer.from(m.name, 'utf8'),
      processService: processPrefix === null ? null : Buffer.from(processPrefix, 'utf8'),
      middle: Buffer.concat([
        stringField(TAG_HOST, this.options.hostname),
        withDescription(this.options) ? stringField(TAG_DESCRIPTION, m.help) : Buffer.alloc(0),
        this.constantMiddle,
      ]),
      cmdline: carriesCmdline(m.name),
    };
    this.names.set(m.name, parts);
    return parts;
  }

  private labelsParts(labels: MetricLabels): LabelParts {
    if (labels === this.lastLabels) return this.lastLabelParts as LabelParts;
    let parts = this.labelParts.get(labels);
    if (parts === undefined) {
      const processSuffix = processServiceSuffix(labels);
      const all: Buffer[] = [];
      const withoutCmdline: Buffer[] = [];
      for (const key in labels) {
        const field = attributeField(key, labels[key] ?? '');
        all.push(field);
        if (key !== CMDLINE_ATTRIBUTE) withoutCmdline.push(field);
      }
      const attributes = Buffer.concat(all);
      parts = {
        seriesSuffix: Buffer.from(seriesServiceSuffix(labels, this.options.perSocketServices === true), 'utf8'),
        processSuffix: processSuffix === null ? null : Buffer.from(processSuffix, 'utf8'),
        attributes,
        attributesWithoutCmdline: withoutCmdline.length === all.length ? attributes : Buffer.concat(withoutCmdline),
      };
      this.labelParts.set(labels, parts);
    }
    this.lastLabels = labels;
    this.lastLabelParts = parts;
    return parts;
  }
}

/** TypedArray.set: measured faster than a byte loop here even for the 10-byte parts, and than Buffer.copy. */
function put(out: Buffer, at: number, src: Buffer): number {
  out.set(src, at);
  return at + src.length;
}

/** A length-delimited string field: tag, UTF-8 length, bytes. */
function stringField(tag: number, value: string): Buffer {
  const n = Buffer.byteLength(value, 'utf8');
  const out = Buffer.allocUnsafe(1 + varintSize(n) + n);
  out[0] = tag;
  out.write(value, writeVarint(out, 1, n), 'utf8');
  return out;
}

/** Event.attributes field holding one Attribute{key, value}. */
function attributeField(key: string, value: string): Buffer {
  const body = Buffer.concat([stringField(TAG_ATTR_KEY, key), stringField(TAG_ATTR_VALUE, value)]);
  const out = Buffer.allocUnsafe(1 + varintSize(body.length) + body.length);
  out[0] = TAG_ATTRIBUTE;
  body.copy(out, writeVarint(out, 1, body.length));
  return out;
}

/**
 * An int64 varint field. Negative values take 10 bytes (two's complement), and values beyond 64 bits wrap,
 * as protobufjs does; NaN and infinities write 0 like protobufjs. Once per sample, so BigInt is fine.
 */
function int64Field(tag: number, value: number): Buffer {
  let v = BigInt.asUintN(64, Number.isFinite(value) ? BigInt(Math.trunc(value)) : 0n);
  const bytes = [tag];
  while (v >= 0x80n) {
    bytes.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  bytes.push(Number(v));
  return Buffer.from(bytes);
}

/**
 * zigzag(n) without its lowest bit: 2n for n >= 0, 2(-n - 1) for n < 0. For a safe integer this even
 * number stays exact as a double (up to 2^54), where zigzag(n) itself may not.
 */
function zigzagMagnitude(n: number): number {
  return n >= 0 ? n * 2 : (-n - 1) * 2;
}
