import { parse as parseToml, TomlError } from 'smol-toml';
import type { Node } from 'yaml';
import { yaml } from '../core/lazy-modules.cjs';

export type ConfigFormat = 'toml' | 'yaml';

/** A path into the parsed file: ['exporter', 1, 'url']. */
export type KeyPath = ReadonlyArray<string | number>;

/** One problem found in the file, with the line it is on when we know it. */
export interface ConfigProblem {
  readonly line: number | null;
  readonly message: string;
}

/** The parsed file: plain data plus a way back to the line of any key, for error messages. */
export interface ConfigSource {
  readonly format: ConfigFormat;
  readonly data: unknown;
  /** Syntax errors (the data is unusable when there are any). */
  readonly problems: readonly ConfigProblem[];
  lineOf(path: KeyPath): number | null;
}

/** TOML or YAML: by extension, else by content (TOML tables or `key = value` lines). */
export function detectFormat(file: string, text: string): ConfigFormat {
  const lower = file.toLowerCase();
  if (lower.endsWith('.toml')) return 'toml';
  if (lower.endsWith('.yaml') || lower.endsWith('.yml')) return 'yaml';
  return /^\s*(\[[^\]\n]*\]|[A-Za-z0-9_"'-]+\s*=)/m.test(text) ? 'toml' : 'yaml';
}

export function parseConfigText(file: string, text: string): ConfigSource {
  return detectFormat(file, text) === 'toml' ? parseTomlSource(text) : parseYamlSource(text);
}

function parseTomlSource(text: string): ConfigSource {
  const lines = tomlKeyLines(text);
  const lineOf = (path: KeyPath): number | null => lines.get(pathKey(path)) ?? null;
  try {
    return { format: 'toml', data: parseToml(text), problems: [], lineOf };
  } catch (err) {
    if (err instanceof TomlError) {
      const message = err.message.split('\n')[0] ?? err.message;
      return { format: 'toml', data: null, problems: [{ line: err.line, message: `TOML syntax: ${message}` }], lineOf };
    }
    throw err;
  }
}

function parseYamlSource(text: string): ConfigSource {
  const { LineCounter, parseDocument } = yaml();
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, uniqueKeys: true });
  const problems = doc.errors.map((e) => ({
    line: e.linePos?.[0].line ?? null,
    message: `YAML syntax: ${e.message.split('\n')[0] ?? e.message}`,
  }));
  const lineOf = (path: KeyPath): number | null => {
    const node = yamlKeyNode(doc.contents, path);
    const offset = node?.range?.[0];
    return offset === undefined ? null : counter.linePos(offset).line;
  };
  return { format: 'yaml', data: problems.length > 0 ? null : (doc.toJS() as unknown), problems, lineOf };
}

/** The node of the last key of `path` (the key itself, so the line is where the user typed it). */
function yamlKeyNode(root: unknown, path: KeyPath): Node | null {
  const { isMap, isScalar } = yaml();
  let node: unknown = root;
  for (let i = 0; i < path.length; i++) {
    const step = path[i];
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && p.key.value === step);
      if (!pair) return null;
      if (i === path.length - 1) return pair.key as Node;
      node = pair.value;
    } else if (node && typeof node === 'object' && 'items' in node && typeof step === 'number') {
      node = (node as { items: unknown[] }).items[step];
    } else {
      return null;
    }
  }
  return (node as Node | null) ?? null;
}

function pathKey(path: KeyPath): string {
  return path.join('\u0000');
}

const TABLE_ARRAY = /^\s*\[\[\s*([^\]]+?)\s*\]\]/;
const TABLE = /^\s*\[\s*([^\]]+?)\s*\]/;
const KEY = /^\s*("([^"]*)"|'([^']*)'|[A-Za-z0-9_-]+)\s*=/;

/**
 * smol-toml returns plain data without positions, so semantic errors find their line here: a scan of
 * table headers (`[t]`, `[[t]]` with a running index) and `key =` lines. Dotted keys and inline tables
 * are not located (their errors then name the key without a line).
 */
function tomlKeyLines(text: string): Map<string, number> {
  const out = new Map<string, number>();
  const arrayCounts = new Map<string, number>();
  let table: Array<string | number> = [];
  let inMultiline: string | null = null;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (inMultiline) {
      if (countOf(line, inMultiline) % 2 === 1) inMultiline = null;
      continue;
    }
    const arr = TABLE_ARRAY.exec(line);
    const tab = arr ? null : TABLE.exec(line);
    if (arr?.[1]) {
      const name = arr[1];
      const index = arrayCounts.get(name) ?? 0;
      arrayCounts.set(name, index + 1);
      table = [...name.split('.'), index];
      out.set(pathKey(table), i + 1);
    } else if (tab?.[1]) {
      table = tab[1].split('.');
      out.set(pathKey(table), i + 1);
    } else {
      const key = KEY.exec(line);
      if (key) {
        const name = key[2] ?? key[3] ?? key[1] ?? '';
        const path = pathKey([...table, name]);
        if (!out.has(path)) out.set(path, i + 1);
      }
      for (const quote of ['"""', "'''"]) if (countOf(line, quote) % 2 === 1) inMultiline = quote;
    }
  }
  return out;
}

function countOf(line: string, needle: string): number {
  let n = 0;
  for (let at = line.indexOf(needle); at >= 0; at = line.indexOf(needle, at + needle.length)) n++;
  return n;
}
