import { Option, type Command, type OptionValues } from 'commander';
import { UsageError } from '../core/errors.js';
import { AliasOption, valueProblem } from '../exporters/parse.js';
import { show } from './values.js';

/**
 * Declared options: each exporter subcommand, the global options and `scaph run` declare their options
 * once, here in shape: flags, help, what the value is (a switch, text, or a number in a unit), what it is
 * for (its role), whether it takes one value or may be repeated, its default. Both readers are driven by
 * that declaration:
 *
 * - the command line: commander options built from it (`addDeclaredOptions`), each storing its value under
 *   the key it is declared with, so the typed values a spec's settings read (`declaredValues`) are the
 *   declaration's own, not names looked up in an option bag;
 * - a config file: the keys of an [[exporter]] are the options' long names (exporter-options.ts turns them
 *   into the same argv), and which of them name files to check, paths to resolve, secrets or the step is
 *   the role declared here, not guessed from the key's name. [sensor] keys carry their file key and how a
 *   file value is read (sensor-options.ts).
 */

/** The unit of a number, as --help and the bad-input suite speak of it. */
export type OptionUnit = 'seconds' | 'nanoseconds' | 'bytes' | 'kB' | 'watts' | 'watts per CPU' | 'port' | 'count' | 'characters' | 'steps';

/**
 * What a value is for, beyond its type:
 * - `input-file`: a file read at start (a TLS certificate, a token file): resolved against the config
 *   file's directory, and `scaph run --check` checks that it can be read;
 * - `path`: a file or directory scaph writes or reads later (json's --file, qemu's --path, the [sensor]
 *   trees): resolved against the config file's directory;
 * - `secret`: a credential; written inline in a config file, that file must be private (run-command.ts);
 * - `step`: the exporter's sampling step in seconds (a file may write `step` for it);
 * - `step-fraction`: added to the step (json's --step-nano), named where --check says the step came from;
 * - `run-duration`: how long the run lasts (stdout/json and `scaph run` -t; negative: until stopped); an
 *   exporter's is meaningless under `scaph run`, so it has no file key.
 */
export type OptionRole = 'input-file' | 'path' | 'secret' | 'step' | 'step-fraction' | 'run-duration';

/** What a value is: a switch (no value), text, or a number (which then has a unit). */
export type OptionType = 'switch' | 'text' | 'number';

/** Another command-line spelling of an option (Scaphandre's), listed in --help as the same as its target. */
export interface Spelling {
  readonly flags: string;
  /** Ends its help: why it exists. Default: the spelling of Scaphandre's documentation. */
  readonly why?: string;
}

interface Described {
  readonly flags: string;
  readonly help: string;
  readonly role?: OptionRole;
  readonly aliases?: readonly Spelling[];
  /** A [sensor] key (snake_case) standing for this global option in a run config. */
  readonly fileKey?: string;
}

export interface SwitchDecl extends Described {
  readonly kind: 'switch';
  /** --help shows "(default: false)". */
  readonly showDefault?: boolean;
  /** A [sensor] key's file value: true or false. */
  readFile(value: unknown): boolean;
}

/** A switch that counts how often it is given (-v, -vv). */
export interface CounterDecl extends Described {
  readonly kind: 'counter';
}

export interface ValueDecl<T> extends Described {
  readonly kind: 'value';
  readonly type: 'text' | 'number';
  readonly unit?: OptionUnit;
  /** Repeatable: each value adds to what the previous ones gave; a file's key takes a list (or one value). */
  readonly repeatable: boolean;
  /** The option must be given (a file must have its key). */
  readonly mandatory?: boolean;
  readonly choices?: readonly string[];
  readonly default?: T;
  /** --help's words for the default when it is not a value (`every process`, `3 steps`). */
  readonly defaultText?: string;
  /** For a repeatable `name=value` option: the entries whose value is a secret (an Authorization header). */
  readonly secretEntry?: (name: string) => boolean;
  /** An input file holding a TLS client certificate or its key: --check reads the two as a pair. */
  readonly tls?: 'cert' | 'key';
  /** How a [sensor] key's file value is read; throws an Error completing "<key>: ". Default: by type. */
  readFile?(value: unknown): T;
  /** The value from its text, or a UsageError naming the flag. */
  parse(value: string, previous: T | undefined): T;
}

/**
 * Short letters that take one of several options' values, told apart by the value (warp10's -s and -S:
 * Scaphandre 0.5 reads -s as the scheme and -S as the step, 1.0 the other way round). Command line only.
 */
export interface LettersDecl {
  readonly kind: 'letters';
  /** Each letter's flags, e.g. ['-s <scheme|seconds>', '-S <scheme|seconds>']. */
  readonly flags: readonly string[];
  readonly help: string;
  /** The keys of the options a letter may set. */
  readonly targets: readonly string[];
  /** Which target the value is for and its parsed value; throws a UsageError naming `flag` and every meaning. */
  resolve(value: string, flag: string): { readonly key: string; readonly value: unknown };
}

export type Decl = SwitchDecl | CounterDecl | ValueDecl<unknown> | LettersDecl;
export type OptionTable = Readonly<Record<string, Decl>>;

type ValueOf<D> = D extends SwitchDecl ? boolean : D extends CounterDecl ? number : D extends ValueDecl<infer T> ? T : never;

/** The typed values of a table's options, by key (letters set other options, so they have none). */
export type ValuesOf<D extends OptionTable> = { readonly [K in keyof D as D[K] extends LettersDecl ? never : K]: ValueOf<D[K]> };

type Extra = Omit<Described, 'flags' | 'help'>;
type ValueExtra<T> = Extra & Partial<Pick<ValueDecl<T>, 'unit' | 'mandatory' | 'defaultText' | 'secretEntry' | 'tls' | 'readFile'>>;

/** A switch: false unless given (a `--no-x` switch: true unless given). */
export function switchOption(flags: string, help: string, extra: Extra & { readonly showDefault?: boolean } = {}): SwitchDecl {
  return { kind: 'switch', flags, help, readFile: fileSwitch, ...extra };
}

export function counterOption(flags: string, help: string): CounterDecl {
  return { kind: 'counter', flags, help };
}

/** An option taking one value, parsed by `parse`; a number when it has a unit. Undefined when not given and without default. */
export function valueOption<T>(flags: string, help: string, parse: (value: string) => T, extra: ValueExtra<T> & ({ readonly default: T } | { readonly mandatory: true })): ValueDecl<T>;
export function valueOption<T>(flags: string, help: string, parse: (value: string) => T, extra?: ValueExtra<T> & { readonly default?: T }): ValueDecl<T | undefined>;
export function valueOption<T>(flags: string, help: string, parse: (value: string) => T, extra: ValueExtra<T> & { readonly default?: T } = {}): ValueDecl<T | undefined> {
  return { kind: 'value', type: extra.unit === undefined ? 'text' : 'number', repeatable: false, flags, help, parse, ...extra };
}

/** An option taking one value kept as written (the guard every value has still applies: guardOptionValues). */
export function textOption(flags: string, help: string, extra: ValueExtra<string> & ({ readonly default: string } | { readonly mandatory: true })): ValueDecl<string>;
export function textOption(flags: string, help: string, extra?: ValueExtra<string> & { readonly default?: string }): ValueDecl<string | undefined>;
export function textOption(flags: string, help: string, extra: ValueExtra<string> & { readonly default?: string } = {}): ValueDecl<string | undefined> {
  return { kind: 'value', type: 'text', repeatable: false, flags, help, parse: asWritten, readFile: fileText, ...extra };
}

/** One of `choices` (commander refuses the rest, listing them). */
export function choiceOption<C extends string>(flags: string, help: string, choices: readonly C[], extra: ValueExtra<C> & { readonly default: C }): ValueDecl<C>;
export function choiceOption<C extends string>(flags: string, help: string, choices: readonly C[], extra?: ValueExtra<C> & { readonly default?: C }): ValueDecl<C | undefined>;
export function choiceOption<C extends string>(flags: string, help: string, choices: readonly C[], extra: ValueExtra<C> & { readonly default?: C } = {}): ValueDecl<C | undefined> {
  const readFile = fileChoice(choices);
  return { kind: 'value', type: 'text', repeatable: false, flags, help, choices, parse: readFile, readFile, ...extra };
}

/** A repeatable option: `parse` adds each value to what the previous ones gave. */
export function repeatableOption<T>(
  flags: string,
  help: string,
  parse: (value: string, previous: T | undefined) => T,
  extra: ValueExtra<T> & { readonly default: T },
): ValueDecl<T>;
export function repeatableOption<T>(
  flags: string,
  help: string,
  parse: (value: string, previous: T | undefined) => T,
  extra?: ValueExtra<T> & { readonly default?: T },
): ValueDecl<T | undefined>;
export function repeatableOption<T>(
  flags: string,
  help: string,
  parse: (value: string, previous: T | undefined) => T,
  extra: ValueExtra<T> & { readonly default?: T } = {},
): ValueDecl<T | undefined> {
  return { kind: 'value', type: extra.unit === undefined ? 'text' : 'number', repeatable: true, flags, help, parse, ...extra };
}

/** Letters that each set one of `targets`, as the value says (LettersDecl). */
export function lettersOption(flags: readonly string[], help: string, targets: readonly string[], resolve: LettersDecl['resolve']): LettersDecl {
  return { kind: 'letters', flags, help, targets, resolve };
}

function asWritten(value: string): string {
  return value;
}

/**
 * A key of a run config that no command-line option stands for ([sensor] step, an [[exporter]]'s `type` and
 * spool keys): what it takes and how its file value is read.
 */
export interface FileKeyDecl<T> {
  readonly kind: 'file-key';
  readonly type: OptionType;
  readonly unit?: OptionUnit;
  readonly role?: OptionRole;
  /** The value as scaph uses it; throws an Error completing "<key>: ". */
  readFile(value: unknown): T;
}

export function fileKey<T>(type: OptionType, readFile: (value: unknown) => T, extra: Pick<FileKeyDecl<T>, 'unit' | 'role'> = {}): FileKeyDecl<T> {
  return { kind: 'file-key', type, readFile, ...extra };
}

// How a file value is read when the command line's text would not say it: TOML and YAML have booleans, and
// a path or a choice must be a string. Each throws an Error completing "<key>: ".

function fileSwitch(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  throw new Error(`must be true or false, got ${show(value)}`);
}

/** A non-empty string, with the guard every value has (valueProblem). */
export function fileText(value: unknown): string {
  if (typeof value !== 'string') throw new Error(`must be a non-empty string, got ${show(value)}`);
  const problem = valueProblem(value);
  if (problem !== null) throw new Error(problem);
  return value;
}

function fileChoice<C extends string>(choices: readonly C[]): (value: unknown) => C {
  return (value) => {
    const found = choices.find((c) => c === value);
    if (found === undefined) throw new Error(`must be one of ${choices.join(', ')}, got ${show(value)}`);
    return found;
  };
}

/** The commander option of a declared one: it stores its value under the declared key. */
export class DeclaredOption extends Option {
  constructor(
    readonly key: string,
    readonly decl: SwitchDecl | CounterDecl | ValueDecl<unknown>,
  ) {
    super(decl.flags, decl.help);
    if (decl.kind === 'counter') this.argParser((_value: unknown, previous: number) => previous + 1).default(0);
    if (decl.kind === 'switch' && decl.showDefault === true) this.default(false);
    if (decl.kind === 'value') {
      // choices() installs commander's own check, which lists the choices.
      if (decl.choices) this.choices([...decl.choices]);
      else this.argParser((value: string, previous: unknown) => decl.parse(value, previous));
      if (decl.default !== undefined || decl.defaultText !== undefined) this.default(decl.default, decl.defaultText);
      if (decl.mandatory === true) this.makeOptionMandatory();
    }
  }

  override attributeName(): string {
    return this.key;
  }
}

/** Letters of a LettersDecl: each sets the option its value is for (resolve). */
export class LettersOption extends Option {
  constructor(
    readonly letter: string,
    flags: string,
    readonly decl: LettersDecl,
    help: string,
  ) {
    super(flags, help);
  }

  /** Its own value is kept apart, under a name no option has: it sets its targets'. */
  override attributeName(): string {
    return `letter ${this.letter}`;
  }
}

/** The declaration behind a commander option, or null (an alias, letters, or an option added by hand). */
export function declOf(o: Option): SwitchDecl | CounterDecl | ValueDecl<unknown> | null {
  return o instanceof DeclaredOption ? o.decl : null;
}

/** The type of a declared option's value. */
export function typeOf(decl: SwitchDecl | CounterDecl | ValueDecl<unknown>): OptionType {
  return decl.kind === 'value' ? decl.type : 'switch';
}

/**
 * Adds the table's options to `cmd`, in its order, each alias right after its option. Letters set options
 * declared before them; a value given for one meaning under two spellings (`-s 30 -S 10`, `-S http
 * --scheme https`) is refused naming both: neither may silently win.
 */
export function addDeclaredOptions(cmd: Command, table: OptionTable): Command {
  for (const [key, decl] of Object.entries(table)) {
    if (decl.kind === 'letters') {
      addLetters(cmd, decl);
      continue;
    }
    const option = new DeclaredOption(key, decl);
    cmd.addOption(option);
    for (const alias of decl.aliases ?? []) addAliasOf(cmd, option, alias);
  }
  return cmd;
}

function addAliasOf(cmd: Command, target: Option, spelling: Spelling): void {
  const alias = new AliasOption(spelling.flags, target, spelling.why);
  cmd.addOption(alias);
  cmd.on(`option:${alias.name()}`, (value: string) => {
    const key = target.attributeName();
    const parsed: unknown = target.parseArg ? target.parseArg(value, cmd.getOptionValue(key)) : value;
    cmd.setOptionValueWithSource(key, parsed, 'cli');
  });
}

function addLetters(cmd: Command, decl: LettersDecl): void {
  // Which spelling gave each target its value in this parse.
  const givenBy = new Map<string, { readonly flag: string; readonly value: string }>();
  const record = (key: string, flag: string, value: string): void => {
    const earlier = givenBy.get(key);
    if (earlier && earlier.flag !== flag) {
      throw new UsageError(
        `${earlier.flag} ${earlier.value} and ${flag} ${value} both give the ${key}: keep one ` +
          `(${decl.flags.map((f) => f.split(' ')[0]).join(' and ')} each take the ${decl.targets.join(' or the ')}, told apart by the value)`,
      );
    }
    givenBy.set(key, { flag, value });
  };
  for (const key of decl.targets) {
    const target = cmd.options.find((o) => o instanceof DeclaredOption && o.key === key);
    if (!target) throw new Error(`no option ${key} declared before the letters ${decl.flags.join(', ')}`);
    cmd.on(`option:${target.name()}`, (value: string) => record(key, target.long ?? target.flags, value));
  }
  const first = decl.flags[0]?.split(' ')[0] ?? '';
  for (const flags of decl.flags) {
    const letter = flags.split(' ')[0] ?? flags;
    const option = new LettersOption(letter, flags, decl, letter === first ? decl.help : `the same as ${first}: either letter takes either`);
    cmd.addOption(option);
    cmd.on(`option:${option.name()}`, (value: string) => {
      const { key, value: parsed } = decl.resolve(value, option.letter);
      record(key, option.letter, value);
      cmd.setOptionValueWithSource(key, parsed, 'cli');
    });
  }
}

/**
 * The typed values of a table from what commander parsed. Each value is what the key's declared parser
 * returned or its declared default (DeclaredOption stores it under the key), so it has the type ValuesOf
 * gives it; a switch is true or false whether given or not.
 */
export function declaredValues<D extends OptionTable>(table: D, values: OptionValues): ValuesOf<D> {
  const out: Record<string, unknown> = {};
  for (const [key, decl] of Object.entries(table)) {
    if (decl.kind === 'letters') continue;
    const value: unknown = values[key];
    out[key] = decl.kind === 'switch' ? (isNegated(decl) ? value !== false : value === true) : value;
  }
  return out as ValuesOf<D>;
}

/** A `--no-x` switch: on unless given. */
export function isNegated(decl: SwitchDecl): boolean {
  return /(^|[\s,])--no-/.test(decl.flags);
}

/** The key of the option declared with `role`, with its declaration, or null. */
export function withRole(table: OptionTable, role: OptionRole): { readonly key: string; readonly decl: ValueDecl<unknown> } | null {
  for (const [key, decl] of Object.entries(table)) if (decl.kind === 'value' && decl.role === role) return { key, decl };
  return null;
}

/** `--dispatch-interval` for `-d, --dispatch-interval <seconds>`. */
export function longFlag(flags: string): string | null {
  return /--[\w-]+/.exec(flags)?.[0] ?? null;
}
