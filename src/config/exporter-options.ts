import { accessSync, constants, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { Command, type Option, type OptionValues } from 'commander';
import type { ExporterCommandSpec, ExporterSettings } from '../exporters/command.js';
import { AliasOption, guardOptionValues, RepeatableOption, valueProblem } from '../exporters/parse.js';
import { quoted } from '../core/quoted.js';
import { NotRegularFileError, readRegularFileSync } from '../core/bounded-fs.js';
import { checkKeyPair } from '../net/tls.js';
import { stepKeys } from './exporter-step.js';
import type { KeyIssue } from './key-issue.js';
import { isTable, show } from './values.js';
import { errorCodeOrText, errorText } from '../core/errors.js';

export interface ExporterArgs {
  /** The argv the file's keys stand for, e.g. ['--url', 'https://…', '--gzip']. Secrets included: never log it. */
  readonly argv: readonly string[];
  /** What commander parsed from argv: the same values `scaph <type> <argv>` would give spec.settings. */
  readonly opts: OptionValues;
  /** spec.settings(opts); null when there are issues. */
  readonly settings: ExporterSettings | null;
  readonly issues: readonly KeyIssue[];
}

/**
 * The spec's run-duration option (Scaphandre's stdout/json `-t, --timeout`: how long the run lasts) is
 * meaningless inside `scaph run`, which runs until stopped. (remote-write's `--timeout` is a request
 * timeout and stays.)
 */
function isRunDuration(spec: ExporterCommandSpec, o: Option): boolean {
  return spec.runDurationOption !== undefined && o.long === spec.runDurationOption;
}
const RUN_DURATION_REFUSAL = 'scaph run runs until stopped: remove "timeout" (or use `scaph run --timeout`)';

/** A commander Command with the subcommand's own options, parsing quietly (errors come back as values). */
export function specCommand(spec: ExporterCommandSpec): Command {
  // The same guard as on the command line (cli.ts): a key's value goes through the same parsers.
  const cmd = guardOptionValues(spec.configure(new Command(spec.name)));
  cmd.exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined, outputError: () => undefined });
  return cmd;
}

/** Option long name without dashes ('write-token-file'), or null for short-only options. */
function longName(o: Option): string | null {
  return o.long ? o.long.replace(/^--/, '') : null;
}

/** The keys a file may use for this subcommand, snake_case, for "valid keys are …" messages (`step` as well as the step option's own name). */
export function validKeys(spec: ExporterCommandSpec, cmd: Command): string[] {
  const keys = new Set<string>(stepKeys(spec));
  for (const o of cmd.options) {
    const name = longName(o);
    if (!name || o instanceof AliasOption || isRunDuration(spec, o)) continue;
    keys.add((o.negate ? name.replace(/^no-/, '') : name).replace(/-/g, '_'));
  }
  return [...keys].sort();
}

/**
 * A key spelled as on the command line (`d` for -d, `dispatch` for --dispatch): the option it stands for.
 * A file has one key per option, its long name, so such a key is refused with the name to write.
 */
function commandLineSpelling(cmd: Command, key: string): Option | null {
  for (const o of cmd.options) {
    if (o.short === `-${key}`) return o instanceof AliasOption ? o.target : o;
    if (o instanceof AliasOption && (o.long === `--${key}` || o.long === `--${key.replace(/_/g, '-')}`)) return o.target;
  }
  return null;
}

/** What a file writes for option `o`: its snake_case long name (and `step` for the step option). */
function fileKeyFor(spec: ExporterCommandSpec, o: Option): string {
  const name = (longName(o) ?? o.name()).replace(/^no-/, '').replace(/-/g, '_');
  if (o.long !== spec.stepOption || name === 'step') return name;
  return `${name} (or step)`;
}

function unknownKeyMessage(spec: ExporterCommandSpec, cmd: Command, key: string): string {
  const option = commandLineSpelling(cmd, key);
  if (option && isRunDuration(spec, option)) return RUN_DURATION_REFUSAL;
  if (option) return `"${key}" is a command-line spelling of ${option.long ?? option.flags}: in a file write ${fileKeyFor(spec, option)}`;
  return `unknown key for a ${spec.name} exporter; valid keys: ${validKeys(spec, cmd).join(', ')}`;
}

/** Options that name files which must exist at start (`*-file`, TLS ca/cert/key); not output files. */
export function isInputFileOption(o: Option): boolean {
  const name = longName(o);
  return name !== null && name !== 'file' && (/-file$/.test(name) || /^(tls-)?(ca|cert|key)$/.test(name));
}

/** Options whose value is a path: input files, `*-file`, and an output `file` or directory `path`. */
function isPathOption(o: Option): boolean {
  const name = longName(o);
  return isInputFileOption(o) || name === 'file' || name === 'path';
}

/** One path-valued key of a file, as written and as scaph uses it. */
export interface ResolvedPath {
  readonly key: string;
  readonly path: string;
}

/**
 * Relative paths of an [[exporter]] table (its path options and `X_file` keys) resolved against `baseDir`,
 * the config file's directory: a unit started from another working directory reads the same files.
 */
export function resolvePathKeys(
  spec: ExporterCommandSpec,
  table: Readonly<Record<string, unknown>>,
  baseDir: string,
): { readonly table: Record<string, unknown>; readonly paths: ResolvedPath[] } {
  const pathNames = new Set<string>();
  for (const o of specCommand(spec).options) {
    const name = longName(o);
    if (name && isPathOption(o)) pathNames.add(name);
  }
  const out: Record<string, unknown> = {};
  const paths: ResolvedPath[] = [];
  for (const [key, value] of Object.entries(table)) {
    const name = key.replace(/_/g, '-');
    if (typeof value === 'string' && value !== '' && (pathNames.has(name) || name.endsWith('-file'))) {
      const path = isAbsolute(value) ? value : resolve(baseDir, value);
      out[key] = path;
      paths.push({ key, path });
    } else {
      out[key] = value;
    }
  }
  return { table: out, paths };
}

/**
 * Turns the keys of one [[exporter]] table into the subcommand's argv and lets commander parse it, so a
 * file accepts exactly what the subcommand accepts (same names, parsers, choices and defaults). Keys are
 * snake_case or kebab-case long option names; booleans are true/false (`header = false` for `--no-header`);
 * the key of a repeatable option takes a list (repeating the flag) or one value, and a table becomes
 * repeated `key=value` arguments; the key of any other option takes one value and refuses a list or a
 * table (the command line would keep only the last of repeated values: a file must not drop some
 * silently). `X_file` reads the value of `--X` from a file when the subcommand has no `--X-file` of its own.
 */
export function exporterArgs(spec: ExporterCommandSpec, table: Readonly<Record<string, unknown>>, readFile = readSecret): ExporterArgs {
  const cmd = specCommand(spec);
  const byName = new Map<string, Option>();
  for (const o of cmd.options) {
    const name = longName(o);
    // One key per option: an alias (`dispatch`) is refused with the key to write (unknownKeyMessage).
    if (!name || o instanceof AliasOption) continue;
    byName.set(name, o);
    if (o.negate) byName.set(name.replace(/^no-/, ''), o);
  }
  const argv: string[] = [];
  const issues: KeyIssue[] = [];
  const given = new Set<string>();
  for (const [key, raw] of Object.entries(table)) {
    const name = key.replace(/_/g, '-');
    let option = byName.get(name);
    if (option && isRunDuration(spec, option)) {
      issues.push({ key, message: RUN_DURATION_REFUSAL });
      continue;
    }
    let value = raw;
    const target = !option && name.endsWith('-file') ? byName.get(name.slice(0, -5)) : undefined;
    if (target?.required) {
      option = target;
      // The option is given (by file), even when the file cannot be read: not also "missing required key".
      given.add(target.attributeName());
      const problem = valueFileProblem(raw);
      if (problem !== null) {
        issues.push({ key, message: problem });
        continue;
      }
      try {
        value = readFile(raw as string);
      } catch (err) {
        issues.push({ key, message: (err as Error).message });
        continue;
      }
    }
    if (!option) {
      issues.push({ key, message: unknownKeyMessage(spec, cmd, key) });
      continue;
    }
    given.add(option.attributeName());
    const tokens = optionTokens(option, name, value);
    if (typeof tokens === 'string') issues.push({ key, message: tokens });
    else argv.push(...tokens);
  }
  for (const o of cmd.options) {
    if (o.mandatory && !given.has(o.attributeName()) && o.defaultValue === undefined) {
      issues.push({ key: null, message: `missing required key ${(longName(o) ?? o.name()).replace(/-/g, '_')}` });
    }
  }
  if (issues.length > 0) return { argv, opts: {}, settings: null, issues };
  try {
    cmd.parse(argv, { from: 'user' });
  } catch (err) {
    return { argv, opts: {}, settings: null, issues: [{ key: null, message: (err as Error).message.replace(/^error: /, '') }] };
  }
  const opts = cmd.opts();
  try {
    return { argv, opts, settings: spec.settings(opts), issues };
  } catch (err) {
    return { argv, opts, settings: null, issues: [{ key: null, message: (err as Error).message }] };
  }
}

/** The argv tokens for one key, or the reason the value does not fit the option. */
function optionTokens(o: Option, name: string, value: unknown): string[] | string {
  const flag = o.long ?? o.flags;
  if (!o.required && !o.optional) {
    if (typeof value !== 'boolean') return `must be true or false, got ${show(value)}`;
    if (o.negate) return name.startsWith('no-') === value ? [flag] : [];
    return value ? [flag] : [];
  }
  if (!(o instanceof RepeatableOption) && (Array.isArray(value) || isTable(value))) return oneValueRefusal(o, value);
  const items = Array.isArray(value)
    ? (value as unknown[])
    : isTable(value)
      ? Object.entries(value).map(([k, v]) => (isScalarValue(v) ? `${k}=${String(v)}` : v))
      : [value];
  const tokens: string[] = [];
  let previous: unknown = o.defaultValue;
  for (const item of items) {
    if (!isScalarValue(item)) return `must be a string, a number, or a list of them, got ${show(item)}`;
    // true/false are for switches; a value option given one is a mistake (`address = true` was the host "true").
    if (typeof item === 'boolean') return `takes a value (${o.flags}), not ${String(item)}`;
    const text = String(item);
    if (o.argChoices && !o.argChoices.includes(text)) return `must be one of ${o.argChoices.join(', ')}, got ${show(text)}`;
    try {
      previous = o.parseArg ? o.parseArg(text, previous) : text;
    } catch (err) {
      return (err as Error).message;
    }
    tokens.push(flag, text);
  }
  return tokens;
}

/** Why a list or a table does not fit an option that takes one value. */
function oneValueRefusal(o: Option, value: unknown): string {
  const what = Array.isArray(value) ? `a list of ${value.length}` : 'a table';
  return `takes one value (${o.long ?? o.flags} cannot be repeated), got ${what}: write one value`;
}

function isScalarValue(v: unknown): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

/**
 * Why an `X_file` value cannot name the file to read, or null: it must be a path, with the guard every value
 * has (valueProblem). A path with a newline broke the "cannot read" line in two, one with an escape sequence
 * wrote it to the terminal, and 5,000 characters made a line as long.
 */
function valueFileProblem(raw: unknown): string | null {
  if (typeof raw !== 'string') return `must be the path of a file holding the value, got ${show(raw)}`;
  return valueProblem(raw);
}

/** Reads a secret or value file for `X_file` keys: trailing newline trimmed; the message never shows content. */
export function readSecret(path: string): string {
  try {
    return readRegularFileSync(path).toString('utf8').replace(/\r?\n$/, '');
  } catch (err) {
    if (err instanceof NotRegularFileError) throw new Error(`cannot read ${quoted(path)}: it is ${err.kind}, not a regular file holding the value`);
    throw new Error(`cannot read ${quoted(path)} (${errorCodeOrText(err)}): check the path and that scaph's user may read it`);
  }
}

/**
 * Every input file an exporter's options name (ca, cert, key, *-file) that is missing or unreadable, and a
 * client key that is encrypted or does not match its certificate.
 */
export function missingInputFiles(spec: ExporterCommandSpec, opts: OptionValues): KeyIssue[] {
  const issues: KeyIssue[] = [];
  for (const o of specCommand(spec).options) {
    if (!isInputFileOption(o)) continue;
    const path = opts[o.attributeName()] as unknown;
    if (typeof path !== 'string') continue;
    const key = (longName(o) ?? o.name()).replace(/-/g, '_');
    try {
      accessSync(path, constants.R_OK);
      if (statSync(path).isDirectory()) issues.push({ key, message: `file "${path}" is a directory: give the file itself` });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
      issues.push({ key, message: `file "${path}" ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`}` });
    }
  }
  const cert = opts['cert'];
  const key = opts['key'];
  if (issues.length === 0 && typeof cert === 'string' && typeof key === 'string') {
    try {
      checkKeyPair(readRegularFileSync(cert).toString('utf8'), readRegularFileSync(key).toString('utf8'), cert, key);
    } catch (err) {
      issues.push({ key: 'key', message: errorText(err) });
    }
  }
  return issues;
}
