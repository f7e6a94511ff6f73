import { createHash } from 'node:crypto';
import { isInputFileOption, specCommand } from '../config/exporter-options.js';
import { canonicalDir, type ExporterConfig } from '../config/run-config.js';
import { readRegularFileSync } from '../core/bounded-fs.js';
import { UserPatterns } from '../core/user-pattern.js';
import { errorCodeOrText } from '../core/errors.js';

/**
 * What makes a running exporter the one an [[exporter]] table asks for: its type, the options commander
 * parsed from the table (the typed settings are a pure function of them, so equal options give equal
 * settings), its step, its spool (directory as the file system resolves it, and caps), and the content of
 * the input files its options name (a rotated token or certificate under the same path is a change: the
 * exporter read it when it was built). Two tables with the same identity are the same exporter; a reload
 * keeps it running as it is.
 *
 * The identity is a SHA-256 of that canonical description: it holds secrets (inline or read from `*_file`
 * keys), so it is never kept or shown in clear.
 */
export function exporterIdentity(e: ExporterConfig, readInput: (path: string) => Buffer = readInputFile): string {
  const description = {
    type: e.type,
    options: canonical(e.opts),
    stepMs: e.stepMs,
    spool: e.spool ? { dir: canonicalDir(e.spool.dir), maxBytes: e.spool.maxBytes, maxAgeMs: e.spool.maxAgeMs } : null,
    inputs: inputDigests(e, readInput),
  };
  return createHash('sha256').update(JSON.stringify(description)).digest('hex');
}

/** The spool directory as the file system resolves it (symlinks followed), or null without a spool. */
export function spoolKey(e: ExporterConfig): string | null {
  return e.spool ? canonicalDir(e.spool.dir) : null;
}

/** `type[index]`, how logs name an [[exporter]] table. */
export function exporterLabel(e: Pick<ExporterConfig, 'type' | 'index'>): string {
  return `${e.type}[${e.index}]`;
}

/** SHA-256 of each input file the options name (ca, cert, key, *-file), by option; an unreadable one by its error. */
function inputDigests(e: ExporterConfig, readInput: (path: string) => Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  for (const o of specCommand(e.spec).options) {
    if (!isInputFileOption(o)) continue;
    const path: unknown = e.opts[o.attributeName()];
    if (typeof path !== 'string') continue;
    let digest: string;
    try {
      digest = createHash('sha256').update(readInput(path)).digest('hex');
    } catch (err) {
      digest = `unreadable:${errorCodeOrText(err)}`;
    }
    out[o.attributeName()] = digest;
  }
  return out;
}

function readInputFile(path: string): Buffer {
  return readRegularFileSync(path);
}

/**
 * A value commander parsed, as plain JSON data with object keys sorted (so the order of keys in the file
 * does not matter) and regexes and user patterns by source (and flags or scope). Anything else (a class instance from a future option
 * parser) is refused: comparing it by its enumerable fields could call two different settings equal.
 */
export function canonical(value: unknown): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (value === undefined) return null;
  if (value instanceof RegExp) return { regex: value.source, flags: value.flags };
  if (value instanceof UserPatterns) return { patterns: [...value.sources], scope: value.scope };
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = canonical(v);
    }
    return out;
  }
  throw new TypeError(`cannot compare an exporter option of type ${Object.prototype.toString.call(value)}: teach canonical() in exporter-identity.ts about it`);
}
