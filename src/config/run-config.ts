/**
 * `scaph run -c FILE`: the config file read, checked and turned into a plan (a [sensor] and the
 * [[exporter]]s), with every problem found reported at once, each with its line (ConfigError, exit 2).
 *
 * What a key takes and what it is for (a file, a secret, the step) is declared, never guessed from its name.
 * How keys are declared (docs/development.md has an example):
 * - an [[exporter]]'s keys are its subcommand's options, declared once in the OPTIONS table of
 *   src/exporters/<name>/command.ts with the helpers of declared-options.ts; the key is the long flag in
 *   snake_case. exporter-options.ts turns the keys into the subcommand's argv, so a file takes exactly what
 *   the command line takes, and each declaration's unit and role say how its value is read and whether it
 *   is a file to check, a path to resolve against the file's directory, a secret, or the step;
 * - [sensor]'s keys are the global options declared in sensor-options.ts (SENSOR_TABLE);
 * - the keys no option stands for are RUN_KEYS below (type and the spool).
 * A key none of them declares is refused, naming the nearest known one when it is close (did-you-mean.ts).
 * `${ENV}` references are expanded before any of it (values.ts), so a secret need not be written in the file.
 */
import { realpathSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { OptionValues } from 'commander';
import { pushTypes, type ExporterCommandSpec, type ExporterSettings } from '../exporters/command.js';
import { EXPORTER_COMMANDS } from '../exporters/index.js';
import { NotRegularFileError, readRegularFileSync } from '../core/bounded-fs.js';
import { errorCodeOrText, errorText, UsageError } from '../core/errors.js';
import { fileKey, fileText, type FileKeyDecl, type ValueDecl } from './declared-options.js';
import { closest, didYouMean } from './did-you-mean.js';
import { exporterArgs, inlineSecretKeys, inputFileProblem, missingInputFiles, resolvePathKeys, type ExporterArgs } from './exporter-options.js';
import type { KeyIssue } from './key-issue.js';
import { roleKey, splitStepKeys, stepOptionKey, type StepKeys } from './exporter-step.js';
import { SENSOR_OPTIONS, SENSOR_STEP, SENSOR_TABLE } from './sensor-options.js';
import { parseConfigText, type ConfigProblem, type ConfigSource, type KeyPath } from './source.js';
import { durationMs, expandEnv, isTable, show, sizeBytes } from './values.js';
import { CCF_IDLE_WATTS_PER_CPU, CCF_MAX_WATTS_PER_CPU } from '../sensors/estimate.js';
import type { SensorSettings } from '../sensors/settings.js';

/**
 * [sensor]: the sensor settings the file gives (a key it leaves out takes the value of the global option
 * on the command line, or its default: the file wins where it speaks), plus the sampling step.
 */
export interface SensorConfig extends Partial<SensorSettings> {
  readonly stepMs: number;
  /** Where the step came from, as --check says it: `[sensor] step`, `default`, `the shortest exporter step`. */
  readonly stepFrom?: string;
}

export interface SpoolConfig {
  readonly dir: string;
  readonly maxBytes: number;
  readonly maxAgeMs: number;
}

/** One [[exporter]]: its subcommand, the options commander parsed for it, its typed settings, its step and spool. */
export interface ExporterConfig {
  readonly index: number;
  readonly type: string;
  readonly spec: ExporterCommandSpec;
  readonly opts: OptionValues;
  readonly settings: ExporterSettings;
  readonly stepMs: number;
  /** Where the step came from, as --check says it: the key written (`step`, `dispatch_interval`) or `default`. */
  readonly stepFrom?: string;
  readonly spool: SpoolConfig | null;
}

/** A path the file names, where (`sensor.powercap_path`, `exporter[0].spool_dir`) and as scaph uses it. */
export interface ConfigPath {
  readonly where: string;
  readonly path: string;
}

export interface RunConfig {
  readonly file: string;
  readonly sensor: SensorConfig;
  readonly exporters: readonly ExporterConfig[];
  /** Every path-valued setting, relative ones resolved against the file's directory. */
  readonly paths: readonly ConfigPath[];
  /** Keys holding a secret written in the file itself (not `${ENV}` nor a `*_file`), e.g. `exporter[1].write_token`. */
  readonly inlineSecrets: readonly string[];
}

/** The file has problems: one line each, `file:line: where: what`. Exit 2 like any usage error. */
export class ConfigError extends UsageError {
  constructor(
    readonly file: string,
    readonly problems: readonly ConfigProblem[],
  ) {
    super(
      problems.map((p) => `${file}${p.line === null ? '' : `:${p.line}`}: ${p.message}`).join('\n') +
        `\n(${problems.length} problem${problems.length === 1 ? '' : 's'} in ${file}; "scaph run -c ${file} --check" re-checks it)`,
    );
  }
}

export const DEFAULT_SENSOR_STEP_MS = 2000;
export const SPOOL_DEFAULTS = { maxBytes: 1024 ** 3, maxAgeMs: 24 * 3_600_000 } as const;
/** Exporters whose delivery goes through the delivery core's queue, so a disk spool can back it (their spec says so). */
export const PUSH_TYPES: ReadonlySet<string> = pushTypes(EXPORTER_COMMANDS);

/** The keys [sensor] takes, declared in sensor-options.ts (the bad-input suite feeds each of them bad values). */
export const SENSOR_KEYS: readonly string[] = Object.keys(SENSOR_TABLE);

/**
 * Keys of an [[exporter]] that are not options of its subcommand (the step keys are taken out apart:
 * splitStepKeys): its type, and the disk spool of a push exporter.
 */
export const RUN_KEYS = {
  type: fileKey('text', fileText),
  spool_dir: fileKey('text', fileText, { role: 'path' }),
  spool_max_bytes: fileKey('number', sizeBytes, { unit: 'bytes' }),
  spool_max_age: fileKey('number', durationMs, { unit: 'seconds' }),
} satisfies Readonly<Record<string, FileKeyDecl<unknown>>>;
const RUN_KEY_NAMES: readonly string[] = Object.keys(RUN_KEYS);

export interface LoadOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** The exporter subcommands a `type` may name (tests add fakes); those that push may take a spool. */
  readonly commands?: readonly ExporterCommandSpec[];
  /** Also check that input files (ca, cert, key, *_file) exist and can be read. */
  readonly checkFiles?: boolean;
}

/** Reads, parses and validates a run config; throws ConfigError listing every problem found. */
export function loadRunConfig(file: string, options: LoadOptions = {}): RunConfig {
  let text: string;
  try {
    text = readRegularFileSync(file).toString('utf8');
  } catch (err) {
    throw new UsageError(unreadableConfigMessage(file, err));
  }
  return validateRunConfig(file, parseConfigText(file, text), options);
}

/**
 * Why the config file could not be read, and the fix: a path that is wrong (ENOENT, a directory) is the
 * -c argument's fault; one scaph may not read (EACCES, EPERM) is the file's mode, group or a directory
 * above it: the packaged unit runs as user scaph, which reads the file through its group.
 */
function unreadableConfigMessage(file: string, err: unknown): string {
  if (err instanceof NotRegularFileError) return `cannot read the config file "${file}" (it is ${err.kind}): check the path given to -c`;
  const code = errorCodeOrText(err);
  if (code !== 'EACCES' && code !== 'EPERM') return `cannot read the config file "${file}" (${code}): check the path given to -c`;
  return (
    `cannot read the config file "${file}" (${code}): user ${currentUser()} may not read it or enter a directory above it. ` +
    `The scaph unit runs as user scaph: "chgrp scaph ${file} && chmod 640 ${file}" (and o+x or group scaph on its directories)`
  );
}

function currentUser(): string {
  const uid = process.getuid?.() ?? -1;
  try {
    return `${userInfo().username} (uid ${uid})`;
  } catch {
    return `uid ${uid}`;
  }
}

/**
 * Validation of parsed data: collects problems instead of stopping at the first one. Relative paths are
 * resolved against the directory of `file`.
 */
export function validateRunConfig(file: string, source: ConfigSource, options: LoadOptions = {}): RunConfig {
  if (source.problems.length > 0) throw new ConfigError(file, source.problems);
  const problems: ConfigProblem[] = [];
  const report = (path: KeyPath, message: string): void => {
    problems.push({ line: source.lineOf(path), message: `${describe(path)}: ${message}` });
  };
  const unexpanded = new Set<string>();
  const data = expandAll(source.data, [], options.env ?? process.env, (path, message) => {
    unexpanded.add(describe(path));
    report(path, message);
  });
  if (!isTable(data)) {
    throw new ConfigError(file, [{ line: 1, message: 'the file must hold a [sensor] table and [[exporter]] tables' }]);
  }
  for (const key of Object.keys(data)) {
    if (key !== 'sensor' && key !== 'exporter') report([key], `unknown top-level key${didYouMean(key, ['sensor', 'exporter'])}; expected [sensor] and [[exporter]]`);
  }
  const paths: ConfigPath[] = [];
  const at: PathResolver = { baseDir: dirname(resolve(file)), paths };
  const { stepMs: sensorStepMs, ...sensorSettings } = sensorConfig(data['sensor'], report, at, options.checkFiles === true);
  const rawExporters = isTable(source.data) ? source.data['exporter'] : undefined;
  const rawTable = (index: number): Readonly<Record<string, unknown>> => {
    const table: unknown = Array.isArray(rawExporters) ? rawExporters[index] : undefined;
    return isTable(table) ? table : {};
  };
  const exporters = exportersConfig(data['exporter'], { sensorStepMs, options, report, paths: at, unexpanded, rawTable });
  checkSpoolsApart(exporters, report);
  if (problems.length > 0) throw new ConfigError(file, problems);
  const sensor: SensorConfig = { ...sensorSettings, ...sensorStep(sensorStepMs, exporters) };
  return { file, sensor, exporters: exporters.filter(hasSettings), paths, inlineSecrets: exporters.flatMap((e) => e.inlineSecrets) };
}

/**
 * The sampling step: [sensor] step when the file gives one; else 2 s, or the shortest exporter step when
 * one is shorter, so that every exporter gets a sample as often as its step says.
 */
function sensorStep(givenMs: number | null, exporters: readonly CheckedExporter[]): Pick<SensorConfig, 'stepMs' | 'stepFrom'> {
  if (givenMs !== null) return { stepMs: givenMs, stepFrom: '[sensor] step' };
  const shortest = Math.min(...exporters.map((e) => e.stepMs));
  return shortest < DEFAULT_SENSOR_STEP_MS ? { stepMs: shortest, stepFrom: 'the shortest exporter step' } : { stepMs: DEFAULT_SENSOR_STEP_MS, stepFrom: 'default' };
}

type Report = (path: KeyPath, message: string) => void;

/** Resolves relative paths against the config file's directory and keeps a list of them for --check. */
interface PathResolver {
  readonly baseDir: string;
  readonly paths: ConfigPath[];
}

function resolvePath(r: PathResolver, where: KeyPath, value: string): string {
  const path = isAbsolute(value) ? value : resolve(r.baseDir, value);
  r.paths.push({ where: describe(where), path });
  return path;
}

/** Two exporters writing one spool would acknowledge (delete) each other's records: refused. */
function checkSpoolsApart(exporters: readonly CheckedExporter[], report: Report): void {
  const owners = new Map<string, CheckedExporter>();
  for (const e of exporters) {
    if (!e.spool) continue;
    const key = canonicalDir(e.spool.dir);
    const first = owners.get(key);
    if (first) {
      report(
        ['exporter', e.index, 'spool_dir'],
        `same spool directory as exporter[${first.index}] (${first.type}): "${e.spool.dir}". Each exporter needs its own ` +
          `(one exporter's acknowledgements would delete the other's unsent samples), e.g. "${e.spool.dir}/${e.type}-${e.index}"`,
      );
    } else {
      owners.set(key, e);
    }
  }
}

/** The directory as the file system resolves it (symlinks followed); as written when it does not exist yet. */
export function canonicalDir(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    return resolve(dir);
  }
}

function describe(path: KeyPath): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out;
}

/** ${ENV} references in every string, with errors at the key that holds them. */
function expandAll(value: unknown, path: Array<string | number>, env: NodeJS.ProcessEnv, report: Report): unknown {
  if (typeof value === 'string') {
    try {
      return expandEnv(value, env);
    } catch (err) {
      report(path, errorText(err));
      return value;
    }
  }
  if (Array.isArray(value)) return value.map((v, i) => expandAll(v, [...path, i], env, report));
  if (isTable(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandAll(v, [...path, k], env, report)]));
  return value;
}

/** [sensor] as written: its step is null when the file leaves it out (sensorStep then chooses). */
type WrittenSensor = Omit<SensorConfig, 'stepMs' | 'stepFrom'> & { readonly stepMs: number | null };

/** [sensor]: each key read as its declaration says (sensor-options.ts); paths resolved against the file's directory. */
function sensorConfig(raw: unknown, report: Report, paths: PathResolver, checkFiles = false): WrittenSensor {
  const t = raw === undefined ? {} : raw;
  if (!isTable(t)) {
    report(['sensor'], 'must be a table ([sensor])');
    return sensorConfig(undefined, report, paths, checkFiles);
  }
  for (const key of Object.keys(t)) if (!SENSOR_KEYS.includes(key)) report(['sensor', key], `unknown key${didYouMean(key, SENSOR_KEYS)}; valid keys: ${SENSOR_KEYS.join(', ')}`);
  const at = (k: string): KeyPath => ['sensor', k];
  const read = <T>(key: string, decl: { readFile?(value: unknown): T }): T | undefined => readKey(t, key, decl, at(key), report);
  // A path (declared `path` or `input-file`) is resolved against the file's directory; an input file is
  // checked when the caller asks (--check, the start, a reload).
  const path = (key: string, decl: ValueDecl<string | undefined>): string | undefined => {
    const v = read(key, decl);
    if (v === undefined) return undefined;
    const resolved = resolvePath(paths, at(key), v);
    const problem = decl.role === 'input-file' && checkFiles ? inputFileProblem(resolved) : null;
    if (problem !== null) report(at(key), problem);
    return resolved;
  };
  const o = SENSOR_OPTIONS;
  const idle = read('estimate_idle_watts_per_cpu', o.estimateIdleWattsPerCpu);
  const max = read('estimate_max_watts_per_cpu', o.estimateMaxWattsPerCpu);
  checkEstimate(idle, max, at, report);
  return {
    kind: read('kind', o.kind),
    powercapPath: path('powercap_path', o.powercapPath),
    procfsPath: path('procfs_path', o.procfsPath),
    cgroupfsPath: path('cgroupfs_path', o.cgroupfsPath),
    attribution: read('attribution', o.attribution),
    reapedChildren: read('reaped_children', o.reapedChildren),
    vm: read('vm', o.vm),
    stepMs: read('step', SENSOR_STEP) ?? null,
    estimateIdleWattsPerCpu: idle,
    estimateMaxWattsPerCpu: max,
    hwmonPath: path('hwmon_path', o.hwmonPath),
    hwmonChannels: read('hwmon_channel', o.hwmonChannels),
    redfishUrl: read('redfish_url', o.redfishUrl),
    redfishUser: read('redfish_user', o.redfishUser),
    redfishPasswordFile: path('redfish_password_file', o.redfishPasswordFile),
    redfishCa: path('redfish_ca', o.redfishCa),
    redfishInsecure: read('redfish_insecure', o.redfishInsecure),
    redfishChassis: read('redfish_chassis', o.redfishChassis),
    redfishIntervalMs: read('redfish_interval', o.redfishIntervalMs),
  };
}

/** Key `key` of table `t` read by its declaration's reader; undefined when absent or refused (reported). */
function readKey<T>(t: Readonly<Record<string, unknown>>, key: string, decl: { readFile?(value: unknown): T }, path: KeyPath, report: Report): T | undefined {
  const value = t[key];
  if (value === undefined) return undefined;
  if (!decl.readFile) throw new Error(`the declaration of ${key} says no way to read it from a file`);
  try {
    return decl.readFile(value);
  } catch (err) {
    report(path, errorText(err));
    return undefined;
  }
}

/** An [[exporter]] as validated: no settings when its keys had problems (then the file is refused). */
interface CheckedExporter extends Omit<ExporterConfig, 'settings'> {
  readonly settings: ExporterSettings | null;
  /** Its keys holding a secret written in the file itself (`exporter[1].write_token`). */
  readonly inlineSecrets: readonly string[];
}

function hasSettings(e: CheckedExporter): e is CheckedExporter & ExporterConfig {
  return e.settings !== null;
}

/** What building each [[exporter]] needs besides its table. */
interface ExporterContext {
  /** [sensor] step as written; null when the file leaves it out. */
  readonly sensorStepMs: number | null;
  readonly options: LoadOptions;
  readonly report: Report;
  readonly paths: PathResolver;
  /** Keys (`exporter[1].key`) whose ${ENV} reference failed: already reported, so not judged again. */
  readonly unexpanded: ReadonlySet<string>;
  /** [[exporter]] number i as written, before ${ENV} expansion (a secret from the environment is not inline). */
  rawTable(index: number): Readonly<Record<string, unknown>>;
}

function exportersConfig(raw: unknown, ctx: ExporterContext): CheckedExporter[] {
  if (raw === undefined || (Array.isArray(raw) && raw.length === 0)) {
    ctx.report(['exporter'], 'no exporter configured: add at least one [[exporter]] table with a type');
    return [];
  }
  if (!Array.isArray(raw)) {
    ctx.report(['exporter'], 'must be an array of tables ([[exporter]] in TOML, a list under "exporter:" in YAML)');
    return [];
  }
  const out: CheckedExporter[] = [];
  raw.forEach((item: unknown, index) => {
    const config = exporterConfig(item, index, ctx);
    if (config) out.push(config);
  });
  return out;
}

function exporterConfig(raw: unknown, index: number, ctx: ExporterContext): CheckedExporter | null {
  const { options, report, paths } = ctx;
  const base: KeyPath = ['exporter', index];
  if (!isTable(raw)) {
    report(base, 'must be a table');
    return null;
  }
  const commands = options.commands ?? EXPORTER_COMMANDS;
  const type = raw['type'];
  const spec = commands.find((c) => c.name === type);
  if (!spec) {
    report(type === undefined ? base : [...base, 'type'], type === undefined ? `missing key type (one of ${typeNames(commands)})` : unknownTypeMessage(type, commands));
    return null;
  }
  const at = (k: string | null): KeyPath => (k === null ? base : [...base, k]);
  // A key whose ${ENV} failed was reported with the variable's name: what its placeholder value would make
  // of it (a file "${CREDENTIALS_DIRECTORY}/token" that does not exist) is noise.
  const judge = (issue: KeyIssue): boolean =>
    issue.key === null || ![issue.key, issue.key.replace(/_/g, '-')].some((k) => ctx.unexpanded.has(describe(at(k))));
  const ownRaw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (!RUN_KEY_NAMES.includes(k)) ownRaw[k] = v;
  const step = splitStepKeys(spec, ownRaw);
  for (const issue of step.issues.filter(judge)) report(at(issue.key), `(${spec.name}) ${issue.message}`);
  const resolved = resolvePathKeys(spec, step.rest, paths.baseDir);
  for (const p of resolved.paths) paths.paths.push({ where: describe(at(p.key)), path: p.path });
  const { args, stepFrom, refusal } = settleStep(spec, resolved.table, step, raw, ctx.sensorStepMs);
  if (refusal) report(at(step.writtenAs ?? stepOptionKey(spec)), `(${spec.name}) ${refusal}`);
  // The step option's problems are the key the user wrote (`step` for riemann's dispatch_interval).
  const keyOf = (issue: KeyIssue): KeyIssue => (issue.key === stepOptionKey(spec) && step.writtenAs ? { ...issue, key: step.writtenAs } : issue);
  for (const issue of args.issues.map(keyOf).filter(judge)) report(at(issue.key), `(${spec.name}) ${issue.message}`);
  if (args.issues.length === 0 && options.checkFiles) {
    for (const issue of missingInputFiles(spec, args.opts).filter(judge)) report(at(issue.key), `(${spec.name}) ${issue.message}`);
  }
  const spool = spoolConfig(raw, spec.name, pushTypes(commands), at, report, paths);
  const stepMs = args.settings?.stepMs ?? ctx.sensorStepMs ?? DEFAULT_SENSOR_STEP_MS;
  const inlineSecrets = inlineSecretKeys(spec, ctx.rawTable(index)).map((k) => describe(at(k)));
  return { index, type: spec.name, spec, opts: args.opts, settings: args.settings, stepMs, stepFrom, spool, inlineSecrets };
}

function typeNames(commands: readonly ExporterCommandSpec[]): string {
  return commands.map((c) => c.name).join(', ');
}

/**
 * `type = "warpten"` (the command line's alias) names the type to write; a type close to a known one
 * (`remote_write`) names it too.
 */
function unknownTypeMessage(type: unknown, commands: readonly ExporterCommandSpec[]): string {
  const names = typeNames(commands);
  const aliased = commands.find((c) => c.aliases?.some((a) => a === type));
  if (aliased) return `${show(type)} is the command line's other name of ${aliased.name}: in a file write type = "${aliased.name}"`;
  const near = typeof type === 'string' ? closest(type, commands.map((c) => c.name)) : null;
  return `unknown exporter type ${show(type)}${near === null ? '' : ` (did you mean ${near}?)`}; known types: ${names}`;
}

/**
 * The subcommand's parse of an [[exporter]] with its step settled: what the file wrote, else the
 * subcommand's default; a default below the [sensor] step written is raised to it (each sample, then),
 * and a step written below it is refused (`refusal`): the sensor cannot sample faster.
 */
function settleStep(
  spec: ExporterCommandSpec,
  table: Readonly<Record<string, unknown>>,
  step: StepKeys,
  raw: Readonly<Record<string, unknown>>,
  sensorStepMs: number | null,
): { readonly args: ExporterArgs; readonly stepFrom: string; readonly refusal: string | null } {
  const parse = (seconds: number | undefined): ExporterArgs => exporterArgs(spec, seconds === undefined ? table : { ...table, [stepOptionKey(spec)]: seconds });
  const args = parse(step.seconds);
  const stepFrom = stepSource(spec, raw, step.writtenAs);
  const ownStepMs = args.settings?.stepMs;
  if (ownStepMs === undefined || sensorStepMs === null || ownStepMs >= sensorStepMs) return { args, stepFrom, refusal: null };
  if (stepFrom === 'default') return { args: parse(sensorStepMs / 1000), stepFrom: `default ${seconds(ownStepMs)}, raised to [sensor] step`, refusal: null };
  return {
    args,
    stepFrom,
    refusal:
      `a step of ${seconds(ownStepMs)} is shorter than [sensor] step (${seconds(sensorStepMs)}): the sensor samples no faster than that. ` +
      `Lower [sensor] step to ${ownStepMs / 1000} or raise this step`,
  };
}

/** The keys that set an exporter's step, as --check names them (`step`, `step + step_nano`), or `default`. */
function stepSource(spec: ExporterCommandSpec, raw: Readonly<Record<string, unknown>>, writtenAs: string | undefined): string {
  const fraction = roleKey(spec, 'step-fraction');
  const keys = [writtenAs, Object.keys(raw).find((k) => k.replace(/-/g, '_') === fraction)].filter((k): k is string => k !== undefined);
  return keys.length === 0 ? 'default' : keys.join(' + ');
}

function seconds(ms: number): string {
  return `${ms / 1000} s`;
}

function spoolConfig(
  t: Readonly<Record<string, unknown>>,
  type: string,
  pushTypes: ReadonlySet<string>,
  at: (k: string) => KeyPath,
  report: Report,
  paths: PathResolver,
): SpoolConfig | null {
  const dir = t['spool_dir'];
  const hasCaps = t['spool_max_bytes'] !== undefined || t['spool_max_age'] !== undefined;
  if (dir === undefined) {
    if (hasCaps) report(at(t['spool_max_bytes'] !== undefined ? 'spool_max_bytes' : 'spool_max_age'), 'needs spool_dir (where the spool lives)');
    return null;
  }
  if (!pushTypes.has(type)) {
    report(at('spool_dir'), `a ${type} exporter does not push: only ${[...pushTypes].join(', ')} take a spool`);
    return null;
  }
  if (typeof dir !== 'string' || dir === '') {
    report(at('spool_dir'), `must be a directory path, got ${show(dir)}`);
    return null;
  }
  const checked = readKey(t, 'spool_dir', RUN_KEYS.spool_dir, at('spool_dir'), report);
  if (checked === undefined) return null;
  return {
    dir: resolvePath(paths, at('spool_dir'), checked),
    maxBytes: readKey(t, 'spool_max_bytes', RUN_KEYS.spool_max_bytes, at('spool_max_bytes'), report) ?? SPOOL_DEFAULTS.maxBytes,
    maxAgeMs: readKey(t, 'spool_max_age', RUN_KEYS.spool_max_age, at('spool_max_age'), report) ?? SPOOL_DEFAULTS.maxAgeMs,
  };
}

/**
 * The estimate's two coefficients together, defaults filled in: idle above max is refused by --check as it
 * is at start (the estimate would not build), naming both keys.
 */
function checkEstimate(idle: number | undefined, max: number | undefined, at: (k: string) => KeyPath, report: Report): void {
  if (idle === undefined && max === undefined) return;
  const idleW = idle ?? CCF_IDLE_WATTS_PER_CPU;
  const maxW = max ?? CCF_MAX_WATTS_PER_CPU;
  if (idleW <= maxW) return;
  report(
    at(max === undefined ? 'estimate_idle_watts_per_cpu' : 'estimate_max_watts_per_cpu'),
    `estimate_idle_watts_per_cpu (${idleW} W${idle === undefined ? ', the default' : ''}) is above estimate_max_watts_per_cpu (${maxW} W${max === undefined ? ', the default' : ''}): a CPU cannot draw less at 100 % than idle`,
  );
}
