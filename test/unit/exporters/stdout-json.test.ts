import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JsonExporter, sampleToJsonReport } from '../../../src/exporters/json/exporter.js';
import { formatSampleTable, StdoutExporter } from '../../../src/exporters/stdout/exporter.js';
import { silentLogger } from '../../../src/core/log.js';
import { MetricsView } from '../../../src/core/metrics-view.js';
import { ProcessSelector, type SelectionOptions } from '../../../src/core/process-selection.js';
import { stdoutCommand } from '../../../src/exporters/stdout/command.js';
import type { Sample } from '../../../src/core/sample.js';
import { commandPlan } from '../../support/fixtures/command-plan.js';
import { makeProcess, makeSample } from '../../support/fixtures/sample.js';
import { anywhere, selectionOptions } from '../../support/fixtures/selection.js';

/** The table of one sample, with a fresh selector (its first step). */
function table(sample: Sample, options: SelectionOptions): string {
  return formatSampleTable(sample, new ProcessSelector(options).select(sample), options);
}

describe('stdout layout', () => {
  it('prints the host line, one line per socket with its domains, and the top consumers', () => {
    const text = table(makeSample(), selectionOptions({ maxTopConsumers: 2 }));
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^Host:\t100\.000000 W from powercap_rapl_pkg \(active 40\.000000 W, idle 60\.000000 W, CPU 40\.0 % busy\)$/);
    expect(lines[1]).toBe('\tpackage\t\tcore\t\tuncore\t\tdram');
    expect(lines[2]).toBe('Socket0\t45.000000 W |\t30.000000 W\t2.000000 W\t5.000000 W');
    expect(lines[3]).toBe('Socket1\t40.000000 W |\t25.000000 W\t----\t10.000000 W');
    expect(lines[4]).toBe('Top 2 consumers:');
    expect(lines[6]).toBe('30.000000 W\t42\t"/usr/bin/proc42"');
    expect(lines[7]).toBe('8.000000 W\t7\t"/usr/bin/proc7"');
    // What the list leaves out, then what no live process explains: the column adds up to host power.
    expect(lines[8]).toBe('2.000000 W\t-\tothers (1 process not listed)');
    expect(lines[9]).toBe('60.000000 W\t-\tunattributed (busy CPU time no live process explains; shares of host power)');
    expect(lines[10]).toBe('-'.repeat(60));
  });

  it('filters consumers with -r', () => {
    const text = table(makeSample(), selectionOptions({ maxTopConsumers: 5, include: anywhere('sshd') }));
    expect(text).toContain('Top 5 consumers matching sshd:\n');
    expect(text).toContain('\t7\t');
    expect(text).not.toContain('\t42\t');
    expect(text).toContain('32.000000 W\t-\tothers (2 processes not listed)');
  });

  it('prints raw metrics with --raw-metrics', () => {
    let out = '';
    const e = new StdoutExporter({ selection: null, rawMetrics: true, view: new MetricsView(), write: (t) => (out += t) });
    e.export(makeSample());
    expect(out).toContain('scaph_socket_power_microwatts{socket_id="1"} 40000000');
    expect(out.match(/^scaph_process_power_consumption_microwatts\{/gm)).toHaveLength(3);
  });

  it('--raw-metrics prints every process, as Scaphandre does: -p chooses the rows of the table only', async () => {
    const plan = await commandPlan(stdoutCommand, ['--raw-metrics', '-p', '1'], { logger: silentLogger(), hostname: 'h', version: '' });
    expect(plan.selection).toBeNull();
    const table = await commandPlan(stdoutCommand, ['-p', '1'], { logger: silentLogger(), hostname: 'h', version: '' });
    expect(table.selection?.maxTopConsumers).toBe(1);
  });
});

describe('json report', () => {
  it('follows Scaphandre schema with every socket and the active/idle split', () => {
    const sample = makeSample();
    const selection = new ProcessSelector(selectionOptions({ maxTopConsumers: 2 })).select(sample);
    const r = sampleToJsonReport(sample, selection, { resources: true, containers: false, maxCmdlineLength: 0 });
    expect(r.host).toEqual({ consumption: 100_000_000, active_consumption: 40_000_000, idle_consumption: 60_000_000, unattributed_consumption: 60_000_000, attribution: 'host', value_source: 'powercap_rapl_pkg', timestamp: 1767225600 });
    expect(r.sockets.map((s) => s.id)).toEqual([0, 1]);
    expect(r.sockets[1]?.domains).toEqual([
      { name: 'core', consumption: 25_000_000, timestamp: 1767225600 },
      { name: 'dram', consumption: 10_000_000, timestamp: 1767225600 },
    ]);
    expect(r.consumers).toHaveLength(2);
    expect(r.consumers[0]).toMatchObject({ pid: 42, exe: '/usr/bin/proc42', consumption: 30_000_000 });
    // The process not listed, in µW and µJ (0 in the first report: the baseline of the energy that follows).
    expect(r.others).toEqual({ consumption: 2_000_000, energy: 0, count: 1 });
    expect(r.consumers[0]?.resources_usage).toEqual({ cpu_usage: 5, cpu_usage_unit: '%', memory_usage: 4096, memory_usage_unit: 'Bytes', memory_virtual_usage: 8192, memory_virtual_usage_unit: 'Bytes' });
  });

  it('writes a valid JSON array to a file, closed at stop', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'scaph-json-')), 'out.json');
    const e = new JsonExporter({ file, view: new MetricsView({ selection: selectionOptions({ maxTopConsumers: 10 }) }), resources: false, containers: false, maxCmdlineLength: 0 });
    await e.start();
    expect(readFileSync(file, 'utf8')).toBe('[');
    e.export(makeSample());
    e.export(makeSample({ processes: [makeProcess({ pid: 99, cmdline: 'a "quoted"\nline' })] }));
    await e.stop();
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Array<{ consumers: Array<{ cmdline: string }> }>;
    expect(parsed).toHaveLength(2);
    expect(parsed[1]?.consumers[0]?.cmdline).toBe('a "quoted"\nline');
  });

  it('is an empty array when stopped before the first report', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'scaph-json-')), 'out.json');
    const e = new JsonExporter({ file, view: new MetricsView({ selection: selectionOptions({ maxTopConsumers: 10 }) }), resources: false, containers: false, maxCmdlineLength: 0 });
    await e.start();
    await e.stop();
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual([]);
  });
});
