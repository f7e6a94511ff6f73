/**
 * Metrics -> Warp 10 GTS input format, one line per metric: `<ts µs>// <class>{<labels>} <value>`.
 *
 * Encoding (docs/protocols.md, from Warp 10's GTS input format and its parser): the server splits the
 * class at the first `{`, labels at the first `}`, pairs on `,` and key/value on `=`, then
 * percent-decodes; a stray `%` is a 500. So class names,
 * label keys and label values are written exactly as `encodeURIComponent` would write them (which
 * encodes all of `% { } , =`, space, newline and every non-ASCII character).
 *
 * Values: an `int` metric is a LONG (`42`); a `float` metric is always a DOUBLE (`42.0`, `1.5e-7`) so a
 * series keeps one type even when a double happens to be whole. Values Warp 10 cannot store as that
 * type — NaN, ±Infinity, and ints outside the LONG range — are left out (the line is not written) and
 * counted in `skippedValues`: Warp 10 would reject the whole line with a 400, and a request-wide 400
 * would drop every other point of the step.
 *
 * Hot path (every process every step): no regex, no closures per item, no string concatenation (see
 * ascii-builder.ts: the body is built as bytes). Encoded class names and label keys are cached for the
 * life of the encoder; encoded label values in a bounded cache (cmdlines repeat step after step); the
 * encoded `{…}` of a label object is reused while consecutive metrics share it (the metrics view gives
 * the five series of one process the same labels object).
 */
import type { Metric, MetricLabels } from '../../core/metric-families.js';
import { AsciiBuilder } from './ascii-builder.js';

export interface Warp10FormatOptions {
  /** Added to every series as the `host` label (fleet series must not collide). */
  readonly host: string;
  /** Extra labels added to every series (--label k=v); may override `host`. A metric's own label wins. */
  readonly extraLabels?: Readonly<Record<string, string>>;
  /** Most label values kept in the encoded-value cache before it is cleared. */
  readonly valueCacheSize?: number;
}

const LONG_MAX = 9223372036854775807n;
const LONG_MIN = -9223372036854775808n;
const DEFAULT_VALUE_CACHE = 20_000;

/** encodeURIComponent's unreserved set: A-Z a-z 0-9 - _ . ! ~ * ' ( ) */
const UNRESERVED = buildUnreserved();

function buildUnreserved(): Uint8Array {
  const table = new Uint8Array(128);
  const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()";
  for (let i = 0; i < chars.length; i++) table[chars.charCodeAt(i)] = 1;
  return table;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Percent-encodes a class name, label key or label value for the GTS input format. */
export function encodeGtsText(text: string): string {
  return isUnreserved(text) ? text : encodeSlow(text);
}

function isUnreserved(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || UNRESERVED[c] === 0) return false;
  }
  return true;
}

function encodeSlow(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    // A lone UTF-16 surrogate cannot be UTF-8 encoded: write U+FFFD as a UTF-8 decoder would.
    return encodeURIComponent(text.replace(LONE_SURROGATE, '\uFFFD'));
  }
}

/** A LONG as Warp 10 parses it, or null when the value cannot be one. */
export function formatLong(value: number): string | null {
  if (Number.isSafeInteger(value)) return String(value);
  if (!Number.isFinite(value)) return null;
  const big = BigInt(Math.round(value));
  return big > LONG_MAX || big < LONG_MIN ? null : big.toString();
}

/** A DOUBLE that Warp 10 parses as a DOUBLE (never a bare integer), or null for NaN/±Infinity. */
export function formatDouble(value: number): string | null {
  if (!Number.isFinite(value)) return null;
  const text = String(value);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */ || c === 101 /* e */) return text;
  }
  return text + '.0';
}

/** Encodes metrics to GTS input lines; keep one per exporter so its caches live across steps. */
export class Warp10Formatter {
  /** Values left out since the formatter was created (NaN, ±Infinity, out-of-range LONG). */
  skippedValues = 0;
  private readonly classCache = new Map<string, Buffer>();
  private readonly keyCache = new Map<string, string>();
  private readonly keyBytesCache = new Map<string, Buffer>();
  private readonly valueCache = new Map<string, string>();
  private readonly valueCacheSize: number;
  private readonly staticKeys: readonly string[];
  private readonly staticLabels: Readonly<Record<string, string>>;
  /** `k=v,k=v` of the static labels, already encoded. */
  private readonly staticBytes: Buffer;
  private lastLabels: MetricLabels | null = null;
  /** Where the encoded labels of `lastLabels` sit in the output being built (copied, not re-encoded). */
  private lastLabelsStart = 0;
  private lastLabelsLength = 0;

  constructor(options: Warp10FormatOptions) {
    this.valueCacheSize = options.valueCacheSize ?? DEFAULT_VALUE_CACHE;
    // Null prototype: `k in staticLabels` must not see Object.prototype's keys.
    this.staticLabels = Object.assign(Object.create(null) as Record<string, string>, { host: options.host }, options.extraLabels ?? {});
    this.staticKeys = Object.keys(this.staticLabels);
    this.staticBytes = Buffer.from(this.staticWithout({}), 'latin1');
  }

  /** One line per metric (each ending in `\n`), all at `timestampMs` (written in µs), as text. */
  format(metrics: readonly Metric[], timestampMs: number): string {
    const out = new AsciiBuilder();
    this.formatInto(out, metrics, timestampMs);
    return out.take().toString('latin1');
  }

  /** Appends the lines to `out` (every byte is ASCII); returns how many lines were written. */
  formatInto(out: AsciiBuilder, metrics: readonly Metric[], timestampMs: number): number {
    const prefix = Buffer.from(`${Math.round(timestampMs * 1000)}// `, 'latin1');
    this.lastLabels = null;
    let lines = 0;
    for (let i = 0; i < metrics.length; i++) {
      const m = metrics[i]!;
      const v = m.value;
      // Safe integers are written digit by digit; anything else goes through its string form.
      const direct = m.kind === 'int' && Number.isSafeInteger(v);
      const text = direct ? '' : m.kind === 'float' ? formatDouble(v) : formatLong(v);
      if (text === null) {
        this.skippedValues++;
        continue;
      }
      out.bytes(prefix);
      out.bytes(this.classBytes(m.name));
      out.byte(123); // {
      if (m.labels === this.lastLabels) {
        out.repeat(this.lastLabelsStart, this.lastLabelsLength);
      } else {
        this.lastLabels = m.labels;
        this.lastLabelsStart = out.size;
        this.writeLabels(out, m.labels);
        this.lastLabelsLength = out.size - this.lastLabelsStart;
      }
      out.byte(125); // }
      out.byte(32);
      if (direct) out.int(v);
      else out.ascii(text);
      out.byte(10);
      lines++;
    }
    this.lastLabels = null;
    return lines;
  }

  private classBytes(name: string): Buffer {
    let bytes = this.classCache.get(name);
    if (bytes === undefined) {
      bytes = Buffer.from(encodeGtsText(name), 'latin1');
      this.classCache.set(name, bytes);
    }
    return bytes;
  }

  /** Writes `k=v,…` of the metric's labels then the static ones, straight into the output. */
  private writeLabels(out: AsciiBuilder, labels: MetricLabels): void {
    let first = true;
    let overridden = false;
    for (const k in labels) {
      if (!first) out.byte(44); // ,
      first = false;
      out.bytes(this.keyBytes(k));
      out.byte(61); // =
      out.ascii(this.value(labels[k]!));
      if (!overridden && k in this.staticLabels) overridden = true;
    }
    const rest = overridden ? Buffer.from(this.staticWithout(labels), 'latin1') : this.staticBytes;
    if (rest.length === 0) return;
    if (!first) out.byte(44);
    out.bytes(rest);
  }

  /** Static labels minus the keys the metric sets itself (rare: only when --label reuses a metric label). */
  private staticWithout(labels: MetricLabels): string {
    const parts: string[] = [];
    for (const k of this.staticKeys) if (!Object.hasOwn(labels, k)) parts.push(`${this.key(k)}=${this.value(this.staticLabels[k] ?? '')}`);
    return parts.join(',');
  }

  private keyBytes(k: string): Buffer {
    let bytes = this.keyBytesCache.get(k);
    if (bytes === undefined) {
      bytes = Buffer.from(this.key(k), 'latin1');
      this.keyBytesCache.set(k, bytes);
    }
    return bytes;
  }

  private key(k: string): string {
    let encoded = this.keyCache.get(k);
    if (encoded === undefined) {
      encoded = encodeGtsText(k);
      this.keyCache.set(k, encoded);
    }
    return encoded;
  }

  private value(v: string): string {
    // Most values (pids, ids, plain exe names) need no encoding: check that before any cache lookup.
    if (isUnreserved(v)) return v;
    let encoded = this.valueCache.get(v);
    if (encoded !== undefined) return encoded;
    encoded = encodeGtsText(v);
    if (this.valueCache.size >= this.valueCacheSize) this.valueCache.clear();
    this.valueCache.set(v, encoded);
    return encoded;
  }
}
