/**
 * Scaphandre's documented command lines for the terminal exporters and the global options, run against
 * the built CLI as typed (Scaphandre's docs: quickstart, stdout and json exporters, powercap_rapl sensor,
 * the qemu how-to). RAPL comes from a synthetic tree through SCAPHANDRE_POWERCAP_PATH, as the docs
 * describe for another path; long runs (-t 15, -t 60) are stopped with Ctrl-C once they have shown what
 * the docs say.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPORTER_COMMANDS } from '../../../src/exporters/index.js';
import { VERSION } from '../../../src/core/version.js';
import type { PowercapTree } from '../../support/fixtures/powercap-tree.js';
import { spawnFakeQemu, LIBVIRT_ARGS, type FakeQemu } from '../../support/fakes/fake-qemu.js';
import { SCAPH_BIN } from '../../support/fixtures/run-scaph.js';
import { freePort, waitFor } from '../../support/servers/free-port.js';
import { parseExposition, realTimeServerTree, SERVER2S_HOST_W, startScaph, type Finished } from '../../support/harness/compat.js';

let tree: PowercapTree;
let env: NodeJS.ProcessEnv;
let dir: string;

beforeAll(() => {
  ({ tree, env } = realTimeServerTree());
  dir = mkdtempSync(join(tmpdir(), 'scaph-compat-'));
});

afterAll(() => {
  tree?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** For help and version: nothing to measure. */
function scaph(args: readonly string[]) {
  return spawnSync(process.execPath, [SCAPH_BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
}

/** A measuring run to its end, without blocking this process: the tree's counters move on its timer. */
function measure(args: readonly string[]): Promise<Finished> {
  return startScaph(args, env).exited;
}

const RULE = `${'-'.repeat(60)}\n`;

/** Scaphandre's stdout layout: host line, a line per socket with its domains, the top consumers. */
function expectStdoutReport(report: string, topN = 5): void {
  const lines = report.split('\n');
  const host = lines.find((l) => l.startsWith('Host:\t')) ?? '';
  // The tree's timer may fire late on a loaded machine: each end of the shortest step (1 s) may read a
  // counter that much behind, on top of 10 %.
  const lagShare = (2 * (tree.worstLagMs + 10)) / 1000;
  expect(Math.abs(Number(/^Host:\t([\d.]+) W/.exec(host)?.[1]) - SERVER2S_HOST_W), `worst timer lag ${tree.worstLagMs.toFixed(0)} ms`).toBeLessThan(SERVER2S_HOST_W * (0.1 + lagShare));
  expect(lines).toContain('\tpackage\t\tcore\t\tuncore\t\tdram');
  expect(lines.filter((l) => /^Socket[01]\t[\d.]+ W \|\t[\d.]+ W\t[\d.]+ W\t[\d.]+ W$/.test(l))).toHaveLength(2);
  const top = lines.indexOf(`Top ${topN} consumers:`);
  expect(top).toBeGreaterThan(0);
  expect(lines[top + 1]).toBe('Power\t\tPID\tExe');
  expect(lines.slice(top + 2, top + 2 + topN).every((l) => /^[\d.]+ W\t\d+\t".*"$/.test(l))).toBe(true);
}

describe('quickstart and stdout exporter', () => {
  it.each([
    [['stdout', '-t', '15']],
    [['stdout']],
    [['stdout', '-t', '60']],
    [['stdout', '-t', '60', '-s', '5']],
  ])('scaph %j prints host, sockets with their domains and the top 5 consumers (stopped with Ctrl-C)', async (args) => {
    const run = startScaph(args, env);
    await run.waitForStdout((out) => out.includes(RULE));
    const done = await run.stop();
    expect(done.code).toBe(0);
    // The first report comes within a second of start, whatever the step: not after a whole -s 5.
    expectStdoutReport(done.stdout.slice(done.stdout.indexOf('Host:'), done.stdout.indexOf(RULE)));
  });

  it('scaph stdout -t 3 -s 1 ends by itself after its timeout, one report per step', async () => {
    const started = performance.now();
    const r = await measure(['stdout', '-t', '3', '-s', '1']);
    expect(r.code).toBe(0);
    const reports = r.stdout.split(RULE).filter((x) => x.includes('Host:'));
    expect(reports.length).toBeGreaterThanOrEqual(2);
    expect(reports.length).toBeLessThanOrEqual(3);
    expect(performance.now() - started).toBeLessThan(15_000);
    for (const report of reports) expectStdoutReport(report);
  });
});

interface JsonReport {
  readonly host: { readonly consumption: number; readonly timestamp: number; readonly value_source: string };
  readonly consumers: ReadonlyArray<{ readonly pid: number; readonly consumption: number }>;
  readonly sockets: ReadonlyArray<{ readonly id: number; readonly domains: ReadonlyArray<{ readonly name: string }> }>;
}

function expectReports(reports: readonly JsonReport[], stepS: number): void {
  for (const r of reports) {
    expect(r.host.value_source).toBe('powercap_rapl_pkg');
    expect(r.sockets.map((s) => [s.id, s.domains.map((d) => d.name)])).toEqual([
      [0, ['core', 'uncore', 'dram']],
      [1, ['core', 'uncore', 'dram']],
    ]);
    expect(r.consumers.length).toBeGreaterThan(0);
  }
  const gaps = reports.slice(1).map((r, i) => r.host.timestamp - (reports[i] as JsonReport).host.timestamp).sort((a, b) => a - b);
  const median = gaps[Math.floor(gaps.length / 2)] ?? 0;
  expect(median).toBeGreaterThan(stepS * 0.7);
  expect(median).toBeLessThan(stepS * 1.6);
  // Over the whole run, the energy the reports account for matches the tree's wattage.
  const meanW = reports.reduce((sum, r) => sum + r.host.consumption, 0) / reports.length / 1e6;
  expect(Math.abs(meanW - SERVER2S_HOST_W)).toBeLessThan(SERVER2S_HOST_W * 0.1);
}

describe('json exporter', () => {
  it('scaph json -t 10 -s 0 -n 100000000: a report every 100 ms (the docs\' example; stopped with Ctrl-C after 10+)', async () => {
    const run = startScaph(['json', '-t', '10', '-s', '0', '-n', '100000000'], env);
    await run.waitForStdout((out) => out.split('\n{').length > 12);
    const done = await run.stop();
    expect(done.code).toBe(0);
    const reports = JSON.parse(done.stdout) as JsonReport[];
    expect(reports.length).toBeGreaterThanOrEqual(12);
    expectReports(reports, 0.1);
  });

  it('scaph json -t 10 -s 0 -n 100000000 -f report.json writes the reports to the file, valid JSON', async () => {
    const cwd = mkdtempSync(join(dir, 'json-'));
    const file = join(cwd, 'report.json');
    const run = startScaph(['json', '-t', '10', '-s', '0', '-n', '100000000', '-f', 'report.json'], env, cwd);
    await waitFor(async () => (existsSync(file) && readFileSync(file, 'utf8').split('\n{').length > 6 ? true : null), 15_000, 'six reports in report.json', 50);
    const done = await run.stop();
    expect(done.code).toBe(0);
    expect(done.stdout).toBe('');
    expectReports(JSON.parse(readFileSync(file, 'utf8')) as JsonReport[], 0.1);
  });

  it('--step_nano (the spelling of the json page\'s help) and -t end the run by themselves', async () => {
    const r = await measure(['json', '-t', '1.5', '-s', '0', '--step_nano', '250000000']);
    expect(r.code, r.stderr).toBe(0);
    const reports = JSON.parse(r.stdout) as JsonReport[];
    expect(reports.length).toBeGreaterThanOrEqual(4);
    expect(reports.length).toBeLessThanOrEqual(6);
    expectReports(reports, 0.25);
  });

  it('scaph json -t 60 -s 5 gives its first report about a second after start, not a whole step later (stopped after it)', async () => {
    const run = startScaph(['json', '-t', '60', '-s', '5'], env);
    const banner = await run.waitForStderr((err) => err.includes('json exporter'));
    const first = await run.waitForStdout((out) => out.includes('"host"'));
    expect(first - banner).toBeLessThan(3_500);
    const done = await run.stop();
    expect(done.code).toBe(0);
    expect(JSON.parse(done.stdout) as JsonReport[]).toHaveLength(1);
  });
});

describe('global options and help, as the docs use them', () => {
  it('-s powercap_rapl EXPORTER reads RAPL; -s powercap_rapl -h prints the help', async () => {
    const r = await measure(['-s', 'powercap_rapl', 'json', '-t', '1.2', '-s', '0.5']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as JsonReport[])[0]?.host.value_source).toBe('powercap_rapl_pkg');
    const help = scaph(['-s', 'powercap_rapl', '-h']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('-s, --sensor <sensor>');
  });

  it('-V/--version on scaph and on every subcommand, listed in their help', () => {
    for (const sub of [...EXPORTER_COMMANDS.map((c) => c.name), 'run']) {
      const r = scaph([sub, '-V']);
      expect([sub, r.status, r.stdout.trim()]).toEqual([sub, 0, VERSION]);
    }
    expect(scaph(['riemann', '--version']).stdout.trim()).toBe(VERSION);
    expect(scaph(['-V']).stdout.trim()).toBe(VERSION);
    expect(scaph(['warp10', '-h']).stdout).toMatch(/-V, --version\s+print the version/);
  });

  it('every alias is in --help: -n and --step_nano (json), --dispatch (riemann), -s/--suffix (prometheus)', () => {
    expect(scaph(['json', '--help']).stdout).toMatch(/-n, --step-nano <ns>[\s\S]*--step_nano <ns>\s+same as --step-nano/);
    expect(scaph(['riemann', '--help']).stdout).toMatch(/-d, --dispatch-interval <seconds>[\s\S]*--dispatch <seconds>\s+same as --dispatch-interval/);
    expect(scaph(['prometheus', '--help']).stdout).toMatch(/-s, --suffix <path>[\s\S]*\n\s+--step <seconds>/);
    expect(scaph(['--help']).stdout).toMatch(/--sensor-buffer-per-socket-max-kB <kB>[\s\S]*--sensor-buffer-per-domain-max-kB <kB>/);
  });

  it('--sensor-buffer-per-socket-max-kB and --sensor-buffer-per-domain-max-kB are accepted, with one line saying they have no effect', async () => {
    const r = await measure(['--sensor-buffer-per-socket-max-kB', '1', '--sensor-buffer-per-domain-max-kB', '1', '--no-header', 'json', '-t', '1.2', '-s', '0.5']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual([
      'scaph: --sensor-buffer-per-socket-max-kB and --sensor-buffer-per-domain-max-kB have no effect: scaph keeps one reading per energy counter, not a buffer (you may remove them)',
    ]);
    expect((JSON.parse(r.stdout) as JsonReport[]).length).toBeGreaterThanOrEqual(1);
  });
});

describe('the qemu how-to: scaph qemu on the hypervisor, scaph --vm prometheus in the guest', () => {
  let guests: FakeQemu | null = null;
  afterAll(() => guests?.stop());

  it('the guest reads the tree the host writes (SCAPHANDRE_POWERCAP_PATH names it, as the sensor page says)', async () => {
    expect(scaph(['qemu', '--help']).stdout).toContain('/var/lib/libvirt/scaphandre');
    guests = spawnFakeQemu([{ args: LIBVIRT_ARGS('vm1'), dutyPercent: 50 }]);
    const trees = join(dir, 'libvirt-scaphandre');
    const host = startScaph(['qemu', '--path', trees, '-s', '1'], env);
    const energy = join(trees, 'vm1', 'intel-rapl:0', 'energy_uj');
    try {
      await waitFor(async () => (existsSync(energy) ? true : null), 15_000, 'the VM tree written by scaph qemu');
      const port = await freePort();
      const guest = startScaph(['--vm', 'prometheus', '-a', '127.0.0.1', '-p', String(port), '--step', '1'], { SCAPHANDRE_POWERCAP_PATH: join(trees, 'vm1') });
      try {
        const samples = await waitFor(async () => {
          const res = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => null);
          if (res?.status !== 200) return null;
          const s = parseExposition(await res.text());
          const hostPower = s.find((x) => x.name === 'scaph_host_power_microwatts')?.value ?? 0;
          return hostPower > 0 ? s : null;
        }, 20_000, 'the guest\'s host power from the VM tree');
        // The guest's "host" is the VM: its power is what the hypervisor attributes to it, well below the box's.
        const guestW = (samples.find((x) => x.name === 'scaph_host_power_microwatts')?.value ?? 0) / 1e6;
        expect(guestW).toBeGreaterThan(0);
        expect(guestW).toBeLessThan(SERVER2S_HOST_W);
        expect(samples.filter((x) => x.name === 'scaph_socket_power_microwatts').map((x) => x.labels['socket_id'])).toEqual(['0']);
      } finally {
        expect((await guest.stop()).code).toBe(0);
      }
    } finally {
      expect((await host.stop()).code).toBe(0);
    }
  });
});
