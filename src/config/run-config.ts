import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { OptionValues } from 'commander';
import { pushTypes, type ExporterCommandSpec, type ExporterSettings } from '../exporters/command.js';
import { EXPORTER_COMMANDS } from '../exporters/index.js';
import { NotRegularFileError, readRegularFileSync } from '../core/bounded-fs.js';
import { errorCodeOrText, UsageError } from '../core/errors.js';
import { exporterArgs, missingInputFiles, resolvePathKeys, type ExporterArgs } from './exporter-options.js';
import type { KeyIssue } from './key-issue.js';
import { optionKey, splitStepKeys, type StepKeys } from './exporter-step.js';
import { parseConfigText, type ConfigProblem, type ConfigSource, type KeyPath } from './source.js';
import { durationMs, expandEnv, isTable, show, sizeBytes } from './values.js';
import type { AttributionModel } from '../core/sample.js';
import { MAX_SECONDS, MAX_WATTS_PER_CPU, valueProblem } from '../exporters/parse.js';
import { ATTRIBUTION_MODELS } from '../sensors/attribution.js';
import { CCF_IDLE_WATTS_PER_CPU, CCF_MAX_WATTS_PER_CPU } from '../sensors/estimate.js';
import { hwmonChannelProblem, redfishIntervalProblem } from '../sensors/platform-flags.js';
import { redfishUrlProblem } from '../sensors/redfish/settings.js';
import { SENSOR_KINDS, type SensorKind, type SensorSettings } from '../sensors/settings.js';
import { carbonConfig } from './carbon-config.js';
import type { CarbonSettings } from '../carbon/settings.js';

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
  /** [carbon] as written (it replaces the carbon flags); null when the file has none. */
  readonly carbon: CarbonSettings | null;
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

/** The keys [sensor] takes (the bad-input suite feeds each of them bad values). */
export const SENSOR_KEYS: readonly string[] = [
  'kind',
  'powercap_path',
  'procfs_path',
  'cgroupfs_path',
  'attribution',
  'reaped_children',
  'vm',
  'step',
  'estimate_idle_watts_per_cpu',
  'estimate_max_watts_per_cpu',
  'hwmon_path',
  'hwmon_channel',
  'redfish_url',
  'redfish_user',
  'redfish_password_file',
  'redfish_ca',
  'redfish_insecure',
  'redfish_chassis',
  'redfish_interval',
];
const TOP_LEVEL_KEYS: readonly string[] = ['sensor', 'carbon', 'exporter'];

/** Keys of an [[exporter]] that are not options of its subcommand (the step keys are taken out apart: splitStepKeys). */
export const RUN_KEYS: readonly string[] = ['type', 'spool_dir', 'spool_max_bytes', 'spool_max_age'];

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
  for (const key of Object.keys(data)) if (!TOP_LEVEL_KEYS.includes(key)) report([key], 'unknown top-level key; expected [sensor], [carbon] and [[exporter]]');
  const paths: ConfigPath[] = [];
  const at: PathResolver = { baseDir: dirname(resolve(file)), paths };
  const { stepMs: sensorStepMs, ...sensorSettings } = sensorConfig(data['sensor'], report, at, options.checkFiles === true);
  const exporters = exportersConfig(data['exporter'], { sensorStepMs, options, report, paths: at, unexpanded });
  const carbon = carbonConfig(data['carbon'], report, (k, v) => resolvePath(at, ['carbon', k], v), options.checkFiles === true ? unreadableFile : null);
  checkSpoolsApart(exporters, report);
  if (problems.length > 0) throw new ConfigError(file, problems);
  const sensor: SensorConfig = { ...sensorSettings, ...sensorStep(sensorStepMs, exporters) };
  return { file, sensor, carbon, exporters: exporters.filter(hasSettings), paths, inlineSecrets: inlineSecrets(source.data) };
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

/** Keys whose value is a secret when written inline (a literal, not `${ENV}`). */
const SECRET_KEYS = new Set(['write_token', 'write-token', 'password', 'token', 'bearer_token', 'bearer-token']);
const SECRET_HEADER = /authorization|token|secret|password|api[-_]?key/i;

/** `exporter[i].<key>` for each secret written in the raw (unexpanded) file. */
function inlineSecrets(raw: unknown): string[] {
  const out: string[] = [];
  const literal = (v: unknown): boolean => typeof v === 'string' && v !== '' && !v.includes('${');
  const list = isTable(raw) ? raw['exporter'] : undefined;
  if (!Array.isArray(list)) return out;
  list.forEach((e: unknown, i) => {
    if (!isTable(e)) return;
    for (const [k, v] of Object.entries(e)) {
      if (SECRET_KEYS.has(k) && literal(v)) out.push(`exporter[${i}].${k}`);
      if (k === 'header' && isTable(v)) {
        for (const [name, value] of Object.entries(v)) if (SECRET_HEADER.test(name) && literal(value)) out.push(`exporter[${i}].header.${name}`);
      }
    }
  });
  return out;
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
      report(path, (err as Error).message);
      return value;
    }
  }
  if (Array.isArray(value)) return value.map((v, i) => expandAll(v, [...path, i], env, report));
  if (isTable(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandAll(v, [...path, k], env, report)]));
  return value;
}

/** [sensor] as written: its step is null when the file leaves it out (sensorStep then chooses). */
type WrittenSensor = Omit<SensorConfig, 'stepMs' | 'stepFrom'> & { readonly stepMs: number | null };

function sensorConfig(raw: unknown, report: Report, paths: PathResolver, checkFiles = false): WrittenSensor {
  const t = raw === undefined ? {} : raw;
  if (!isTable(t)) {
    report(['sensor'], 'must be a table ([sensor])');
    return sensorConfig(undefined, report, paths, checkFiles);
  }
  for (const key of Object.keys(t)) if (!SENSOR_KEYS.includes(key)) report(['sensor', key], `unknown key; valid keys: ${SENSOR_KEYS.join(', ')}`);
  const at = (k: string): KeyPath => ['sensor', k];
  const kind = t['kind'];
  if (kind !== undefined && !SENSOR_KINDS.includes(kind as SensorKind)) report(at('kind'), `must be one of ${SENSOR_KINDS.join(', ')}, got ${show(kind)}`);
  const attribution = t['attribution'];
  if (attribution !== undefined && !ATTRIBUTION_MODELS.includes(attribution as AttributionModel)) {
    report(at('attribution'), `must be one of ${ATTRIBUTION_MODELS.join(', ')}, got ${show(attribution)}`);
  }
  const path = (k: string): string | undefined => {
    const v = optionalString(t, k, at, report);
    return v === undefined ? undefined : resolvePath(paths, at(k), v);
  };
  const idle = optionalWattsPerCpu(t, 'estimate_idle_watts_per_cpu', at, report);
  const max = optionalWattsPerCpu(t, 'estimate_max_watts_per_cpu', at, report);
  checkEstimate(idle, max, at, report);
  const inputFile = (k: string): string | undefined => {
    const file = path(k);
    const problem = file === undefined || !checkFiles ? null : unreadableFile(file);
    if (problem !== null) report(at(k), problem);
    return file;
  };
  const checked = <T>(k: string, value: T | undefined, problem: (v: T) => string | null): T | undefined => {
    const why = value === undefined ? null : problem(value);
    if (why !== null) report(at(k), why);
    return why === null ? value : undefined;
  };
  return {
    kind: kind as SensorKind | undefined,
    powercapPath: path('powercap_path'),
    procfsPath: path('procfs_path'),
    cgroupfsPath: path('cgroupfs_path'),
    attribution: ATTRIBUTION_MODELS.includes(attribution as AttributionModel) ? (attribution as AttributionModel) : undefined,
    reapedChildren: optionalBoolean(t, 'reaped_children', at, report),
    vm: optionalBoolean(t, 'vm', at, report),
    stepMs: t['step'] === undefined ? null : (convert(t['step'], sensorStepMs, at('step'), report) ?? null),
    estimateIdleWattsPerCpu: idle,
    estimateMaxWattsPerCpu: max,
    hwmonPath: path('hwmon_path'),
    hwmonChannels: optionalStrings(t, 'hwmon_channel', at, report)?.filter((c) => checked('hwmon_channel', c, hwmonChannelProblem) !== undefined),
    redfishUrl: checked('redfish_url', optionalString(t, 'redfish_url', at, report), redfishUrlProblem),
    redfishUser: optionalString(t, 'redfish_user', at, report),
    redfishPasswordFile: inputFile('redfish_password_file'),
    redfishCa: inputFile('redfish_ca'),
    redfishInsecure: optionalBoolean(t, 'redfish_insecure', at, report),
    redfishChassis: optionalString(t, 'redfish_chassis', at, report),
    redfishIntervalMs: checked('redfish_interval', t['redfish_interval'] === undefined ? undefined : convert(t['redfish_interval'], durationMs, at('redfish_interval'), report), redfishIntervalProblem),
  };
}

/** [sensor] step: a duration, at most what one timer waits (as every step flag). */
function sensorStepMs(value: unknown): number {
  const ms = durationMs(value);
  if (ms > MAX_SECONDS * 1000) throw new Error(`must be at most ${MAX_SECONDS} seconds (about 24.8 days), got ${show(value)}`);
  return ms;
}

/** Why scaph could not read `file` (missing, a directory, denied), or null. */
export function unreadableFile(file: string): string | null {
  try {
    accessSync(file, constants.R_OK);
    return statSync(file).isDirectory() ? `file "${file}" is a directory: give the file itself` : null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    return `file "${file}" ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`}`;
  }
}

/** A repeatable key: one string or a list of them. */
function optionalStrings(t: Readonly<Record<string, unknown>>, k: string, at: (k: string) => KeyPath, report: Report): string[] | undefined {
  const v = t[k];
  if (v === undefined) return undefined;
  const items = Array.isArray(v) ? (v as unknown[]) : [v];
  if (items.every((i): i is string => typeof i === 'string' && i !== '')) return items;
  report(at(k), `must be a string or a list of strings, got ${show(v)}`);
  return undefined;
}

/** An [[exporter]] as validated: no settings when its keys had problems (then the file is refused). */
interface CheckedExporter extends Omit<ExporterConfig, 'settings'> {
  readonly settings: ExporterSettings | null;
}

function hasSettings(e: CheckedExporter): e is ExporterConfig {
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
    const names = commands.map((c) => c.name).join(', ');
    report(type === undefined ? base : [...base, 'type'], type === undefined ? `missing key type (one of ${names})` : `unknown exporter type ${show(type)}; known types: ${names}`);
    return null;
  }
  const at = (k: string | null): KeyPath => (k === null ? base : [...base, k]);
  // A key whose ${ENV} failed was reported with the variable's name: what its placeholder value would make
  // of it (a file "${CREDENTIALS_DIRECTORY}/token" that does not exist) is noise.
  const judge = (issue: KeyIssue): boolean =>
    issue.key === null || ![issue.key, issue.key.replace(/_/g, '-')].some((k) => ctx.unexpanded.has(describe(at(k))));
  const ownRaw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (!RUN_KEYS.includes(k)) ownRaw[k] = v;
  const step = splitStepKeys(spec, ownRaw);
  for (const issue of step.issues.filter(judge)) report(at(issue.key), `(${spec.name}) ${issue.message}`);
  const resolved = resolvePathKeys(spec, step.rest, paths.baseDir);
  for (const p of resolved.paths) paths.paths.push({ where: describe(at(p.key)), path: p.path });
  const { args, stepFrom, refusal } = settleStep(spec, resolved.table, step, raw, ctx.sensorStepMs);
  if (refusal) report(at(step.writtenAs ?? optionKey(spec.stepOption)), `(${spec.name}) ${refusal}`);
  // The step option's problems are the key the user wrote (`step` for riemann's dispatch_interval).
  const keyOf = (issue: KeyIssue): KeyIssue => (issue.key === optionKey(spec.stepOption) && step.writtenAs ? { ...issue, key: step.writtenAs } : issue);
  for (const issue of args.issues.map(keyOf).filter(judge)) report(at(issue.key), `(${spec.name}) ${issue.message}`);
  if (args.issues.length === 0 && options.checkFiles) {
    for (const issue of missingInputFiles(spec, args.opts).filter(judge)) report(at(issue.key), `(${spec.name}) ${issue.message}`);
  }
  const spool = spoolConfig(raw, spec.name, pushTypes(commands), at, report, paths);
  const stepMs = args.settings?.stepMs ?? ctx.sensorStepMs ?? DEFAULT_SENSOR_STEP_MS;
  return { index, type: spec.name, spec, opts: args.opts, settings: args.settings, stepMs, stepFrom, spool };
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
  const parse = (seconds: number | undefined): ExporterArgs => exporterArgs(spec, seconds === undefined ? table : { ...table, [optionKey(spec.stepOption)]: seconds });
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
  const fraction = spec.stepFractionOption === undefined ? undefined : optionKey(spec.stepFractionOption);
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
  const problem = valueProblem(dir);
  if (problem !== null) {
    report(at('spool_dir'), problem);
    return null;
  }
  return {
    dir: resolvePath(paths, at('spool_dir'), dir),
    maxBytes: t['spool_max_bytes'] === undefined ? SPOOL_DEFAULTS.maxBytes : (convert(t['spool_max_bytes'], sizeBytes, at('spool_max_bytes'), report) ?? 0),
    maxAgeMs: t['spool_max_age'] === undefined ? SPOOL_DEFAULTS.maxAgeMs : (convert(t['spool_max_age'], durationMs, at('spool_max_age'), report) ?? 0),
  };
}

function convert<T>(value: unknown, fn: (v: unknown) => T, path: KeyPath, report: Report): T | undefined {
  try {
    return fn(value);
  } catch (err) {
    report(path, (err as Error).message);
    return undefined;
  }
}

function optionalString(t: Readonly<Record<string, unknown>>, k: string, at: (k: string) => KeyPath, report: Report): string | undefined {
  const v = t[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') {
    report(at(k), `must be a non-empty string, got ${show(v)}`);
    return undefined;
  }
  // The guard every flag has (parse.ts): not empty, not huge, no control character.
  const problem = valueProblem(v);
  if (problem === null) return v;
  report(at(k), problem);
  return undefined;
}

function optionalBoolean(t: Readonly<Record<string, unknown>>, k: string, at: (k: string) => KeyPath, report: Report): boolean | undefined {
  const v = t[k];
  if (v === undefined || typeof v === 'boolean') return v;
  report(at(k), `must be true or false, got ${show(v)}`);
  return undefined;
}

/** Watts per logical CPU of the estimate, as --estimate-*-watts-per-cpu takes them (above 0, at most MAX_WATTS_PER_CPU). */
function optionalWattsPerCpu(t: Readonly<Record<string, unknown>>, k: string, at: (k: string) => KeyPath, report: Report): number | undefined {
  const v = t[k];
  if (v === undefined) return undefined;
  if (typeof v === 'number' && v > 0 && v <= MAX_WATTS_PER_CPU) return v;
  report(at(k), `must be a number of watts per logical CPU above 0 and at most ${MAX_WATTS_PER_CPU}, got ${show(v)}`);
  return undefined;
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
