/**
 * A strict parser for Warp 10's GTS input format, following io.warp10.continuum.gts.GTSHelper.parse:
 *   TS/LAT:LON/ELEV CLASS{LABELS}{ATTRIBUTES} VALUE      (TS, location, elevation optional: `TS// C{} V`)
 *   =TS/LAT:LON/ELEV VALUE                                (continuation: class and labels of the line before)
 * Class, label keys/values and STRING values are percent-decoded (`+` stays a `+`); a `%` not followed
 * by two hex digits is NOT a parse error but an IllegalArgumentException in Warp 10, hence a 500.
 * Values: LONG (`[+-]digits`, must fit 64 bits), DOUBLE (decimal point, exponent, NaN, Infinity),
 * BOOLEAN (T, F, true, false in any case), STRING ('…' or "…"). Geo values (HH:, Q:), nested lists
 * (`[…]`) and binary (b64:, hex:) are valid in Warp 10 but not implemented here: reported as unsupported.
 */

export type GtsType = 'LONG' | 'DOUBLE' | 'BOOLEAN' | 'STRING';

export interface GtsPoint {
  readonly className: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly attributes: Readonly<Record<string, string>> | null;
  readonly timestampUs: number;
  readonly latitude: number | null;
  readonly longitude: number | null;
  readonly elevation: number | null;
  readonly type: GtsType;
  readonly value: number | boolean | string;
  /** The value token as written on the wire. */
  readonly raw: string;
}

/** A line Warp 10 rejects with a 400 ("Parse error at index N in '<line>'"). */
export class GtsParseError extends Error {
  constructor(
    readonly index: number,
    readonly line: string,
    readonly reason: string,
  ) {
    super(`Parse error at index ${index} in '${line}'`);
    this.name = 'GtsParseError';
  }
}

/** A stray `%` (not followed by two hex digits): Warp 10 answers 500, not 400. */
export class PercentDecodeError extends Error {
  constructor(readonly text: string) {
    super(`URLDecoder: Illegal hex characters in escape (%) pattern in '${text}'`);
    this.name = 'PercentDecodeError';
  }
}

const LONG_RE = /^[+-]?[0-9]+$/;
const DOUBLE_RE = /^[+-]?(NaN|Infinity|([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?)$/;
const BOOLEAN_RE = /^(t|f|true|false)$/i;
const LONG_MAX = 9223372036854775807n;
const LONG_MIN = -9223372036854775808n;

/** Percent-decodes UTF-8 text; `+` is literal. Throws PercentDecodeError on a stray `%`. */
export function percentDecode(text: string): string {
  if (text.indexOf('%') === -1) return text;
  const bytes: number[] = [];
  let out = '';
  const flush = (): void => {
    if (bytes.length > 0) {
      out += Buffer.from(bytes).toString('utf8');
      bytes.length = 0;
    }
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '%') {
      flush();
      out += c;
      continue;
    }
    const hex = text.slice(i + 1, i + 3);
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new PercentDecodeError(text);
    bytes.push(parseInt(hex, 16));
    i += 2;
  }
  flush();
  return out;
}

interface Previous {
  readonly className: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** Parses one non-empty, non-comment line. `previous` is the series of the line before (continuations). */
export function parseGtsLine(line: string, previous: Previous | null, nowUs: number): GtsPoint {
  const fail = (index: number, reason: string): never => {
    throw new GtsParseError(index, line, reason);
  };
  const continuation = line.startsWith('=');
  const tsStart = continuation ? 1 : 0;
  if (continuation && previous === null) fail(0, 'invalid continuation');
  const slash1 = line.indexOf('/');
  if (slash1 === -1) fail(0, 'missing timestamp separator');
  const timestampUs = parseTimestamp(line.slice(tsStart, slash1), nowUs) ?? fail(tsStart, 'invalid timestamp');
  const slash2 = line.indexOf('/', slash1 + 1);
  if (slash2 === -1) fail(slash1 + 1, 'missing location/elevation separator');
  const location = parseLocation(line.slice(slash1 + 1, slash2)) ?? fail(slash1 + 1, 'invalid location');
  const space = line.indexOf(' ', slash2 + 1);
  if (space === -1) fail(slash2 + 1, 'missing space after elevation');
  const elevText = line.slice(slash2 + 1, space);
  const elevation = elevText === '' ? null : (parseLong(elevText) ?? fail(slash2 + 1, 'invalid elevation'));
  let idx = skipSpaces(line, space + 1);
  let className: string;
  let labels: Readonly<Record<string, string>>;
  let attributes: Record<string, string> | null = null;
  if (continuation) {
    className = previous!.className;
    labels = previous!.labels;
  } else {
    const brace = line.indexOf('{', idx);
    if (brace === -1) fail(idx, 'missing labels');
    const rawClass = line.slice(idx, brace);
    if (rawClass === '' || /[\s}]/.test(rawClass)) fail(idx, 'invalid class name');
    className = percentDecode(rawClass);
    const close = line.indexOf('}', brace + 1);
    if (close === -1) fail(brace + 1, 'missing closing brace of labels');
    labels = parsePairs(line.slice(brace + 1, close)) ?? fail(brace + 1, 'invalid labels');
    idx = close + 1;
    if (line[idx] === '{') {
      const attrClose = line.indexOf('}', idx + 1);
      if (attrClose === -1) fail(idx + 1, 'missing closing brace of attributes');
      attributes = parsePairs(line.slice(idx + 1, attrClose)) ?? fail(idx + 1, 'invalid attributes');
      idx = attrClose + 1;
    }
    if (line[idx] !== ' ') fail(idx, 'expected a space before the value');
    idx = skipSpaces(line, idx);
  }
  if (idx >= line.length) fail(idx, 'missing value');
  const raw = line.slice(idx);
  const typed = parseValue(raw) ?? fail(idx, 'invalid value');
  return { className, labels, attributes, timestampUs, ...location, elevation, ...typed, raw };
}

function skipSpaces(line: string, from: number): number {
  let i = from;
  while (i < line.length && line[i] === ' ') i++;
  return i;
}

function parseTimestamp(text: string, nowUs: number): number | null {
  if (text === '') return nowUs;
  if (text.startsWith('T')) {
    const delta = parseLong(text.slice(1));
    return delta === null ? null : nowUs + delta;
  }
  return parseLong(text);
}

function parseLocation(text: string): { latitude: number | null; longitude: number | null } | null {
  if (text === '') return { latitude: null, longitude: null };
  const colon = text.indexOf(':');
  if (colon === -1) return null; // HHCode locations: not implemented here
  const lat = Number(text.slice(0, colon));
  const lon = Number(text.slice(colon + 1));
  if (!DOUBLE_RE.test(text.slice(0, colon)) || !DOUBLE_RE.test(text.slice(colon + 1))) return null;
  if (!(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180)) return null;
  return { latitude: lat, longitude: lon };
}

function parseLong(text: string): number | null {
  if (!LONG_RE.test(text)) return null;
  const big = BigInt(text);
  if (big > LONG_MAX || big < LONG_MIN) return null;
  return Number(big);
}

/** `k=v,k=v` (both sides percent-decoded); `{}` is no labels; a pair without `=` is a parse error. */
function parsePairs(text: string): Record<string, string> | null {
  const out: Record<string, string> = {};
  if (text === '') return out;
  for (const pair of text.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) return null;
    const rawKey = pair.slice(0, eq);
    const rawValue = pair.slice(eq + 1);
    if (/[\s{]/.test(rawKey) || /[\s{]/.test(rawValue)) return null;
    out[percentDecode(rawKey)] = percentDecode(rawValue);
  }
  return out;
}

function parseValue(raw: string): { type: GtsType; value: number | boolean | string } | null {
  const first = raw[0];
  if ((first === "'" || first === '"') && raw.length >= 2 && raw.endsWith(first)) {
    return { type: 'STRING', value: percentDecode(raw.slice(1, -1)) };
  }
  if (BOOLEAN_RE.test(raw)) return { type: 'BOOLEAN', value: raw[0] === 't' || raw[0] === 'T' };
  if (LONG_RE.test(raw)) {
    const v = parseLong(raw);
    return v === null ? null : { type: 'LONG', value: v };
  }
  if (DOUBLE_RE.test(raw)) return { type: 'DOUBLE', value: Number(raw) };
  return null;
}
