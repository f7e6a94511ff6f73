/**
 * The metric and label filters on every wire, in one `scaph run`: remote-write (to a real VictoriaMetrics),
 * Riemann, Warp 10, the Pushgateway (a real one) and Prometheus scrape, plus stdout --raw-metrics, all
 * with the same filters; one unfiltered /metrics beside them says what the sample holds. The processes'
 * command lines carry a marker that must appear on no wire at all. The push transports' series count
 * (scaph_delivery_series_sent) is checked against the series each one actually sent.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import snappy from 'snappy';
import { startScaph, type ScaphRun } from '../../support/fixtures/run-scaph.js';
import { generateProcesses, ProcfsTree } from '../../support/fixtures/procfs-tree.js';
import { tempDir } from '../../support/harness/bad-input.js';
import {
  pushgatewayEntries,
  remoteWriteEntries,
  riemannEntries,
  seriesSentOf,
  textSeries,
  warp10Entries,
  type WireEntry,
  type WireSeries,
} from '../../support/harness/wire-series.js';
import { FaultProxy } from '../../support/servers/fault-proxy.js';
import { freePort, waitFor } from '../../support/servers/free-port.js';
import type { ManagedServer } from '../../support/servers/managed-server.js';
import { pushgatewayGroups, startPushgateway } from '../../support/servers/pushgateway.js';
import { FakeRiemannServer } from '../../support/servers/riemann.js';
import { startVictoriaMetrics, vmExport } from '../../support/servers/victoria-metrics.js';
import { Warp10TestServer } from '../../support/servers/warp10.js';

const MARKER = 'CMDLINE-SECRET';
const KEEP = ['scaph_(host|socket|process)_.*', 'scaph_self_version'];
const DROP = ['scaph_process_memory_.*', 'scaph_host_load_avg_.*'];
const KEPT = new RegExp(`^(?:${KEEP.join('|')})$`);
const DROPPED = new RegExp(`^(?:${DROP.join('|')})$`);

let tree: ProcfsTree;
let vm: ManagedServer;
let pg: ManagedServer;
let rwProxy: FaultProxy;
let pgProxy: FaultProxy;
let riemann: FakeRiemannServer;
let warp10: Warp10TestServer;
let run: ScaphRun;
/** /metrics of the filtered and the unfiltered prometheus exporters, scraped during the run. */
let scraped: string;
let unfiltered: string;

const filterKeys = [
  `keep_metrics = ${JSON.stringify(KEEP)}`,
  `drop_metrics = ${JSON.stringify(DROP)}`,
  'drop_labels = ["cmdline"]',
  'step = 0.5',
].join('\n');

beforeAll(async () => {
  tree = ProcfsTree.create({
    cpuCount: 2,
    processes: generateProcesses(12).map((p, i) => ({ ...p, argv: [`/usr/bin/${p.comm}`, `--password=${MARKER}-${i}`] })),
  });
  [vm, pg, riemann, warp10] = await Promise.all([startVictoriaMetrics(), startPushgateway(), FakeRiemannServer.start(), Warp10TestServer.start()]);
  rwProxy = new FaultProxy(vm.baseUrl);
  pgProxy = new FaultProxy(pg.baseUrl);
  await Promise.all([rwProxy.start(), pgProxy.start()]);
  const [promPort, openPort] = [await freePort(), await freePort()];
  const dir = tempDir('scaph-filters-');
  const config = join(dir, 'scaph.toml');
  const pgPort = new URL(pgProxy.url).port;
  writeFileSync(
    config,
    [
      `[sensor]\nkind = "estimate"\nstep = 0.5\nprocfs_path = "${tree.root}"`,
      `[[exporter]]\ntype = "remote-write"\nurl = "${rwProxy.url}/api/v1/write"\njob = "filters"\n${filterKeys}`,
      `[[exporter]]\ntype = "riemann"\naddress = "127.0.0.1"\nport = ${riemann.port}\ndescription = false\n${filterKeys}`,
      `[[exporter]]\ntype = "warp10"\nhost = "127.0.0.1"\nport = ${warp10.port}\nwrite_token = "write-token"\n${filterKeys}`,
      `[[exporter]]\ntype = "prometheus-push"\nhost = "127.0.0.1"\nport = ${pgPort}\njob = "filters"\n${filterKeys}`,
      `[[exporter]]\ntype = "prometheus"\naddress = "127.0.0.1"\nport = ${promPort}\n${filterKeys}`,
      `[[exporter]]\ntype = "stdout"\nraw_metrics = true\n${filterKeys}`,
      `[[exporter]]\ntype = "prometheus"\naddress = "127.0.0.1"\nport = ${openPort}\nstep = 0.5`,
      '',
    ].join('\n\n'),
  );
  const agent = startScaph(['--no-header', 'run', '-c', config], { timeoutMs: 60_000 });
  const scrape = (port: number) =>
    waitFor(async () => {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      return res.ok ? res.text() : null;
    }, 15_000, `a scrape of port ${port}`);
  try {
    [scraped, unfiltered] = await Promise.all([scrape(promPort), scrape(openPort)]);
    // Several steps on every push wire, so the series count of an acknowledged step has been reported.
    await waitFor(
      async () =>
        riemannEntries(riemann.events).filter((e) => e.self).length >= 4 &&
        warp10.requests.length >= 4 &&
        rwProxy.requests.length >= 4 &&
        pgProxy.requests.filter((r) => r.headers['content-length'] !== '0').length >= 4
          ? true
          : null,
      30_000,
      'four sends on every push transport',
    );
  } finally {
    run = await agent.stop();
  }
}, 120_000);

afterAll(async () => {
  await Promise.all([rwProxy?.close(), pgProxy?.close(), riemann?.stop(), warp10?.stop()]);
  await Promise.all([vm?.dispose(), pg?.dispose()]);
  tree?.cleanup();
});

/** Each transport's wire, as bytes (for the marker) and as entries (for the series). */
interface Wire {
  readonly bytes: string;
  readonly entries: readonly WireEntry[];
  readonly push: boolean;
}

function wires(): Record<string, Wire> {
  const rwBodies = rwProxy.requests.map((r) => r.body);
  const pgBodies = pgProxy.requests.filter((r) => r.body.length > 0).map((r) => r.body);
  const stdoutBlocks = run.stdout.split('-'.repeat(60)).filter((b) => b.includes('scaph_'));
  return {
    'remote-write': { bytes: rwBodies.map((b) => (snappy.uncompressSync(b) as Buffer).toString('latin1')).join(''), entries: remoteWriteEntries(rwBodies), push: true },
    riemann: { bytes: JSON.stringify(riemann.events), entries: riemannEntries(riemann.events), push: true },
    warp10: { bytes: warp10.requests.map((r) => r.text).join(''), entries: warp10Entries(warp10.requests.map((r) => r.text)), push: true },
    pushgateway: { bytes: pgBodies.map((b) => b.toString('utf8')).join(''), entries: pushgatewayEntries(pgBodies), push: true },
    prometheus: { bytes: scraped, entries: [{ self: false, series: textSeries(scraped) }], push: false },
    'stdout --raw-metrics': { bytes: run.stdout, entries: stdoutBlocks.map((b) => ({ self: false, series: textSeries(b) })), push: false },
  };
}

const families = (series: readonly WireSeries[]): string[] => [...new Set(series.map((s) => s.family))].sort();
const dataEntries = (w: Wire): WireEntry[] => w.entries.filter((e) => !e.self && e.series.length > 0);

describe('metric and label filters on every wire (one scaph run, six exporters)', () => {
  const TRANSPORTS = ['remote-write', 'riemann', 'warp10', 'pushgateway', 'prometheus', 'stdout --raw-metrics'] as const;

  it('the run ended cleanly, and the unfiltered exporter shows what was filtered out', () => {
    expect(run.code, run.stderr).toBe(0);
    const all = textSeries(unfiltered);
    expect(all.some((s) => s.labels['cmdline']?.includes(MARKER))).toBe(true);
    expect(families(all).filter((f) => DROPPED.test(f)).length).toBeGreaterThan(0);
    expect(families(all).filter((f) => !KEPT.test(f)).length).toBeGreaterThan(0);
  });

  it.each(TRANSPORTS)('%s: the dropped label (cmdline) never reaches the wire, not even its value', (name) => {
    const w = wires()[name] as Wire;
    expect(dataEntries(w).length).toBeGreaterThanOrEqual(1);
    expect(w.bytes).not.toContain(MARKER);
    for (const e of w.entries) for (const s of e.series) expect(Object.keys(s.labels)).not.toContain('cmdline');
    // The other process labels are still there.
    const process = dataEntries(w)[0]?.series.find((s) => s.family === 'scaph_process_power_consumption_microwatts');
    expect(process?.labels).toMatchObject({ pid: expect.stringMatching(/^\d+$/), exe: expect.stringMatching(/^worker-/) });
  });

  it.each(TRANSPORTS)('%s: the families on the wire are exactly those the keep and drop regexes leave', (name) => {
    // Every exporter reads the one metrics view: stdout --raw-metrics prints what /metrics serves, scaph_self_version included.
    const expected = families(textSeries(unfiltered)).filter((f) => KEPT.test(f) && !DROPPED.test(f));
    expect(expected).toContain('scaph_process_power_consumption_microwatts');
    for (const e of dataEntries(wires()[name] as Wire)) expect(families(e.series)).toEqual(expected);
  });

  it.each(TRANSPORTS)('%s: no two series of a step are the same series', (name) => {
    for (const e of dataEntries(wires()[name] as Wire)) {
      const keys = e.series.map((s) => `${s.family}${JSON.stringify(Object.entries(s.labels).sort())}`);
      expect(new Set(keys).size).toBe(keys.length);
    }
  });

  it.each(TRANSPORTS.slice(0, 4))('%s: scaph_delivery_series_sent is the number of series of the last step acknowledged', (name) => {
    const entries = (wires()[name] as Wire).entries;
    const reports: Array<[number, number]> = [];
    let lastData: WireEntry | null = null;
    let acknowledged = 0;
    for (const e of entries) {
      if (!e.self) {
        lastData = e;
        continue;
      }
      // A self entry is written when its batch is encoded: it reports the batch before, acknowledged by then.
      reports.push([seriesSentOf(e) ?? Number.NaN, acknowledged]);
      acknowledged = lastData?.series.length ?? 0;
    }
    expect(reports.length).toBeGreaterThanOrEqual(4);
    expect(reports[0]).toEqual([0, 0]);
    for (const [reported, sent] of reports) expect(reported).toBe(sent);
    expect(reports.at(-1)?.[0]).toBeGreaterThan(12 * 3);
  });

  it('riemann --no-description: no event carries the HELP text', () => {
    expect(riemann.events.length).toBeGreaterThan(0);
    expect(riemann.events.filter((e) => e.description !== undefined && e.description !== '')).toEqual([]);
  });

  it('the backends stored the filtered series: VictoriaMetrics and the Pushgateway have no cmdline label and no dropped family', async () => {
    const stored = await vmExport(vm, '{job="filters",__name__=~"scaph_process_.*"}', 1);
    expect(stored.length).toBeGreaterThan(0);
    for (const s of stored) {
      expect(s.labels).not.toHaveProperty('cmdline');
      expect(s.labels['__name__']).not.toMatch(DROPPED);
    }
    const group = (await pushgatewayGroups(pg)).find((g) => g.labels['job'] === 'filters');
    const names = [...(group?.families.keys() ?? [])];
    expect(names).toContain('scaph_process_power_consumption_microwatts');
    expect(names.filter((n) => DROPPED.test(n) || (!KEPT.test(n) && n.startsWith('scaph_') && !n.startsWith('scaph_delivery_')))).toEqual([]);
    for (const m of group?.families.get('scaph_process_power_consumption_microwatts') ?? []) expect(m.labels).not.toHaveProperty('cmdline');
  });
});
