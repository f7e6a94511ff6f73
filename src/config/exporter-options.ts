import { accessSync, constants, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Command, Option, OptionValues } from 'commander';
import { commandFor, settingsFrom, type ExporterCommandSpec, type ExporterSettings } from '../exporters/command.js';
import { AliasOption, guardOptionValues, valueProblem } from '../exporters/parse.js';
import { DeclaredOption, declOf, LettersOption, type OptionRole } from './declared-options.js';
import { didYouMean } from './did-you-mean.js';
import { quoted } from '../core/quoted.js';
import { NotRegularFileError, readRegularFileSync } from '../core/bounded-fs.js';
import { checkKeyPair } from '../net/tls.js';
import { stepKeys } from './exporter-step.js';
import type { KeyIssue } from './key-issue.js';
import { inOptionUnit, isTable, show } from './values.js';
import { errorCode, errorCodeOrText, errorText } from '../core/errors.js';

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
 * timeout and stays: its role is not run-duration.)
 */
function isRunDuration(o: Option): boolean {
  return roleOf(o) === 'run-duration';
}
const RUN_DURATION_REFUSAL = 'scaph run runs until stopped: remove "timeout" (or use `scaph run --timeout`)';

/** A commander Command with the subcommand's own options, parsing quietly (errors come back as values). */
export function specCommand(spec: ExporterCommandSpec): Command {
  // The same guard as on the command line (cli.ts): a key's value goes through the same parsers.
  const cmd = guardOptionValues(commandFor(spec));
  cmd.exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined, outputError: () => undefined });
  return cmd;
}

/** The role the option is declared with, if any. */
function roleOf(o: Option): OptionRole | undefined {
  return declOf(o)?.role;
}

/** Option long name without dashes ('write-token-file'), or null for short-only options. */
function longName(o: Option): string | null {
  return o.long ? o.long.replace(/^--/, '') : null;
}

/** The key a file writes for a declared option: its long name in snake_case (`no-` dropped), or null (none). */
function keyOf(o: Option): string | null {
  const name = longName(o);
  if (!(o instanceof DeclaredOption) || name === null || isRunDuration(o)) return null;
  return (o.negate ? name.replace(/^no-/, '') : name).replace(/-/g, '_');
}

/** The keys a file may use for this subcommand, snake_case, for "valid keys are …" messages (`step` as well as the step option's own name). */
export function validKeys(spec: ExporterCommandSpec, cmd: Command): string[] {
  const keys = new Set<string>(stepKeys(spec));
  for (const o of cmd.options) {
    const key = keyOf(o);
    if (key !== null) keys.add(key);
  }
  return [...keys].sort();
}

/** Whether a key's option takes a list in a file: it is declared repeatable. */
export function isRepeatable(o: Option): boolean {
  const decl = declOf(o);
  return decl?.kind === 'value' && decl.repeatable;
}

/**
 * A key spelled as on the command line (`d` for -d, `dispatch` for --dispatch, warp10's `S`): the options it
 * stands for. A file has one key per option, its long name, so such a key is refused with the name to write.
 */
function commandLineSpelling(cmd: Command, key: string): Option[] {
  const dashed = `--${key.replace(/_/g, '-')}`;
  for (const o of cmd.options) {
    // `no_splay` for --no-splay (its key is splay), `timeout` for stdout's run duration (no key).
    if (o instanceof DeclaredOption && o.long === dashed && keyOf(o) !== key) return [o];
    if (o instanceof LettersOption && o.letter === `-${key}`) return o.decl.targets.map((t) => optionOfKey(cmd, t)).filter((t): t is Option => t !== null);
    if (o.short === `-${key}`) return [o instanceof AliasOption ? o.target : o];
    if (o instanceof AliasOption && (o.long === `--${key}` || o.long === `--${key.replace(/_/g, '-')}`)) return [o.target];
  }
  return [];
}

function optionOfKey(cmd: Command, key: string): Option | null {
  return cmd.options.find((o) => o instanceof DeclaredOption && o.key === key) ?? null;
}

/** What a file writes for option `o`: its snake_case long name (and `step` for the step option). */
function fileKeyFor(o: Option): string {
  const name = (longName(o) ?? o.name()).replace(/^no-/, '').replace(/-/g, '_');
  if (o.negate) return `${name} = false`;
  if (roleOf(o) !== 'step' || name === 'step') return name;
  return `${name} (or step)`;
}

function unknownKeyMessage(spec: ExporterCommandSpec, cmd: Command, key: string): string {
  const options = commandLineSpelling(cmd, key);
  if (options.some(isRunDuration)) return RUN_DURATION_REFUSAL;
  if (options.length > 0) {
    const flags = options.map((o) => o.long ?? o.flags).join(' or ');
    return `"${key}" is a command-line spelling of ${flags}: in a file write ${options.map(fileKeyFor).join(' or ')}`;
  }
  const keys = validKeys(spec, cmd);
  return `unknown key for a ${spec.name} exporter${didYouMean(key, keys)}; valid keys: ${keys.join(', ')}`;
}

/** Options that name files which must exist at start: declared `input-file` (TLS files, `*-file` options). */
export function isInputFileOption(o: Option): boolean {
  return roleOf(o) === 'input-file';
}

/** Options whose value is a path: input files, and what scaph writes or reads later (`path`). */
function isPathOption(o: Option): boolean {
  const role = roleOf(o);
  return role === 'input-file' || role === 'path';
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
  const cmd = specCommand(spec);
  const pathKeys = new Set<string>();
  for (const o of cmd.options) {
    const key = keyOf(o);
    if (key !== null && isPathOption(o)) pathKeys.add(key);
  }
  const out: Record<string, unknown> = {};
  const paths: ResolvedPath[] = [];
  for (const [key, value] of Object.entries(table)) {
    const name = key.replace(/-/g, '_');
    if (typeof value === 'string' && value !== '' && (pathKeys.has(name) || valueFileTarget(cmd, name) !== null)) {
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
 * The option an `X_file` key reads its value for: `X`'s, when X takes a value and no option has the key
 * `X_file` itself (warp10's write_token_file is an option of its own). Null for any other key.
 */
function valueFileTarget(cmd: Command, key: string): Option | null {
  if (!key.endsWith('_file')) return null;
  const own = cmd.options.find((o) => keyOf(o) === key);
  if (own) return null;
  const target = cmd.options.find((o) => keyOf(o) === key.slice(0, -5));
  return target && (target.required || target.optional) ? target : null;
}

/**
 * The keys of an [[exporter]] table holding a secret as written (a literal, not `${ENV}` nor read from a
 * `X_file`): its options declared `secret`, and the entries of a key=value option its declaration calls
 * secret (remote-write's Authorization header). `raw` is the table before ${ENV} expansion.
 */
export function inlineSecretKeys(spec: ExporterCommandSpec, raw: Readonly<Record<string, unknown>>): string[] {
  const cmd = specCommand(spec);
  const literal = (v: unknown): boolean => typeof v === 'string' && v !== '' && !v.includes('${');
  const out: string[] = [];
  for (const [key, value] of Object.entries(raw)) {
    const option = cmd.options.find((o) => keyOf(o) === key.replace(/-/g, '_'));
    const decl = option ? declOf(option) : null;
    if (decl?.kind !== 'value') continue;
    if (decl.role === 'secret' && literal(value)) out.push(key);
    if (decl.secretEntry && isTable(value)) {
      for (const [name, v] of Object.entries(value)) if (decl.secretEntry(name) && literal(v)) out.push(`${key}.${name}`);
    }
  }
  return out;
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
  // One key per option, its long name: an alias (`dispatch`) is refused with the key to write (unknownKeyMessage).
  const byKey = new Map<string, Option>();
  for (const o of cmd.options) {
    const key = keyOf(o);
    if (key !== null) byKey.set(key, o);
  }
  const argv: string[] = [];
  const issues: KeyIssue[] = [];
  const given = new Set<string>();
  for (const [key, raw] of Object.entries(table)) {
    const name = key.replace(/-/g, '_');
    let option = byKey.get(name);
    let value = raw;
    const target = option ? null : valueFileTarget(cmd, name);
    if (target) {
      option = target;
      // The option is given (by file), even when the file cannot be read: not also "missing required key".
      given.add(target.attributeName());
      const file = valueFilePath(raw);
      if ('problem' in file) {
        issues.push({ key, message: file.problem });
        continue;
      }
      try {
        value = readFile(file.path);
      } catch (err) {
        issues.push({ key, message: errorText(err) });
        continue;
      }
    }
    if (!option) {
      issues.push({ key, message: unknownKeyMessage(spec, cmd, key) });
      continue;
    }
    given.add(option.attributeName());
    const tokens = optionTokens(option, value);
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
    return { argv, opts: {}, settings: null, issues: [{ key: null, message: errorText(err).replace(/^error: /, '') }] };
  }
  const opts = cmd.opts();
  try {
    return { argv, opts, settings: settingsFrom(spec, opts), issues };
  } catch (err) {
    return { argv, opts, settings: null, issues: [{ key: null, message: errorText(err) }] };
  }
}

/** The argv tokens for one key, or the reason the value does not fit the option. */
function optionTokens(o: Option, value: unknown): string[] | string {
  const flag = o.long ?? o.flags;
  if (!o.required && !o.optional) {
    if (typeof value !== 'boolean') return `must be true or false, got ${show(value)}`;
    // The key of `--no-x` is `x`: `x = false` gives the flag.
    if (o.negate) return value ? [] : [flag];
    return value ? [flag] : [];
  }
  if (!isRepeatable(o) && (Array.isArray(value) || isTable(value))) return oneValueRefusal(o, value);
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
    let text: string;
    try {
      text = optionText(o, item);
    } catch (err) {
      return errorText(err);
    }
    if (o.argChoices && !o.argChoices.includes(text)) return `must be one of ${o.argChoices.join(', ')}, got ${show(text)}`;
    try {
      previous = o.parseArg ? o.parseArg(text, previous) : text;
    } catch (err) {
      return errorText(err);
    }
    tokens.push(flag, text);
  }
  return tokens;
}

/**
 * A scalar as the option's text: a string with a unit ("30s" for an option in seconds, "512KiB" for one in
 * bytes: inOptionUnit) as the number in the option's unit; anything else as written, for its parser.
 */
function optionText(o: Option, item: string | number): string {
  if (typeof item === 'number') return String(item);
  const decl = declOf(o);
  const n = decl?.kind === 'value' ? inOptionUnit(decl.unit, item) : null;
  return n === null ? item : String(n);
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
 * The path an `X_file` value names, or why it cannot name the file to read: it must be a path, with the
 * guard every value has (valueProblem). A path with a newline broke the "cannot read" line in two, one with
 * an escape sequence wrote it to the terminal, and 5,000 characters made a line as long.
 */
function valueFilePath(raw: unknown): { readonly path: string } | { readonly problem: string } {
  if (typeof raw !== 'string') return { problem: `must be the path of a file holding the value, got ${show(raw)}` };
  const problem = valueProblem(raw);
  return problem === null ? { path: raw } : { problem };
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

/** Why scaph could not read the input file `path` (missing, a directory, denied), or null. */
export function inputFileProblem(path: string): string | null {
  try {
    accessSync(path, constants.R_OK);
    return statSync(path).isDirectory() ? `file "${path}" is a directory: give the file itself` : null;
  } catch (err) {
    const code = errorCode(err) ?? 'unreadable';
    return `file "${path}" ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`}`;
  }
}

/**
 * Every input file an exporter's options name (declared `input-file`) that is missing or unreadable, and a
 * client key that is encrypted or does not match its certificate (the options declared `tls`).
 */
export function missingInputFiles(spec: ExporterCommandSpec, opts: OptionValues): KeyIssue[] {
  const issues: KeyIssue[] = [];
  const tls: { cert?: string; key?: string } = {};
  let keyOfKey = 'key';
  for (const o of specCommand(spec).options) {
    if (!isInputFileOption(o)) continue;
    const path: unknown = opts[o.attributeName()];
    if (typeof path !== 'string') continue;
    const key = keyOf(o) ?? o.name();
    const decl = declOf(o);
    if (decl?.kind === 'value' && decl.tls !== undefined) {
      tls[decl.tls] = path;
      if (decl.tls === 'key') keyOfKey = key;
    }
    const problem = inputFileProblem(path);
    if (problem !== null) issues.push({ key, message: problem });
  }
  if (issues.length === 0 && tls.cert !== undefined && tls.key !== undefined) {
    try {
      checkKeyPair(readRegularFileSync(tls.cert).toString('utf8'), readRegularFileSync(tls.key).toString('utf8'), tls.cert, tls.key);
    } catch (err) {
      issues.push({ key: keyOfKey, message: errorText(err) });
    }
  }
  return issues;
}
