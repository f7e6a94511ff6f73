/**
 * The text log format, for people: one line per event, the level and the message first, then the event's
 * fields as key=value, then the time (left out under journald, which stamps every line itself):
 *
 *   WARN  delivery failed; will retry transport=remote-write error="connect ECONNREFUSED 127.0.0.1:9" retryInS=0.5 time=2026-12-07T08:30:01.123Z
 *
 * A value is written bare when it has no space, quote, backslash, `=` or control character, else as a
 * JSON string ("...", with \" and \n escapes). Nested objects become dotted keys (dropped.http_400=3),
 * arrays of plain values a comma-separated list, an error its message. pino's own fields that a person
 * does not need on every line (pid, hostname, name) are left out; the JSON format keeps them.
 */

/** pino's level numbers, as words of the same width once padded. */
const LEVEL_LABELS: ReadonlyMap<number, string> = new Map([
  [10, 'TRACE'],
  [20, 'DEBUG'],
  [30, 'INFO'],
  [40, 'WARN'],
  [50, 'ERROR'],
  [60, 'FATAL'],
]);

/** Fields of pino's JSON line that the text line renders in its own place, or not at all. */
const NOT_FIELDS = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name']);

/** Nested objects deeper than this are written as JSON (a log field is never a deep structure here). */
const MAX_DEPTH = 3;

export interface TextLineOptions {
  /** Leave the time out (the journal stamps lines itself). */
  readonly withoutTime: boolean;
}

/** One pino record (the object of its JSON line) as a text line, without the trailing newline. */
export function formatTextLine(record: Readonly<Record<string, unknown>>, options: TextLineOptions): string {
  const level = typeof record['level'] === 'number' ? record['level'] : 30;
  const label = LEVEL_LABELS.get(level) ?? `L${level}`;
  const msg = typeof record['msg'] === 'string' ? record['msg'] : '';
  const parts: string[] = [`${label.padEnd(5)} ${oneLine(msg)}`];
  for (const key of Object.keys(record)) {
    if (!NOT_FIELDS.has(key)) addField(parts, key, record[key], 0);
  }
  const time = record['time'];
  if (!options.withoutTime && typeof time === 'number') parts.push(`time=${new Date(time).toISOString()}`);
  return parts.join(' ');
}

function addField(parts: string[], key: string, value: unknown, depth: number): void {
  if (value === undefined) return;
  if (value === null || typeof value !== 'object') {
    parts.push(`${key}=${scalar(value)}`);
    return;
  }
  if (Array.isArray(value)) {
    const plain = value.every((v) => v === null || typeof v !== 'object');
    parts.push(`${key}=${quoted(plain ? value.map((v) => String(v)).join(',') : JSON.stringify(value))}`);
    return;
  }
  const obj = value as Record<string, unknown>;
  // pino's error serializer: { type, message, stack }. The message is what a person reads; -vv and the
  // JSON format keep the stack.
  if (typeof obj['message'] === 'string' && typeof obj['stack'] === 'string') {
    parts.push(`${key}=${quoted(obj['message'])}`);
    return;
  }
  if (depth >= MAX_DEPTH) {
    parts.push(`${key}=${quoted(JSON.stringify(obj))}`);
    return;
  }
  const keys = Object.keys(obj);
  if (keys.length === 0) parts.push(`${key}={}`);
  for (const k of keys) addField(parts, `${key}.${k}`, obj[k], depth + 1);
}

function scalar(value: unknown): string {
  if (typeof value === 'string') return quoted(value);
  if (typeof value === 'bigint') return value.toString();
  return String(value);
}

/** Bare when it reads unambiguously in a key=value list, else a JSON string. */
function quoted(s: string): string {
  return s !== '' && BARE.test(s) ? s : JSON.stringify(s);
}

// No whitespace, quote, backslash, '=' or control character (C0, DEL, C1).
const BARE = /^[^\s"\\=\u0000-\u001f\u007f-\u009f]+$/;

/** A message on one line: a line break inside it would start a line that is not an event. */
function oneLine(s: string): string {
  return /[\r\n]/.test(s) ? s.replace(/\r?\n|\r/g, '\\n') : s;
}
