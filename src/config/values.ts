import { quoted } from '../core/quoted.js';

/** Value helpers for the config file: ${ENV} references, durations and sizes. Each throws an Error whose
 *  message completes "<key>: ...". */

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\$/g;

/**
 * Replaces `${NAME}` with the environment variable NAME (secrets stay out of the file; under systemd,
 * `${CREDENTIALS_DIRECTORY}/token` finds LoadCredential= files). `$$` is a literal `$`. A variable that
 * is not set is an error naming it: an empty token would only fail later, at the backend.
 */
export function expandEnv(value: string, env: NodeJS.ProcessEnv): string {
  return value.replace(ENV_REF, (whole, name: string | undefined) => {
    if (whole === '$$') return '$';
    const v = env[name ?? ''];
    if (v === undefined) throw new Error(`environment variable ${name ?? ''} is not set (referenced as \${${name ?? ''}})${unsetHint(name ?? '')}`);
    return v;
  });
}

/** systemd sets CREDENTIALS_DIRECTORY for a unit with LoadCredential=; outside one, scaph run takes it as a flag. */
function unsetHint(name: string): string {
  return name === 'CREDENTIALS_DIRECTORY'
    ? ': systemd sets it for a unit with LoadCredential=; outside systemd give "scaph run --credentials-directory DIR", DIR holding the files as the unit names them'
    : '';
}

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/;
const DURATION_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A number of seconds, or a string like "500ms", "30s", "15m", "24h", "7d"; returns ms (> 0), at most
 * 2^53 - 1: beyond, the milliseconds are no longer exact (spool_max_age = 1e16 was taken).
 */
export function durationMs(value: unknown): number {
  const ms = typeof value === 'number' && Number.isFinite(value) && value > 0 ? value * 1000 : typeof value === 'string' ? writtenDurationMs(value) : 0;
  if (ms > Number.MAX_SAFE_INTEGER) throw new Error(`must be at most ${Number.MAX_SAFE_INTEGER} ms (2^53 - 1, about 285,000 years), got ${show(value)}`);
  if (ms > 0) return ms;
  throw new Error(`must be a positive number of seconds or a duration like "500ms", "30s", "24h", "7d", got ${show(value)}`);
}

/** "30s" as ms; 0 when it is not a duration. */
function writtenDurationMs(value: string): number {
  const m = DURATION.exec(value.trim());
  return m?.[1] ? Number(m[1]) * (DURATION_MS[m[2] ?? 's'] ?? 1000) : 0;
}

const SIZE = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB|K|M|G)?$/i;
const SIZE_BYTES: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  k: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
};

/**
 * A number of bytes, or a string like "512MiB", "1G", "200MB"; returns bytes (> 0, whole), at most 2^53 - 1
 * (8 PiB): beyond, whole numbers are not exact ("9007199254740993" was taken as ...992).
 */
export function sizeBytes(value: unknown): number {
  const bytes = typeof value === 'number' && Number.isInteger(value) ? value : typeof value === 'string' ? writtenSizeBytes(value) : 0;
  if (bytes > Number.MAX_SAFE_INTEGER) throw new Error(`must be at most ${Number.MAX_SAFE_INTEGER} bytes (2^53 - 1, 8 PiB), got ${show(value)}`);
  if (bytes > 0) return bytes;
  throw new Error(`must be a size in bytes or like "512MiB", "1GiB", "200MB", got ${show(value)}`);
}

/** "512MiB" as bytes; 0 when it is not a size. */
function writtenSizeBytes(value: string): number {
  const m = SIZE.exec(value.trim());
  return m?.[1] ? Math.floor(Number(m[1]) * (SIZE_BYTES[(m[2] ?? 'b').toLowerCase()] ?? 1)) : 0;
}

/** A number written with a unit, as a file may give an option counted in seconds or in bytes. */
const DURATION_WITH_UNIT = /^\d+(?:\.\d+)?\s*(?:ms|s|m|h|d)$/;
const SIZE_WITH_UNIT = /^\d+(?:\.\d+)?\s*(?:B|KB|MB|GB|KiB|MiB|GiB|K|M|G)$/i;

/**
 * A config file's string for an option declared in seconds or bytes, written with a unit ("30s", "500ms",
 * "512KiB"), as the number in the option's own unit; null when it carries no unit (or the option has no such
 * unit), and the option's parser then reads it as it reads the command line. One reader per unit kind, the
 * one the file-only keys use (`[sensor] step`, `spool_max_age`: durationMs; `spool_max_bytes`: sizeBytes),
 * so `health_max_age = "15s"` is taken as `step = "15s"` is. Throws as durationMs and sizeBytes do.
 */
export function inOptionUnit(unit: string | undefined, written: string): number | null {
  const text = written.trim();
  if (unit === 'seconds' && DURATION_WITH_UNIT.test(text)) return durationMs(text) / 1000;
  if (unit === 'bytes' && SIZE_WITH_UNIT.test(text)) return sizeBytes(text);
  return null;
}

/** A value as a message quotes it: a string escaped and cut (quoted), so a 5,000-character value is not a 5,000-character line. */
export function show(value: unknown): string {
  if (typeof value === 'string') return quoted(value);
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a table';
  return String(value);
}

export function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}
