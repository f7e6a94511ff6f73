/**
 * An [[exporter]] key takes what its flag takes: a list (or one value) for a repeatable flag, with the
 * same result as repeating the flag; one value for any other, a list or a table refused naming the key
 * (the command line would keep only the last of repeated values, so a file would drop some silently).
 */
import type { Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { exporterArgs, isRepeatable, specCommand, validKeys } from '../../../src/config/exporter-options.js';
import { commandFor, type ExporterCommandSpec } from '../../../src/exporters/command.js';
import { EXPORTER_COMMANDS } from '../../../src/exporters/index.js';
import { AliasOption } from '../../../src/exporters/parse.js';

/** Keys a table must give for the subcommand to parse at all. */
const REQUIRED: Record<string, Record<string, unknown>> = {
  'remote-write': { url: 'http://x/api/v1/write' },
  warp10: { write_token: 't' },
};

/** The repeatable keys of each exporter: a new one is a decision, made here too. */
const REPEATABLE: Record<string, readonly string[]> = {
  stdout: ['container_regex', 'drop_labels', 'drop_metrics', 'exclude_process_regex', 'keep_metrics', 'regex_filter'],
  json: ['container_regex', 'exclude_process_regex', 'process_regex'],
  prometheus: ['drop_labels', 'drop_metrics', 'exclude_process_regex', 'keep_metrics', 'process_regex'],
  'prometheus-push': ['drop_labels', 'drop_metrics', 'exclude_process_regex', 'keep_metrics', 'process_regex'],
  'remote-write': ['drop_labels', 'drop_metrics', 'exclude_process_regex', 'header', 'keep_metrics', 'label', 'process_regex'],
  otlp: ['drop_labels', 'drop_metrics', 'exclude_process_regex', 'header', 'keep_metrics', 'process_regex', 'resource_attribute'],
  riemann: ['drop_labels', 'drop_metrics', 'exclude_process_regex', 'keep_metrics', 'process_regex', 'tag'],
  warp10: ['drop_labels', 'drop_metrics', 'exclude_process_regex', 'keep_metrics', 'label', 'process_regex'],
  qemu: [],
};

/** Two values each repeatable key accepts (stdout needs --raw-metrics for the filters). */
const TWO_VALUES: Record<string, readonly [string, string]> = {
  drop_labels: ['cmdline', 'exe'],
  keep_metrics: ['scaph_host_.*', 'scaph_process_.*'],
  drop_metrics: ['scaph_process_memory_.*', 'scaph_host_load_avg_.*'],
  process_regex: ['^nginx', 'python3?'],
  regex_filter: ['^nginx', 'python3?'],
  container_regex: ['^web', 'db$'],
  exclude_process_regex: ['^kworker', '^ksoftirqd'],
  label: ['dc=par1', 'rack=r7'],
  header: ['X-Scope-OrgID=tenant', 'X-Other=1'],
  resource_attribute: ['deployment.environment.name=prod', 'k8s.cluster.name=par1'],
  tag: ['blue', 'green'],
};

const keyOf = (o: Option): string => (o.long ?? o.flags).replace(/^--/, '').replace(/-/g, '_');
/** stdout needs --raw-metrics for the filters; --container-regex (stdout, json) needs --containers. */
const EXTRA: Record<string, Record<string, unknown>> = { stdout: { raw_metrics: true, containers: true }, json: { containers: true } };
const base = (spec: ExporterCommandSpec): Record<string, unknown> => ({ ...REQUIRED[spec.name], ...EXTRA[spec.name] });

/** What commander gives for the same flags on a command line. */
function cliOpts(spec: ExporterCommandSpec, argv: string[]): Record<string, unknown> {
  const cmd = commandFor(spec).exitOverride();
  cmd.parse(argv, { from: 'user' });
  return cmd.opts();
}

/** An option value as tests compare it: compiled patterns by their sources. */
function comparable(v: unknown): unknown {
  return typeof v === 'object' && v !== null && 'sources' in v ? (v as { sources: unknown }).sources : v;
}

describe('[[exporter]] keys: a list for a repeatable flag, one value for the others', () => {
  it.each(EXPORTER_COMMANDS.map((s) => [s.name, s] as const))('%s: the repeatable keys are the declared ones', (_name, spec) => {
    const cmd = specCommand(spec);
    const repeatable = cmd.options.filter(isRepeatable).map(keyOf).sort();
    expect(repeatable).toEqual(REPEATABLE[spec.name]);
    for (const key of repeatable) expect(validKeys(spec, cmd)).toContain(key);
  });

  it.each(EXPORTER_COMMANDS.map((s) => [s.name, s] as const))('%s: a list, one value, or the flag repeated give the same', (_name, spec) => {
    for (const key of REPEATABLE[spec.name] ?? []) {
      const [a, b] = TWO_VALUES[key] as readonly [string, string];
      const flag = `--${key.replace(/_/g, '-')}`;
      const required = Object.entries(REQUIRED[spec.name] ?? {}).flatMap(([k, v]) => [`--${k.replace(/_/g, '-')}`, String(v)]);
      const raw = Object.keys(EXTRA[spec.name] ?? {}).map((k) => `--${k.replace(/_/g, '-')}`);
      const attribute = (specCommand(spec).options.find((o) => keyOf(o) === key) as Option).attributeName();

      const list = exporterArgs(spec, { ...base(spec), [key]: [a, b] });
      expect(list.issues, `${spec.name} ${key}`).toEqual([]);
      const repeated = cliOpts(spec, [...required, ...raw, flag, a, flag, b]);
      expect(comparable(list.opts[attribute]), `${spec.name} ${key}`).toEqual(comparable(repeated[attribute]));

      const one = exporterArgs(spec, { ...base(spec), [key]: a });
      expect(one.issues).toEqual([]);
      expect(comparable(one.opts[attribute])).toEqual(comparable(cliOpts(spec, [...required, ...raw, flag, a])[attribute]));
      expect(comparable(one.opts[attribute])).not.toEqual(comparable(list.opts[attribute]));
    }
  });

  it.each(EXPORTER_COMMANDS.map((s) => [s.name, s] as const))('%s: every other key with a value refuses a list and a table, naming itself', (_name, spec) => {
    const cmd = specCommand(spec);
    const single = cmd.options.filter(
      (o) => (o.required || o.optional) && !isRepeatable(o) && !(o instanceof AliasOption) && validKeys(spec, cmd).includes(keyOf(o)),
    );
    expect(single.length).toBeGreaterThan(0);
    for (const o of single) {
      const key = keyOf(o);
      const list = exporterArgs(spec, { ...base(spec), [key]: ['1', '2'] });
      expect(list.settings).toBeNull();
      expect(list.issues).toEqual([{ key, message: `takes one value (${o.long as string} cannot be repeated), got a list of 2: write one value` }]);
      const table = exporterArgs(spec, { ...base(spec), [key]: { a: '1' } });
      expect(table.issues).toEqual([{ key, message: `takes one value (${o.long as string} cannot be repeated), got a table: write one value` }]);
    }
  });

  it('exclude_process_regex = ["a", "b"] leaves out both (the case of issue 27), on every exporter that selects', () => {
    for (const spec of EXPORTER_COMMANDS.filter((s) => s.name !== 'qemu')) {
      // stdout's table (not --raw-metrics, which prints every process, as Scaphandre does).
      const args = exporterArgs(spec, { ...REQUIRED[spec.name], exclude_process_regex: ['^kworker', '^ksoftirqd'] });
      expect(args.issues).toEqual([]);
      const exclude = args.settings?.selection?.exclude;
      expect(exclude?.sources).toEqual(['^kworker', '^ksoftirqd']);
      expect(['kworker/0:1', 'ksoftirqd/3', 'nginx'].map((n) => exclude?.test(n))).toEqual([true, true, false]);
    }
  });

  it('max_top_consumers = [5, 10] is refused: the command line would have kept 10 alone', () => {
    const spec = EXPORTER_COMMANDS.find((s) => s.name === 'prometheus') as ExporterCommandSpec;
    expect(exporterArgs(spec, { max_top_consumers: [5, 10] }).issues).toEqual([
      { key: 'max_top_consumers', message: 'takes one value (--max-top-consumers cannot be repeated), got a list of 2: write one value' },
    ]);
    expect(exporterArgs(spec, { max_top_consumers: [] }).issues).toEqual([
      { key: 'max_top_consumers', message: 'takes one value (--max-top-consumers cannot be repeated), got a list of 0: write one value' },
    ]);
    expect(cliOpts(spec, ['--max-top-consumers', '5', '--max-top-consumers', '10'])['maxTopConsumers']).toBe(10);
  });

  it('a pattern in a list that RE2 does not run is refused, naming the key', () => {
    const spec = EXPORTER_COMMANDS.find((s) => s.name === 'riemann') as ExporterCommandSpec;
    const args = exporterArgs(spec, { process_regex: ['^nginx', '(a)\\1'] });
    expect(args.settings).toBeNull();
    expect(args.issues).toHaveLength(1);
    expect(args.issues[0]?.key).toBe('process_regex');
    expect(args.issues[0]?.message).toMatch(/^--process-regex "\(a\)\\1" uses a backreference/);
  });
});

describe('a number with its unit: a key in seconds or bytes takes what the step keys take', () => {
  const spec = (name: string): ExporterCommandSpec => EXPORTER_COMMANDS.find((s) => s.name === name) as ExporterCommandSpec;

  it('seconds: "15s", "1m", "2500ms", "2h" are the option in seconds; a number is as on the command line', () => {
    const cases: ReadonlyArray<readonly [string, Record<string, unknown>, string, string, number]> = [
      ['prometheus', { health_max_age: '15s' }, '--health-max-age', 'healthMaxAge', 15],
      ['prometheus', { health_max_age: ' 1m ' }, '--health-max-age', 'healthMaxAge', 60],
      ['prometheus', { step: 0.5, health_max_age: '2500ms' }, '--health-max-age', 'healthMaxAge', 2.5],
      ['prometheus', { health_max_age: 20 }, '--health-max-age', 'healthMaxAge', 20],
      ['remote-write', { ...REQUIRED['remote-write'], min_backoff: '500ms' }, '--min-backoff', 'minBackoff', 0.5],
      ['remote-write', { ...REQUIRED['remote-write'], max_age: '2h' }, '--max-age', 'maxAge', 7200],
      ['riemann', { ttl: '1d' }, '--ttl', 'ttl', 86_400],
    ];
    for (const [name, table, flag, attribute, seconds] of cases) {
      const args = exporterArgs(spec(name), table);
      expect(args.issues, `${name} ${JSON.stringify(table)}`).toEqual([]);
      expect(args.argv).toEqual(expect.arrayContaining([flag, String(seconds)]));
      expect(args.opts[attribute]).toBe(seconds);
    }
    expect((exporterArgs(spec('prometheus'), { health_max_age: '1m' }).settings as unknown as { healthMaxAgeMs: number }).healthMaxAgeMs).toBe(60_000);
  });

  it('bytes: "1KiB" is 1024, "2KB" 2000; 0 stays "always"', () => {
    const warp10 = spec('warp10');
    for (const [written, bytes] of [['1KiB', 1024], ['2KB', 2000], [0, 0]] as const) {
      const args = exporterArgs(warp10, { ...REQUIRED['warp10'], gzip_threshold: written });
      expect(args.issues).toEqual([]);
      expect(args.opts['gzipThreshold']).toBe(bytes);
    }
  });

  it('what the unit does not make a valid value is refused, naming the option; a key without a unit keeps its text', () => {
    const prometheus = spec('prometheus');
    expect(exporterArgs(prometheus, { health_max_age: '15 parsecs' }).issues).toEqual([
      { key: 'health_max_age', message: '--health-max-age must be a positive number of seconds, got "15 parsecs"' },
    ]);
    expect(exporterArgs(prometheus, { health_max_age: '30d' }).issues).toEqual([
      { key: 'health_max_age', message: '--health-max-age must be at most 2147483 seconds (about 24.8 days), got "2592000"' },
    ]);
    expect(exporterArgs(prometheus, { health_max_age: '0s' }).issues).toEqual([
      { key: 'health_max_age', message: 'must be a positive number of seconds or a duration like "500ms", "30s", "24h", "7d", got "0s"' },
    ]);
    // Below two steps, as on the command line.
    expect(exporterArgs(prometheus, { health_max_age: '9s' }).issues[0]?.message).toMatch(/^--health-max-age 9 is shorter than 2 steps \(--step 5\)/);
    // --suffix is a path, not a number: "30s" is its text.
    expect(exporterArgs(prometheus, { suffix: '30s' }).opts['suffix']).toBe('30s');
  });
});
