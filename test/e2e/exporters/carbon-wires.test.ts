/**
 * Emissions on every wire, in one `scaph run` with [carbon] (a fixed 250 g/kWh, per process): remote-write,
 * Riemann, Warp 10 (the test servers), Prometheus scrape, stdout --raw-metrics and json. Each carries the host
 * and unattributed counters, the intensity with its source, and a counter per process; in every sample the
 * processes' grams + the unattributed grams = the host's, to the microgram, as each wire encodes them.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScaph, type ScaphRun } from '../../support/fixtures/run-scaph.js';
import { generateProcesses, ProcfsTree } from '../../support/fixtures/procfs-tree.js';
import { tempDir } from '../../support/harness/bad-input.js';
import { remoteWriteEntries, riemannEntries, textSeries, warp10Entries, type WireEntry, type WireSeries } from '../../support/harness/wire-series.js';
import { freePort, waitFor } from '../../support/servers/free-port.js';
import { startRecordingHttpServer, type RecordingHttpServer } from '../../support/servers/recording-http.js';
import { FakeRiemannServer } from '../../support/servers/riemann.js';
import { Warp10TestServer } from '../../support/servers/warp10.js';

let tree: ProcfsTree;
let stopCpu: () => void;
let rw: RecordingHttpServer;
let riemann: FakeRiemannServer;
let warp10: Warp10TestServer;
let run: ScaphRun;
let scraped: string;
let jsonFile: string;

beforeAll(async () => {
  const processes = generateProcesses(8);
  tree = ProcfsTree.create({ cpuCount: 2, processes });
  stopCpu = tree.runCpu({ user: 12, idle: 8 }, processes.slice(0, 5).map((p, i) => [p, i + 1] as const), 50);
  [rw, riemann, warp10] = await Promise.all([startRecordingHttpServer(), FakeRiemannServer.start(), Warp10TestServer.start()]);
  const promPort = await freePort();
  const dir = tempDir('scaph-carbon-wires-');
  jsonFile = join(dir, 'reports.json');
  const config = join(dir, 'scaph.toml');
  writeFileSync(
    config,
    [
      `[sensor]\nkind = "estimate"\nstep = 0.5\nprocfs_path = "${tree.root}"`,
      '[carbon]\nintensity = 250\nper_process = true',
      `[[exporter]]\ntype = "remote-write"\nurl = "http://127.0.0.1:${rw.port}/api/v1/write"\njob = "carbon"\nstep = 0.5`,
      `[[exporter]]\ntype = "riemann"\naddress = "127.0.0.1"\nport = ${riemann.port}\ndescription = false\nstep = 0.5`,
      `[[exporter]]\ntype = "warp10"\nhost = "127.0.0.1"\nport = ${warp10.port}\nwrite_token = "write-token"\nstep = 0.5`,
      `[[exporter]]\ntype = "prometheus"\naddress = "127.0.0.1"\nport = ${promPort}\nstep = 0.5`,
      '[[exporter]]\ntype = "stdout"\nraw_metrics = true\nstep = 0.5',
      `[[exporter]]\ntype = "json"\nfile = "${jsonFile}"\nstep = 0.5`,
      '',
    ].join('\n\n'),
  );
  const agent = startScaph(['--no-header', 'run', '-c', config], { timeoutMs: 60_000 });
  try {
    await waitFor(async () => (riemannEntries(riemann.events).filter((e) => !e.self).length >= 4 && warp10.requests.length >= 4 && rw.requests.length >= 4 ? true : null), 30_000, 'four sends on every push transport');
    scraped = await waitFor(async () => {
      const res = await fetch(`http://127.0.0.1:${promPort}/metrics`);
      const text = res.ok ? await res.text() : '';
      return text.includes('scaph_process_carbon_emissions_grams') ? text : null;
    }, 15_000, 'a scrape with carbon');
  } finally {
    run = await agent.stop();
  }
}, 120_000);

afterAll(async () => {
  stopCpu?.();
  await Promise.all([riemann?.stop(), warp10?.stop(), new Promise<void>((r) => (rw ? rw.server.close(() => r()) : r()))]);
  tree?.cleanup();
});

function wires(): Record<string, readonly WireEntry[]> {
  const stdoutBlocks = run.stdout.split('-'.repeat(60)).filter((b) => b.includes('scaph_'));
  return {
    'remote-write': remoteWriteEntries(rw.requests.map((r) => r.body)),
    riemann: riemannEntries(riemann.events),
    warp10: warp10Entries(warp10.requests.map((r) => r.text)),
    prometheus: [{ self: false, series: textSeries(scraped) }],
    'stdout --raw-metrics': stdoutBlocks.map((b) => ({ self: false, series: textSeries(b) })),
  };
}

const ug = (grams: number): number => Math.round(grams * 1e6);
const of = (series: readonly WireSeries[], family: string): WireSeries[] => series.filter((s) => s.family === family);

describe('carbon on every wire (one scaph run, six exporters)', () => {
  it('the run ended cleanly', () => {
    expect(run.code, run.stderr).toBe(0);
  });

  it.each(['remote-write', 'riemann', 'warp10', 'prometheus', 'stdout --raw-metrics'])('%s: the counters and the intensity, processes + unattributed = host in every sample', (name) => {
    const entries = (wires()[name] as WireEntry[]).filter((e) => !e.self && e.series.some((s) => s.family === 'scaph_host_carbon_emissions_grams'));
    expect(entries.length).toBeGreaterThanOrEqual(1);
    let grew = false;
    for (const e of entries) {
      const [host] = of(e.series, 'scaph_host_carbon_emissions_grams');
      const [unattributed] = of(e.series, 'scaph_host_unattributed_carbon_emissions_grams');
      const processes = of(e.series, 'scaph_process_carbon_emissions_grams');
      expect(of(e.series, 'scaph_carbon_intensity_grams_per_kwh').map((s) => [s.labels['source'], s.value])).toEqual([['fixed', 250]]);
      expect(processes.length).toBe(of(e.series, 'scaph_process_power_consumption_microwatts').length);
      expect(processes.every((p) => /^\d+$/.test(p.labels['pid'] ?? ''))).toBe(true);
      expect(processes.reduce((a, p) => a + ug(p.value), 0) + ug(unattributed?.value ?? Number.NaN)).toBe(ug(host?.value ?? Number.NaN));
      grew ||= processes.some((p) => p.value > 0);
    }
    expect(grew).toBe(true);
  });

  it('json: host.carbon and each consumer\'s emissions, the host figure = its energy x 250 g/kWh', () => {
    const reports = JSON.parse(readFileSync(jsonFile, 'utf8')) as Array<{ host: { carbon: { emissions: number; unattributed_emissions: number; intensity: number; source: string; zone: string } }; consumers: Array<{ emissions: number }> }>;
    expect(reports.length).toBeGreaterThanOrEqual(4);
    let last = 0;
    for (const r of reports) {
      expect(r.host.carbon).toMatchObject({ intensity: 250, source: 'fixed', zone: '' });
      expect(r.host.carbon.emissions).toBeGreaterThanOrEqual(last);
      last = r.host.carbon.emissions;
      expect(r.consumers.every((c) => typeof c.emissions === 'number')).toBe(true);
    }
    expect(last).toBeGreaterThan(0);
  });
});
