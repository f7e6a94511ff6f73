/**
 * Metrics -> Warp 10 GTS input format, one line per metric: `<ts µs>// <class>{<labels>} <value>`.
 *
 * Encoding (see shared/PROTOCOLS.md): the server splits the class at the first `{`, labels at the first
 * `}`, pairs on `,` and key/value on `=`, then percent-decodes; a stray `%` is a 500. So class names,
 * label keys and label values are written exactly as `encodeURIComponent` would write them (which
 * encodes all of `% { } , =`, space, newline and every non-ASCII character).
 *
 * Values: an `int` metric is a LONG (`42`); a `float` metric is always a DOUBLE (`42.0`, `1.5e-7`) so a
 * series keeps one type even when a double happens to be whole. Values Warp 10 cannot store as that
 * type — NaN, ±Infinity, and ints outside the LONG range — are left out (the line is not written) and
 * counted in `skippedValues`: Warp 10 would reject the whole line with a 400, and a request-wide 400
 * would drop every other point of the step.
 *
 * Hot path (every process every step): no regex, no closures per item. Encoded class names and label
 * keys are cached for the life of the encoder; encoded label values in a bounded cache (cmdlines repeat
 * step after step); the encoded `{…}` of a label object is reused while consecutive metrics share it
 * (the metrics view gives the five series of one process the same labels object).
 */
import type { Metric, MetricLabels } from '../core/metrics.js';

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
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || UNRESERVED[c] === 0) return encodeSlow(text);
  }
  return text;
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
  private readonly classCache = new Map<string, string>();
  private readonly keyCache = new Map<string, string>();
  private readonly valueCache = new Map<string, string>();
  private readonly valueCacheSize: number;
  private readonly staticKeys: readonly string[];
  private readonly staticLabels: Readonly<Record<string, string>>;
  /** `k=v,k=v` of the static labels, already encoded. */
  private readonly staticEncoded: string;
  private lastLabels: MetricLabels | null = null;
  private lastLabelsEncoded = '';

  constructor(options: Warp10FormatOptions) {
    this.valueCacheSize = options.valueCacheSize ?? DEFAULT_VALUE_CACHE;
    this.staticLabels = { host: options.host, ...(options.extraLabels ?? {}) };
    this.staticKeys = Object.keys(this.staticLabels);
    this.staticEncoded = this.staticKeys.map((k) => `${this.key(k)}=${this.value(this.staticLabels[k] ?? '')}`).join(',');
  }

  /** One line per metric (each ending in `\n`), all at `timestampMs` (written in µs). */
  format(metrics: readonly Metric[], timestampMs: number): string {
    const prefix = `${Math.round(timestampMs * 1000)}// `;
    let out = '';
    for (let i = 0; i < metrics.length; i++) {
      const m = metrics[i]!;
      const value = m.kind === 'int' ? formatLong(m.value) : formatDouble(m.value);
      if (value === null) {
        this.skippedValues++;
        continue;
      }
      out += prefix + this.className(m.name) + '{' + this.labelsOf(m.labels) + '} ' + value + '\n';
    }
    this.lastLabels = null;
    return out;
  }

  private labelsOf(labels: MetricLabels): string {
    if (labels === this.lastLabels) return this.lastLabelsEncoded;
    let out = '';
    let overridden = false;
    for (const k in labels) {
      if (out !== '') out += ',';
      out += this.key(k) + '=' + this.value(labels[k]!);
      if (!overridden && k in this.staticLabels) overridden = true;
    }
    const rest = overridden ? this.staticWithout(labels) : this.staticEncoded;
    if (rest !== '') out = out === '' ? rest : out + ',' + rest;
    this.lastLabels = labels;
    this.lastLabelsEncoded = out;
    return out;
  }

  /** Static labels minus the keys the metric sets itself (rare: only when --label reuses a metric label). */
  private staticWithout(labels: MetricLabels): string {
    const parts: string[] = [];
    for (const k of this.staticKeys) if (!(k in labels)) parts.push(`${this.key(k)}=${this.value(this.staticLabels[k] ?? '')}`);
    return parts.join(',');
  }

  private className(name: string): string {
    let encoded = this.classCache.get(name);
    if (encoded === undefined) {
      encoded = encodeGtsText(name);
      this.classCache.set(name, encoded);
    }
    return encoded;
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
    let encoded = this.valueCache.get(v);
    if (encoded !== undefined) return encoded;
    encoded = encodeGtsText(v);
    // Only strings that needed work are worth a cache slot; short safe ones cost less than the lookup.
    if (encoded !== v) {
      if (this.valueCache.size >= this.valueCacheSize) this.valueCache.clear();
      this.valueCache.set(v, encoded);
    }
    return encoded;
  }
}
