/**
 * The selection options on every exporter subcommand that sends process figures: the same flags and
 * [[exporter]] keys, Scaphandre's spellings kept on json and stdout, no selection by default on the metric
 * exporters (every process, as before), and a selector of its own per exporter.
 */
import { describe, expect, it } from 'vitest';
import { exporterArgs, specCommand } from '../../../src/config/exporter-options.js';
import { silentLogger } from '../../../src/core/log.js';
import { MetricsView } from '../../../src/core/metrics-view.js';
import type { ExporterCommandSpec } from '../../../src/exporters/command.js';
import { EXPORTER_COMMANDS } from '../../../src/exporters/index.js';
import { PrometheusExporter } from '../../../src/exporters/prometheus/exporter.js';
import { commandPlan } from '../../support/fixtures/command-plan.js';
import { makeProcess, makeSample } from '../../support/fixtures/sample.js';
import { plainSelection, selectionOptions, type PlainSelection } from '../../support/fixtures/selection.js';
import { promtoolCheckMetrics, remarkKinds } from '../../support/servers/promtool.js';

/** Keys a run config must give for the subcommand to parse at all. */
const REQUIRED: Record<string, Record<string, unknown>> = { 'remote-write': { url: 'http://x/api/v1/write' } };
const SELECTING = EXPORTER_COMMANDS.filter((spec) => spec.name !== 'qemu');
const ctx = { logger: silentLogger(), hostname: 'h', version: '1' };

function spec(name: string): ExporterCommandSpec {
  const found = EXPORTER_COMMANDS.find((s) => s.name === name);
  if (!found) throw new Error(`no exporter ${name}`);
  return found;
}

async function selectionFromFlags(name: string, argv: string[]): Promise<PlainSelection | null> {
  return plainSelection((await commandPlan(spec(name), argv, ctx)).selection ?? null);
}

function selectionOf(spec: ExporterCommandSpec, table: Record<string, unknown>): PlainSelection | null {
  const args = exporterArgs(spec, { ...REQUIRED[spec.name], ...table });
  expect(args.issues).toEqual([]);
  return plainSelection(args.settings?.selection ?? null);
}

const plain = (over: Parameters<typeof selectionOptions>[0]): PlainSelection | null => plainSelection(selectionOptions(over));

describe('selection options', () => {
  it('every exporter but qemu (which must write every VM) has them, with the same long names', () => {
    expect(SELECTING.map((s) => s.name)).toEqual(['stdout', 'json', 'prometheus', 'prometheus-push', 'remote-write', 'otlp', 'riemann', 'warp10']);
    for (const command of EXPORTER_COMMANDS) {
      const longs = specCommand(command).options.map((o) => o.long);
      for (const flag of ['--max-top-consumers', '--min-process-power', '--process-regex', '--exclude-process-regex', '--selection-hold-steps']) {
        expect(longs.includes(flag), `${command.name} ${flag}`).toBe(command.name !== 'qemu');
      }
    }
  });

  it.each(SELECTING.filter((s) => s.name !== 'stdout' && s.name !== 'json').map((s) => [s.name, s] as const))(
    '%s: no selection by default (every process, no others series); the keys of a run config select',
    (_name, command) => {
      expect(selectionOf(command, {})).toBeNull();
      // The hold alone selects nothing.
      expect(selectionOf(command, { selection_hold_steps: 2 })).toBeNull();
      expect(selectionOf(command, { max_top_consumers: 20, min_process_power: 0.05, process_regex: 'nginx', exclude_process_regex: '^kworker' })).toEqual({
        maxTopConsumers: 20,
        minPowerUw: 50_000,
        include: ['nginx'],
        exclude: ['^kworker'],
        holdSteps: 5,
      });
      expect(selectionOf(command, { min_process_power: 1.5, selection_hold_steps: 0 })).toEqual(plain({ minPowerUw: 1_500_000 }));
    },
  );

  it("json and stdout keep Scaphandre's spellings and defaults (top 10, top 5), without a hold", async () => {
    expect(await selectionFromFlags('json', ['-m', '3', '-r', 'fire'])).toEqual({ ...plain({ maxTopConsumers: 3 }), include: ['fire'] });
    expect(selectionOf(spec('json'), {})).toEqual(plain({ maxTopConsumers: 10 }));
    expect(selectionOf(spec('stdout'), {})).toEqual(plain({ maxTopConsumers: 5 }));
    expect(await selectionFromFlags('stdout', ['-p', '7', '-r', 'x'])).toEqual({ ...plain({ maxTopConsumers: 7 }), include: ['x'] });
    // The pattern flags are repeatable: any of the patterns (RE2), alias and flag alike.
    expect(await selectionFromFlags('json', ['-r', 'fire', '--process-regex', 'fox', '--exclude-process-regex', '^k', '--exclude-process-regex', 'd$'])).toEqual({
      ...plain({ maxTopConsumers: 10 }),
      include: ['fire', 'fox'],
      exclude: ['^k', 'd$'],
    });
    expect(await selectionFromFlags('stdout', ['-r', 'a', '--process-regex', 'b'])).toEqual({ ...plain({ maxTopConsumers: 5 }), include: ['a', 'b'] });
    // Scaphandre 0.5's --process and --regex, 1.0's --processes: aliases of -p and -r on stdout.
    expect(await selectionFromFlags('stdout', ['--process', '20', '--regex', 'fire'])).toEqual({ ...plain({ maxTopConsumers: 20 }), include: ['fire'] });
    expect(await selectionFromFlags('stdout', ['--processes', '7'])).toEqual(plain({ maxTopConsumers: 7 }));
    // Scaphandre 1.0's json --container-regex (stdout too), with --containers: the container's name.
    for (const name of ['json', 'stdout']) {
      const { selection } = await commandPlan(spec(name), ['--containers', '--container-regex', '^web', '--container-regex', 'db$'], ctx);
      expect(selection?.containerInclude?.sources).toEqual(['^web', 'db$']);
      await expect(commandPlan(spec(name), ['--container-regex', '^web'], ctx)).rejects.toThrow('--container-regex selects processes by the name of their container: add --containers');
    }
    // The shared names are accepted on stdout's command line as aliases of -p and -r.
    expect(await selectionFromFlags('stdout', ['--max-top-consumers', '8', '--process-regex', 'y', '--exclude-process-regex', 'z'])).toEqual(
      { ...plain({ maxTopConsumers: 8 }), include: ['y'], exclude: ['z'] },
    );
  });

  it('gives each exporter a selection of its own: two exporters built alike select independently', async () => {
    const argv = ['--max-top-consumers', '1', '--selection-hold-steps', '1', '-p', '0'];
    const [a, b] = [await commandPlan(spec('prometheus'), argv, ctx), await commandPlan(spec('prometheus'), argv, ctx)];
    const sample = (i: number) => makeSample({ timestampMs: 1_000_000 + i * 2000, processes: [makeProcess({ pid: 1, powerUw: i === 0 ? 5 : 1 }), makeProcess({ pid: 2, powerUw: i === 0 ? 1 : 5 })] });
    // a sees both samples and holds pid 1 one more step; b sees only the second, where pid 2 is the top one.
    a.exporter.export(sample(0));
    a.exporter.export(sample(1));
    b.exporter.export(sample(1));
    const pids = (text: string | null): string[] => [...(text ?? '').matchAll(/^scaph_process_power_consumption_microwatts\{pid="(\d+)"/gm)].map((m) => m[1] as string);
    expect(pids(await (a.exporter as PrometheusExporter).render('text'))).toEqual(['1', '2']);
    expect(pids(await (b.exporter as PrometheusExporter).render('text'))).toEqual(['2']);
  });
});

describe('prometheus with a selection', () => {
  it('advances the selection every step, scraped or not, and renders the others', async () => {
    const e = new PrometheusExporter({ address: '127.0.0.1', port: 0, suffix: 'metrics', view: new MetricsView({ selection: selectionOptions({ maxTopConsumers: 1 }), version: '1' }), logger: silentLogger() });
    // Three steps of 2 s (each counter grows by power × 2 s), no scrape in between: the others energy has the
    // growth of the two after the first (the baseline).
    const processes = (i: number) => [5_000_000, 3_000_000, 1_000_000].map((powerUw, k) => makeProcess({ pid: k + 1, powerUw, energyUj: powerUw * 2 * (i + 1) }));
    for (let i = 0; i < 3; i++) e.export(makeSample({ timestampMs: 1_000_000 + i * 2000, processes: processes(i) }));
    const text = (await e.render('text')) ?? '';
    expect(text).toMatch(/^scaph_process_power_consumption_microwatts\{pid="1",/m);
    expect(text).not.toMatch(/^scaph_process_power_consumption_microwatts\{pid="2",/m);
    expect(text).toContain('\nscaph_process_others_power_microwatts 4000000\n');
    expect(text).toContain('\nscaph_process_others_energy_microjoules 16000000\n');
    expect(text).toContain('\nscaph_process_others_count 2\n');
    const check = await promtoolCheckMetrics(text);
    expect(check.errors).toEqual([]);
    // Lint remarks only, the issue's name scaph_process_others_count among them (a gauge ending in _count).
    expect(remarkKinds(check.remarks)).toEqual([
      'counter metrics should have "_total" suffix',
      'non-histogram and non-summary metrics should not have "_count" suffix',
      'use base unit "joules" instead of "microjoules"',
    ]);
  });
});
