/**
 * Every flag and every config key, fed the values an operator's slip or a hostile file gives: the table is
 * made from the program's own declarations (config/declared-options.ts: commander's options of the program
 * and of each subcommand are built from them, the options each [[exporter]] type takes as keys, with their
 * `X_file` forms, and the [sensor] and run keys), so a flag or key added later is in it without anyone
 * writing a case; whether it takes a number, a value or is a switch is what its declaration says.
 *
 * Every option or key that takes a value gets the empty value, a newline, an escape sequence and 5,000
 * characters; every numeric one also a negative number, letters, hex, a number beyond a double (1e309),
 * one beyond 2^53, infinity and NaN (in a file). Keys also get the wrong type (a switch given a value, a
 * value given true or a nested list). Each must end with exit 2 and one line naming the flag (a file: one
 * line per problem naming the key and its line, then the count), no stack trace, nothing on stdout, no file
 * created and nothing started.
 *
 * The table runs the CLI's entry in this process (harness/in-process-cli.ts), with the agent's start
 * replaced by a counter: 154 flags (72 numeric) make 976 cases, 304 keys make 2,364 files, each run through
 * --check and through the start: 13 s in all on the 2-core box under a load of 10. A sample of them runs
 * through the built binary too (12 flag and 12 file runs) and must give the same exit code, stderr and
 * stdout, byte for byte.
 *
 * Issue 27's failures and where each is shown (every case asserts exit code, message, no hang, and that
 * nothing was lost):
 *
 * | issue 27 failure | case |
 * | --- | --- |
 * | `--process-regex '(a+)+$'` freezes sampling, /metrics, /healthz, SIGTERM (flag and config) | patterns.test.ts, "hostile names against pathological patterns" |
 * | a cgroup `cpu.stat` that is a FIFO hangs /metrics and /healthz | cgroupfs.test.ts, "a cpu.stat that is a FIFO" |
 * | a Kubernetes API that never answers holds the first report 11.4 s | metadata-apis.test.ts, "an API that accepts the connection and never answers" (Docker: "a socket that accepts and never answers") |
 * | every powercap zone gone: /metrics serves the last host power as current | numbers.test.ts, "every zone removed" and "every exporter while the zones are gone" |
 * | `usage_usec` going back: every scrape HTTP 500, the group's power swings | cgroupfs.test.ts, "a usage_usec that goes back" |
 * | `--health-max-age 1` with a 2 s step: 503s and "sampling has stalled" lies | numbers.test.ts, "--health-max-age against the step" |
 * | `/proc/PID/cgroup` naming `../../outside` opens files outside `--cgroupfs-path` | cgroupfs.test.ts, "/proc/PID/cgroup climbing out of the mount" (and "a unit directory that is a symlink out of the mount") |
 * | `Retry-After` in asctime form read in local time (TZ=America/New_York: 18,011 s) | data-lost.test.ts, "a Retry-After date in the asctime form"; every RFC 9110 form, garbage, negative, past and huge ones: backends.test.ts, "Retry-After that lies" |
 * | `--kubernetes-pod-label app.name --kubernetes-pod-label app_name`: one value wins silently | this file, "flags that collide" (and `--label`, `--tag` given twice, flag and config) |
 * | `exclude_process_regex = ["a", "b"]`: only one applies | patterns.test.ts, "exclude_process_regex = [\"^kworker\", \"^ksoftirqd\"]: --check passes and both apply"; lists given to one-value keys: "a key that takes one value refuses a list" |
 * | `--min-backoff 30 --max-backoff 1` accepted | this file, "flags that collide" (flag and config) |
 * | empty values accepted with exit 0 (`--selection-hold-steps ''`, `--kubernetes-pod-label ''`, `--kubernetes-node ''`, `--docker-socket ''`) | this file: the table (every flag and key), and the named four through the built binary |
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command, Option } from 'commander';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { buildProgram } from '../../../src/cli.js';
import { DeclaredOption, declOf, LettersOption, typeOf, type FileKeyDecl, type SwitchDecl, type ValueDecl } from '../../../src/config/declared-options.js';
import { specCommand, validKeys } from '../../../src/config/exporter-options.js';
import { RUN_KEYS, SENSOR_KEYS } from '../../../src/config/run-config.js';
import { SENSOR_TABLE } from '../../../src/config/sensor-options.js';
import type { ExporterCommandSpec } from '../../../src/exporters/command.js';
import { EXPORTER_COMMANDS } from '../../../src/exporters/index.js';
import { AliasOption } from '../../../src/exporters/parse.js';
import { runScaph } from '../../support/fixtures/run-scaph.js';
import { expectFailure, tempDir } from '../../support/harness/bad-input.js';
import { runMainInProcess, type InProcessRun } from '../../support/harness/in-process-cli.js';

/** How many times the agent would have started (the real runAgent is never reached from this file). */
const starts = vi.hoisted(() => ({ count: 0 }));
vi.mock('../../../src/agent/assemble.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../../src/agent/assemble.js')>()),
  runAgent: async (): Promise<void> => {
    starts.count += 1;
  },
}));

// ---- the values ----------------------------------------------------------------------------------------

/** [what, the value] for every option that takes a value. */
const VALUE_CASES: ReadonlyArray<readonly [string, string]> = [
  ['empty', ''],
  ['a newline', 'a\nb'],
  ['an escape sequence', '\u001b[2J'],
  ['5000 characters', 'x'.repeat(5000)],
];

/** [what, the value] for every option that takes a number, besides VALUE_CASES. */
const NUMBER_CASES: ReadonlyArray<readonly [string, string]> = [
  ['negative', '-1'],
  ['letters', 'abc'],
  ['hex', '0x10'],
  ['beyond a double', '1e309'],
  ['beyond 2^53', '9007199254740993'],
];

/** [what, the TOML literal] for every key that takes a value. */
const TOML_VALUE_CASES: ReadonlyArray<readonly [string, string]> = [
  ['empty', '""'],
  ['a newline', '"a\\nb"'],
  ['an escape sequence', '"\\u001b[2J"'],
  ['5000 characters', `"${'x'.repeat(5000)}"`],
  ['a switch', 'true'],
  ['a nested list', '[["a"]]'],
];

/** [what, the TOML literal] for every key that takes a number, besides TOML_VALUE_CASES. */
const TOML_NUMBER_CASES: ReadonlyArray<readonly [string, string]> = [
  ['negative', '-1'],
  ['negative, as text', '"-1"'],
  ['letters', '"abc"'],
  ['hex, as text', '"0x10"'],
  ['beyond a double', '1e309'],
  ['infinity', 'inf'],
  ['not a number', 'nan'],
  ['beyond 2^53, as text', '"9007199254740993"'],
  ['beyond 2^53', '1e16'],
];

/** [what, the TOML literal] for every switch key. */
const TOML_SWITCH_CASES: ReadonlyArray<readonly [string, string]> = [
  ['text', '"yes"'],
  ['a number', '1'],
  ['empty', '""'],
];

// ---- the options, from the program's definitions ----------------------------------------------------

/** The option takes a number: its declaration says so (an alias: its target's; letters: any of their targets'). */
function isNumeric(option: Option, cmd: Command): boolean {
  if (option instanceof LettersOption) return option.decl.targets.some((t) => isNumeric(cmd.options.find((o) => o instanceof DeclaredOption && o.key === t) as Option, cmd));
  const decl = declOf(option instanceof AliasOption ? option.target : option);
  return decl !== null && typeOf(decl) === 'number';
}

function takesValue(o: Option): boolean {
  return o.required || o.optional;
}

/** How a message may name the option: its long flag (or its letter), or (an alias) the long flag it stands for. */
function namesOf(o: Option): string[] {
  const names = [o.long ?? o.short ?? o.flags];
  if (o instanceof AliasOption) names.push(o.target.long ?? o.target.flags);
  return names;
}

const PREFIX = ['--no-header', '--sensor', 'estimate'];

/** The subcommand arguments that start it (every case adds one bad flag to them). */
const BASELINE: Readonly<Record<string, readonly string[]>> = {
  'remote-write': ['-u', 'http://127.0.0.1:9/api/v1/write'],
  warp10: ['-t', 'token'],
};

/** A flag for which a negative number is a meaning, not a mistake: a run duration (-t -1 runs until stopped). */
function negativeAllowed(o: Option): boolean {
  const decl = declOf(o);
  return decl?.kind === 'value' && decl.role === 'run-duration';
}

interface FlagUnderTest {
  /** `stdout -s/--step`, `(global) --procfs-path`. */
  readonly id: string;
  readonly numeric: boolean;
  /** Declared a run duration: a negative value runs until stopped. */
  readonly negativeAllowed: boolean;
  readonly names: readonly string[];
  /** The argv with the value appended last for a subcommand's flag, or before the subcommand for a global one. */
  argv(value: string): string[];
}

function flagId(o: Option): string {
  return o.short && o.long ? `${o.short}/${o.long}` : (o.long ?? o.short ?? o.flags);
}

/** Every option taking a value, of the program and of each subcommand (`run`'s config is given by the caller). */
function flagsUnderTest(program: Command, runConfig: string): FlagUnderTest[] {
  const out: FlagUnderTest[] = [];
  for (const o of program.options.filter(takesValue)) {
    const flag = o.long ?? o.flags;
    out.push({ id: `(global) ${flagId(o)}`, numeric: isNumeric(o, program), negativeAllowed: negativeAllowed(o), names: namesOf(o), argv: (v) => [...PREFIX, flag, v, 'stdout'] });
  }
  for (const sub of program.commands) {
    const baseline = sub.name() === 'run' ? ['-c', runConfig] : (BASELINE[sub.name()] ?? []);
    for (const o of sub.options.filter(takesValue)) {
      const flag = o.long ?? o.short ?? o.flags;
      out.push({
        id: `${sub.name()} ${flagId(o)}`,
        numeric: isNumeric(o, sub),
        negativeAllowed: negativeAllowed(o),
        names: namesOf(o),
        argv: (v) => [...PREFIX, sub.name(), ...baseline, flag, v],
      });
    }
  }
  return out;
}

// ---- the keys, from the config's definitions -------------------------------------------------------

type KeyKind = 'value' | 'number' | 'switch';

/** What a declared key takes, as its declaration says. */
function kindOfDecl(decl: SwitchDecl | ValueDecl<unknown> | FileKeyDecl<unknown>): KeyKind {
  if (decl.kind === 'switch') return 'switch';
  return decl.type === 'number' ? 'number' : 'value';
}

/** The keys an [[exporter]] of this type needs to be valid. */
const TABLE_BASELINE: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'remote-write': { url: '"http://127.0.0.1:9/api/v1/write"' },
  warp10: { write_token: '"token"' },
};

interface KeyUnderTest {
  /** `[sensor] step`, `remote-write spool_max_age`, `riemann tag_file`. */
  readonly id: string;
  readonly kind: KeyKind;
  /** The file's text with the key set to `literal`, and the line the key is on. */
  file(literal: string): { readonly text: string; readonly line: number };
  /** How the message names it: `sensor.step`, `exporter[0].url_file`. */
  readonly where: string;
}

const SENSOR_HEAD = '[sensor]\nkind = "estimate"\n';

function sensorKeys(): KeyUnderTest[] {
  return SENSOR_KEYS.map((key) => ({
    id: `[sensor] ${key}`,
    kind: kindOfDecl(SENSOR_TABLE[key] as SwitchDecl | ValueDecl<unknown> | FileKeyDecl<unknown>),
    where: `sensor.${key}`,
    file: (literal) =>
      key === 'kind'
        ? { text: `[sensor]\nkind = ${literal}\n\n[[exporter]]\ntype = "stdout"\n`, line: 2 }
        : { text: `${SENSOR_HEAD}${key} = ${literal}\n\n[[exporter]]\ntype = "stdout"\n`, line: 3 },
  }));
}

/** The option of each key a file may give a subcommand (its long name, snake_case; the step keys too). */
function optionKeys(spec: ExporterCommandSpec): Map<string, DeclaredOption> {
  const cmd = specCommand(spec);
  const byKey = new Map<string, DeclaredOption>();
  for (const o of cmd.options) {
    if (!(o instanceof DeclaredOption) || !o.long || o.decl.role === 'run-duration') continue;
    byKey.set(o.long.replace(/^--(no-)?/, '').replace(/-/g, '_'), o);
  }
  const step = cmd.options.find((o) => o instanceof DeclaredOption && o.decl.role === 'step') as DeclaredOption;
  byKey.set('step', step);
  // validKeys is what --check lists as valid: the table must cover exactly those.
  expect([...byKey.keys()].sort()).toEqual(validKeys(spec, cmd));
  return byKey;
}

function exporterKeys(spec: ExporterCommandSpec): KeyUnderTest[] {
  const base = TABLE_BASELINE[spec.name] ?? {};
  const table = (key: string, literal: string): { text: string; line: number } => {
    const lines = [`type = ${key === 'type' ? literal : JSON.stringify(spec.name)}`];
    for (const [k, v] of Object.entries(base)) if (k !== key && `${k}_file` !== key) lines.push(`${k} = ${v}`);
    // spool_max_* need a spool to cap.
    if (key.startsWith('spool_max_')) lines.push('spool_dir = "spool"');
    if (key !== 'type') lines.push(`${key} = ${literal}`);
    const head = `${SENSOR_HEAD}\n[[exporter]]\n`;
    return { text: `${head}${lines.join('\n')}\n`, line: 5 + (key === 'type' ? 0 : lines.length - 1) };
  };
  const keys: KeyUnderTest[] = [];
  const kindOf = (o: DeclaredOption): KeyKind => (o.decl.kind === 'counter' ? 'switch' : kindOfDecl(o.decl));
  const options = optionKeys(spec);
  for (const [key, o] of options) {
    keys.push({ id: `${spec.name} ${key}`, kind: kindOf(o), where: `exporter[0].${key}`, file: (l) => table(key, l) });
    // `X_file` reads X's value from a file, for every option taking a value that has no X-file of its own
    // (X its own name: `step` standing for riemann's dispatch_interval has no step_file).
    const ownName = o.long === `--${key.replace(/_/g, '-')}`;
    if (takesValue(o) && ownName && !options.has(`${key}_file`)) {
      keys.push({ id: `${spec.name} ${key}_file`, kind: 'value', where: `exporter[0].${key}_file`, file: (l) => table(`${key}_file`, l) });
    }
  }
  for (const [key, decl] of Object.entries(RUN_KEYS)) {
    if (key.startsWith('spool') && !spec.push) continue;
    keys.push({ id: `${spec.name} ${key}`, kind: kindOfDecl(decl), where: `exporter[0].${key}`, file: (l) => table(key, l) });
  }
  return keys;
}

function tomlCases(kind: KeyKind): ReadonlyArray<readonly [string, string]> {
  if (kind === 'switch') return TOML_SWITCH_CASES;
  return kind === 'number' ? [...TOML_VALUE_CASES, ...TOML_NUMBER_CASES] : TOML_VALUE_CASES;
}

// ---- the verdicts --------------------------------------------------------------------------------------

/** A control character in a message breaks its line, or (an escape sequence) rewrites the operator's terminal. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/**
 * Why the run of a bad value is not a clean refusal naming `names` (null: it is): exit 2, one line,
 * nothing on stdout, nothing started.
 */
function flagVerdict(r: InProcessRun, started: boolean, names: readonly string[]): string | null {
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  if (started) return `started (exit ${r.code}), stderr ${JSON.stringify(r.stderr.slice(0, 300))}`;
  if (r.code !== 2) return `exit ${r.code}: ${r.stderr.slice(0, 300)}`;
  if (r.stdout !== '') return `wrote on stdout: ${JSON.stringify(r.stdout.slice(0, 200))}`;
  if (lines.length !== 1) return `${lines.length} lines on stderr: ${JSON.stringify(r.stderr.slice(0, 400))}`;
  const line = lines[0] as string;
  if (line.length > 400) return `a line of ${line.length} characters`;
  if (/unexpected error|\bat .*:\d+:\d+/.test(line)) return `not a usage error: ${line}`;
  if (CONTROL.test(line)) return `a control character written as it is: ${JSON.stringify(line)}`;
  if (!names.some((n) => new RegExp(`(^|[\\s'/])${escapeRegExp(n)}\\b`).test(line))) return `does not name ${names.join(' or ')}: ${line}`;
  return null;
}

/** The same for a config file: one line per problem (here one, naming the key and its line), then the count. */
function keyVerdict(r: InProcessRun, started: boolean, file: string, line: number, where: string): string | null {
  if (started) return `started (exit ${r.code})`;
  if (r.code !== 2) return `exit ${r.code}: ${r.stderr.slice(0, 300)}`;
  if (r.stdout !== '') return `wrote on stdout: ${JSON.stringify(r.stdout.slice(0, 200))}`;
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  const [problem, count] = lines;
  if (lines.length !== 2 || count !== `(1 problem in ${file}; "scaph run -c ${file} --check" re-checks it)`) return `not one problem: ${JSON.stringify(r.stderr.slice(0, 600))}`;
  const head = `scaph: ${file}:${line}: ${where}: `;
  if (!problem?.startsWith(head)) return `does not name ${where} at line ${line}: ${problem}`;
  if (problem.length - head.length > 400) return `a message of ${problem.length - head.length} characters after its place`;
  if (/unexpected error/.test(problem ?? '')) return `not a usage error: ${problem}`;
  if (CONTROL.test(problem ?? '')) return `a control character written as it is: ${JSON.stringify(problem)}`;
  return null;
}

async function inProcess(argv: readonly string[]): Promise<{ readonly run: InProcessRun; readonly started: boolean }> {
  const before = starts.count;
  const run = await runMainInProcess(argv);
  return { run, started: starts.count !== before };
}

// ---- the tests -----------------------------------------------------------------------------------------

const dir = tempDir('scaph-every-flag-');
/** A valid config for `scaph run -c`: the baseline of the run command's own flags. */
const RUN_CONFIG = join(dir, 'baseline.toml');
writeFileSync(RUN_CONFIG, `${SENSOR_HEAD}\n[[exporter]]\ntype = "stdout"\n`);
/** Where each key's files are written: nothing else may appear there. */
const keyDir = join(dir, 'keys');
mkdirSync(keyDir);

const FLAGS = flagsUnderTest(buildProgram(async () => undefined), RUN_CONFIG);
const KEYS = [...sensorKeys(), ...EXPORTER_COMMANDS.flatMap(exporterKeys)];

describe('the table covers every flag and key', () => {
  it('every option taking a value of the program and of each subcommand, the numeric ones told apart', () => {
    const ids = FLAGS.map((f) => f.id);
    // Spot checks of the walk and of the classification (a walk that found nothing would pass everything).
    expect(ids).toEqual(expect.arrayContaining(['(global) --kubernetes-node', '(global) --docker-socket', 'json --selection-hold-steps', 'riemann --dispatch', 'run -c/--config']));
    expect(FLAGS.filter((f) => f.numeric).map((f) => f.id)).toEqual(
      expect.arrayContaining(['stdout -s/--step', 'prometheus -p/--port', 'json --step_nano', 'remote-write --min-backoff', '(global) --sensor-buffer-per-socket-max-kB', 'prometheus --health-max-age']),
    );
    expect(FLAGS.filter((f) => !f.numeric).map((f) => f.id)).toEqual(expect.arrayContaining(['(global) --procfs-path', 'remote-write -u/--url', 'warp10 --label']));
    expect(FLAGS.length).toBeGreaterThan(120);
    expect(FLAGS.filter((f) => f.negativeAllowed).map((f) => f.id)).toEqual(['stdout -t/--timeout', 'json -t/--timeout', 'run -t/--timeout']);
  });

  it('every [sensor] key, every key of every [[exporter]] type (with its X_file form), every run key', () => {
    // Every sensor option with a [sensor] key, and every run key, is in the table.
    expect(KEYS.filter((k) => k.id.startsWith('[sensor] ')).map((k) => k.id.slice(9))).toEqual([...SENSOR_KEYS]);
    expect(KEYS.filter((k) => k.id.startsWith('remote-write ') && k.id.slice(13) in RUN_KEYS)).toHaveLength(Object.keys(RUN_KEYS).length);
    const ids = KEYS.map((k) => k.id);
    expect(ids).toEqual(expect.arrayContaining(['[sensor] step', 'riemann dispatch_interval', 'riemann tag_file', 'remote-write spool_max_age', 'prometheus health_max_age', 'warp10 write_token_file']));
    expect(KEYS.filter((k) => k.kind === 'switch').map((k) => k.id)).toEqual(expect.arrayContaining(['[sensor] vm', 'prometheus containers', 'stdout raw_metrics']));
    expect(KEYS.length).toBeGreaterThan(150);
  });
});

describe('every flag: bad values end with exit 2 and one line naming the flag; nothing starts', () => {
  beforeAll(async () => {
    // The baselines start (else every refusal below would prove nothing).
    for (const argv of [[...PREFIX, 'stdout'], ...Object.entries(BASELINE).map(([sub, args]) => [...PREFIX, sub, ...args]), [...PREFIX, 'run', '-c', RUN_CONFIG]]) {
      const { run, started } = await inProcess(argv);
      expect(started, `${argv.join(' ')}: ${run.stderr}`).toBe(true);
      expect(run.code).toBe(0);
    }
  });

  it.each(FLAGS.map((f) => [f.id, f] as const))('%s', async (_id, flag) => {
    const failures: string[] = [];
    const cases = flag.numeric ? [...VALUE_CASES, ...NUMBER_CASES] : VALUE_CASES;
    for (const [what, value] of cases) {
      const { run, started } = await inProcess(flag.argv(value));
      if (what === 'negative' && flag.negativeAllowed) {
        if (!started || run.code !== 0) failures.push(`${what}: a negative ${flag.id} means "until stopped", yet: exit ${run.code} ${run.stderr}`);
        continue;
      }
      const why = flagVerdict(run, started, flag.names);
      if (why !== null) failures.push(`${what}: ${why.slice(0, 400)}`);
    }
    expect(failures.join('\n')).toBe('');
  });
});

describe('every config key: bad values make --check and the start exit 2, one line per problem naming the key and its line', () => {
  it.each(KEYS.map((k) => [k.id, k] as const))('%s', async (id, key) => {
    const failures: string[] = [];
    for (const [what, literal] of tomlCases(key.kind)) {
      const { text, line } = key.file(literal);
      const file = join(keyDir, `${id.replace(/[^A-Za-z0-9_-]+/g, '_')}.toml`);
      writeFileSync(file, text);
      // --check, and the start itself (the same loader; a start that took the value would be counted).
      for (const argv of [['run', '-c', file, '--check'], [...PREFIX, 'run', '-c', file]]) {
        const { run, started } = await inProcess(argv);
        const why = keyVerdict(run, started, file, line, key.where);
        if (why !== null) failures.push(`${what} (${literal.slice(0, 20)}), ${argv.includes('--check') ? '--check' : 'start'}: ${why.slice(0, 400)}`);
      }
      // Nothing but the config files themselves (no spool, no output file).
      const created = readdirSync(keyDir).filter((f) => !f.endsWith('.toml'));
      if (created.length > 0) failures.push(`${what}: created ${created.join(', ')}`);
    }
    expect(failures.join('\n')).toBe('');
  });
});

/** Every `step`-th element of `all`, from the first: a sample that moves with the table, never empty. */
function sample<T>(all: readonly T[], count: number): T[] {
  const step = Math.max(1, Math.floor(all.length / count));
  return all.filter((_, i) => i % step === 0).slice(0, count);
}

describe('the built binary says the same as the in-process table (a sample of it)', () => {
  it('flags: the same exit code, stderr and stdout, byte for byte; no file created in its working directory', async () => {
    const cases = sample(FLAGS, 8).map((flag, i) => {
      const values = flag.numeric ? [...VALUE_CASES, ...NUMBER_CASES] : VALUE_CASES;
      return { flag, value: (values[i % values.length] as readonly [string, string])[1] };
    });
    // The named empties of issue 27 among them, whatever the sample.
    for (const id of ['json --selection-hold-steps', '(global) --kubernetes-pod-label', '(global) --kubernetes-node', '(global) --docker-socket']) {
      cases.push({ flag: FLAGS.find((f) => f.id === id) as FlagUnderTest, value: '' });
    }
    for (const { flag, value } of cases) {
      const argv = flag.argv(value);
      const cwd = tempDir('scaph-every-flag-cwd-');
      const real = await runScaph(argv, { cwd, timeoutMs: 20_000 });
      const mine = await inProcess(argv);
      expectFailure(real, 2);
      expect({ id: flag.id, code: real.code, stderr: real.stderr, stdout: real.stdout }).toEqual({ id: flag.id, code: mine.run.code, stderr: mine.run.stderr, stdout: mine.run.stdout });
      expect(flagVerdict(mine.run, mine.started, flag.names)).toBeNull();
      expect(readdirSync(cwd)).toEqual([]);
    }
  });

  it('config keys: --check and the start give the same exit code, stderr and stdout; no file created', async () => {
    for (const [i, key] of sample(KEYS, 6).entries()) {
      const cases = tomlCases(key.kind);
      const literal = (cases[i % cases.length] as readonly [string, string])[1];
      const cwd = tempDir('scaph-every-key-');
      const file = join(cwd, 'scaph.toml');
      const { text, line } = key.file(literal);
      writeFileSync(file, text);
      for (const argv of [['run', '-c', file, '--check'], [...PREFIX, 'run', '-c', file]]) {
        const real = await runScaph(argv, { cwd, timeoutMs: 20_000 });
        const mine = await inProcess(argv);
        expectFailure(real, 2);
        expect({ id: key.id, code: real.code, stderr: real.stderr, stdout: real.stdout }).toEqual({ id: key.id, code: mine.run.code, stderr: mine.run.stderr, stdout: mine.run.stdout });
        expect(keyVerdict(mine.run, mine.started, file, line, key.where)).toBeNull();
      }
      expect(readdirSync(cwd)).toEqual(['scaph.toml']);
    }
  });
});

describe('flags that collide (issue 27): refused at start naming both, by the built binary; nothing started', () => {
  /** [argv after PREFIX, the one line]. */
  const CASES: ReadonlyArray<readonly [readonly string[], string]> = [
    [
      ['--kubernetes-pod-label', 'app.name', '--kubernetes-pod-label', 'app_name', 'stdout'],
      'scaph: --kubernetes-pod-label "app.name" and --kubernetes-pod-label "app_name" both become the label kubernetes_pod_label_app_name: one value would silently replace the other; keep one',
    ],
    [
      ['remote-write', '-u', 'http://127.0.0.1:9/api/v1/write', '--min-backoff', '30', '--max-backoff', '1'],
      'scaph: --min-backoff 30 is longer than --max-backoff 1: the first wait would be cut to the longest. Give --max-backoff 30 or more, or a shorter --min-backoff',
    ],
    [
      ['riemann', '--min-backoff', '30'],
      "scaph: --min-backoff 30 is longer than the longest wait, 5 s (--max-backoff's default: the larger of 5 s and the step): the first wait would be cut to the longest. Give --max-backoff 30 or more, or a shorter --min-backoff",
    ],
    [['warp10', '-t', 'token', '--label', 'a=1', '--label', 'a=2'], 'scaph: --label a=1 and --label a=2 name the same label: one value would silently replace the other; keep one'],
  ];

  it.each(CASES)('scaph %j', async (args, line) => {
    const cwd = tempDir('scaph-collide-');
    const r = await runScaph([...PREFIX, ...args], { cwd, timeoutMs: 20_000 });
    expectFailure(r, 2);
    expect(r.stderr).toBe(`${line}\n`);
    expect(r.stdout).toBe('');
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('in a file: --check and the start refuse min_backoff above max_backoff, and a label or tag given twice, naming key and line', async () => {
    const cwd = tempDir('scaph-collide-');
    const file = join(cwd, 'scaph.toml');
    writeFileSync(
      file,
      `${SENSOR_HEAD}\n[[exporter]]\ntype = "remote-write"\nurl = "http://127.0.0.1:9/api/v1/write"\nmin_backoff = 30\nmax_backoff = 1\n\n` +
        `[[exporter]]\ntype = "warp10"\nwrite_token = "t"\nlabel = ["a=1", "a=2"]\n\n[[exporter]]\ntype = "riemann"\ntag = ["x", "x"]\n`,
    );
    for (const argv of [['run', '-c', file, '--check'], [...PREFIX, 'run', '-c', file]]) {
      const r = await runScaph(argv, { cwd, timeoutMs: 20_000 });
      expectFailure(r, 2);
      expect(r.stderr).toBe(
        `scaph: ${file}:4: exporter[0]: (remote-write) --min-backoff 30 is longer than --max-backoff 1: the first wait would be cut to the longest. Give --max-backoff 30 or more, or a shorter --min-backoff\n` +
          `${file}:13: exporter[1].label: (warp10) --label a=1 and --label a=2 name the same label: one value would silently replace the other; keep one\n` +
          `${file}:17: exporter[2].tag: (riemann) --tag "x" is given twice: give each tag once\n` +
          `(3 problems in ${file}; "scaph run -c ${file} --check" re-checks it)\n`,
      );
      expect(r.stdout).toBe('');
      expect(readdirSync(cwd)).toEqual(['scaph.toml']);
    }
  });
});
