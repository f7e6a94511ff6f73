import { get } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../src/core/log.js';
import { MetricsView } from '../../../../src/core/metrics-view.js';
import { acceptsGzip, PrometheusExporter, PrometheusListenError } from '../../../../src/exporters/prometheus/exporter.js';
import { negotiateFormat } from '../../../../src/exporters/prometheus/wire.js';
import { captureLogger } from '../../../support/fakes/log-capture.js';
import { makeProcess, makeSample } from '../../../support/fixtures/sample.js';
import { promtoolCheckMetrics, remarkKinds } from '../../../support/servers/promtool.js';

/** What Prometheus 2.42 sends. */
const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const OPENMETRICS_ONLY_ACCEPT = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75';

const started: PrometheusExporter[] = [];

async function startExporter(over: { suffix?: string; maxCmdlineLength?: number; qemu?: boolean } = {}): Promise<PrometheusExporter> {
  const exporter = new PrometheusExporter({
    address: '127.0.0.1',
    port: 0,
    suffix: over.suffix ?? 'metrics',
    view: new MetricsView({ maxCmdlineLength: over.maxCmdlineLength ?? 256, qemu: over.qemu ?? false, version: '9.9.9' }),
    logger: silentLogger(),
  });
  await exporter.start();
  started.push(exporter);
  return exporter;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((e) => e.stop(1000)));
});

function url(e: PrometheusExporter, path: string): string {
  return `http://127.0.0.1:${e.port}${path}`;
}

const weird = makeProcess({
  pid: 99,
  exe: 'we"ird\\name\nx',
  cmdline: 'we"ird\\name\nx --arg="a b" \\ \uFFFD\uFFFD',
  powerUw: 1_500_000,
  energyUj: 3_000_000,
});

describe('PrometheusExporter', () => {
  it('answers 503 until the first sample, then the sample in text format 0.0.4', async () => {
    const e = await startExporter();
    const before = await fetch(url(e, '/metrics'));
    expect(before.status).toBe(503);
    await before.text();

    e.export(makeSample());
    const res = await fetch(url(e, '/metrics'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    expect(text.endsWith('\n')).toBe(true);
    expect(text).toContain('# HELP scaph_host_power_microwatts Power measurement on the whole host, in microwatts\n# TYPE scaph_host_power_microwatts gauge\n');
    expect(text).toContain('scaph_host_power_microwatts{value_source="powercap_rapl_pkg"} 100000000\n');
    expect(text).toContain('# TYPE scaph_host_energy_microjoules counter\nscaph_host_energy_microjoules{value_source="powercap_rapl_pkg"} 200000000\n');
    expect(text).toContain('scaph_domain_power_microwatts{domain_name="dram",domain_id="1",socket_id="1"} 10000000\n');
    expect(text).toContain('scaph_process_power_consumption_microwatts{pid="42",exe="burner",cmdline="/usr/bin/proc42 --flag"} 30000000\n');
    expect(text).toContain('scaph_self_version{version="9.9.9"} 1\n');
    // No psys zone in this sample: the family is left out rather than printed as 0.
    expect(text).not.toContain('scaph_host_rapl_psys_microjoules');
    // One HELP and one TYPE per family.
    const types = text.split('\n').filter((l) => l.startsWith('# TYPE '));
    expect(new Set(types).size).toBe(types.length);
  });

  it('escapes label values and caps the cmdline label', async () => {
    const e = await startExporter({ maxCmdlineLength: 20 });
    e.export(makeSample({ processes: [weird] }));
    const text = await (await fetch(url(e, '/metrics'))).text();
    // 20 code points: 19 kept + the ellipsis.
    expect(text).toContain('scaph_process_energy_microjoules{pid="99",exe="we\\"ird\\\\name\\nx",cmdline="we\\"ird\\\\name\\nx --arg…"} 3000000\n');
    const check = await promtoolCheckMetrics(text);
    expect(check.errors).toEqual([]);
    expect([0, 3]).toContain(check.code);
  });

  it('replaces the previous sample: series of ended processes disappear', async () => {
    const e = await startExporter();
    e.export(makeSample());
    const first = await (await fetch(url(e, '/metrics'))).text();
    expect(first).toContain('pid="7"');
    e.export(makeSample({ processes: [makeProcess({ pid: 42, exe: 'burner', powerUw: 5_000_000 })] }));
    const second = await (await fetch(url(e, '/metrics'))).text();
    expect(second).not.toContain('pid="7"');
    expect(second).not.toContain('pid="1"');
    expect(second).toContain('scaph_process_power_consumption_microwatts{pid="42",exe="burner",cmdline="/usr/bin/proc42 --flag"} 5000000\n');
    expect(second).toContain('scaph_self_topo_procs_nb 1\n');
  });

  it('a counter value that went wrong (negative) leaves that series out: every scrape answers 200 with the rest, said once', async () => {
    const log = captureLogger();
    const e = new PrometheusExporter({ address: '127.0.0.1', port: 0, suffix: 'metrics', view: new MetricsView({ maxCmdlineLength: 256 }), logger: log.logger });
    await e.start();
    started.push(e);
    const bad = makeProcess({ pid: 13, exe: 'liar', powerUw: 1_000_000, energyUj: -5_000 });
    for (let step = 0; step < 3; step++) {
      e.export(makeSample({ processes: [bad, makeProcess({ pid: 42, exe: 'burner', powerUw: 5_000_000, energyUj: 9_000 })] }));
      for (const accept of [undefined, OPENMETRICS_ONLY_ACCEPT]) {
        const res = await fetch(url(e, '/metrics'), accept ? { headers: { accept } } : {});
        expect(res.status).toBe(200);
        const text = await res.text();
        expect(text).toContain('scaph_process_power_consumption_microwatts{pid="13",exe="liar",cmdline="/usr/bin/proc13 --flag"} 1000000\n');
        expect(text).toMatch(/scaph_process_energy_microjoules(_total)?\{pid="42",exe="burner",cmdline="\/usr\/bin\/proc42 --flag"\} 9000\n/);
        expect(text).not.toMatch(/scaph_process_energy_microjoules(_total)?\{pid="13"/);
      }
    }
    expect(e.refusedSeries).toBe(6);
    expect(log.warnings()).toHaveLength(1);
    expect(log.warnings()[0]).toMatchObject({ metric: 'scaph_process_energy_microjoules', value: '-5000', reason: 'a counter value cannot be negative' });
  });

  it('renders once per sample and format however many scrapes come, and never reads a sample itself', async () => {
    const e = await startExporter();
    e.export(makeSample());
    const texts = await Promise.all([1, 2, 3, 4, 5].map(async () => (await fetch(url(e, '/metrics'))).text()));
    expect(new Set(texts).size).toBe(1);
    expect(e.renders).toBe(1);
    expect(e.scrapes).toBe(5);
    await (await fetch(url(e, '/metrics'), { headers: { accept: OPENMETRICS_ONLY_ACCEPT } })).text();
    expect(e.renders).toBe(2);
  });

  it("serves Prometheus text to Prometheus, so its counters keep Scaphandre's names", async () => {
    const e = await startExporter();
    e.export(makeSample({ processes: [weird] }));
    const res = await fetch(url(e, '/metrics'), { headers: { accept: PROMETHEUS_ACCEPT } });
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    expect(text).toContain('# TYPE scaph_host_energy_microjoules counter\nscaph_host_energy_microjoules{value_source="powercap_rapl_pkg"} 200000000\n');
    expect(text).not.toMatch(/^scaph_\w+_total[{ ]/m);
  });

  it('serves OpenMetrics to a scraper that accepts nothing else', async () => {
    const e = await startExporter();
    e.export(makeSample({ processes: [weird] }));
    const res = await fetch(url(e, '/metrics'), { headers: { accept: OPENMETRICS_ONLY_ACCEPT } });
    expect(res.headers.get('content-type')).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    const text = await res.text();
    expect(text.endsWith('\n# EOF\n')).toBe(true);
    expect(text).toContain('# TYPE scaph_host_energy_microjoules counter\nscaph_host_energy_microjoules_total{value_source="powercap_rapl_pkg"} 200000000\n');
    expect(text).toContain('scaph_host_power_microwatts{value_source="powercap_rapl_pkg"} 100000000\n');
  });

  it('answers other paths with a link to the metrics path, and honours --suffix', async () => {
    const e = await startExporter({ suffix: 'scaph/metrics' });
    const root = await fetch(url(e, '/'));
    expect(root.status).toBe(200);
    expect(root.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await root.text()).toContain('<a href="/scaph/metrics">');
    const other = await fetch(url(e, '/metrics'));
    expect(other.status).toBe(404);
    expect(await other.text()).toContain('<a href="/scaph/metrics">');
    e.export(makeSample());
    const ok = await fetch(url(e, '/scaph/metrics?x=1'));
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('scaph_host_power_microwatts');
    const post = await fetch(url(e, '/scaph/metrics'), { method: 'POST' });
    expect(post.status).toBe(405);
    await post.text();
  });

  it('labels qemu processes with vmname when asked', async () => {
    const e = await startExporter({ qemu: true });
    e.export(makeSample({ processes: [makeProcess({ pid: 5, exe: 'qemu-system-x86_64', cmdline: 'qemu-system-x86_64 -name guest=vm1', vmName: 'vm1' })] }));
    const text = await (await fetch(url(e, '/metrics'))).text();
    expect(text).toMatch(/scaph_process_power_consumption_microwatts\{pid="5",exe="qemu-system-x86_64",cmdline="[^"]*",vmname="vm1"\} 1000000\n/);
  });

  it('fails to start with a named error when the port is taken', async () => {
    const e = await startExporter();
    const clash = new PrometheusExporter({ address: '127.0.0.1', port: e.port, suffix: 'metrics', view: new MetricsView(), logger: silentLogger() });
    await expect(clash.start()).rejects.toThrow(PrometheusListenError);
    await expect(clash.start()).rejects.toThrow(/already in use.*-p/);
  });

  it('lists the lint remarks promtool still makes on Scaphandre names (no parse errors)', async () => {
    const e = await startExporter();
    e.export(makeSample({ host: { ...makeSample().host, psysEnergyUj: 123 } }));
    const check = await promtoolCheckMetrics(await e.render('text') ?? '');
    expect(check.errors).toEqual([]);
    expect(check.code).toBe(3);
    // Scaphandre's names: counters without _total, energy in microjoules. Nothing else.
    expect(remarkKinds(check.remarks)).toEqual(['counter metrics should have "_total" suffix', 'use base unit "joules" instead of "microjoules"']);
  });
});

/** A raw GET (no automatic decompression): status, headers and body bytes. */
function rawGet(u: string, headers: Record<string, string>): Promise<{ headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(u, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

describe('gzip', () => {
  it('compresses the scrape when the scraper accepts gzip, once per sample', async () => {
    const e = await startExporter();
    const processes = Array.from({ length: 300 }, (_, i) => makeProcess({ pid: i + 1 }));
    e.export(makeSample({ processes }));
    const plain = await rawGet(url(e, '/metrics'), {});
    expect(plain.headers['content-encoding']).toBeUndefined();
    const zipped = await rawGet(url(e, '/metrics'), { 'accept-encoding': 'gzip' });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(Number(zipped.headers['content-length'])).toBe(zipped.body.length);
    expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);
    // Repetitive label sets compress well: at least 5× here.
    expect(zipped.body.length * 5).toBeLessThan(plain.body.length);
    expect(e.renders).toBe(1);
  });

  it('reads Accept-Encoding qualities', () => {
    expect(acceptsGzip(undefined)).toBe(false);
    expect(acceptsGzip('gzip')).toBe(true);
    expect(acceptsGzip('deflate, gzip;q=0.5')).toBe(true);
    expect(acceptsGzip('gzip;q=0, identity')).toBe(false);
    expect(acceptsGzip('br, *')).toBe(true);
    expect(acceptsGzip('identity')).toBe(false);
  });
});

describe('negotiateFormat', () => {
  it('follows the Accept header qualities', () => {
    expect(negotiateFormat(undefined)).toBe('text');
    expect(negotiateFormat('*/*')).toBe('text');
    expect(negotiateFormat(PROMETHEUS_ACCEPT)).toBe('text');
    expect(negotiateFormat('text/plain;version=0.0.4;q=1,application/openmetrics-text;q=0.5')).toBe('text');
    expect(negotiateFormat(OPENMETRICS_ONLY_ACCEPT)).toBe('openmetrics');
    expect(negotiateFormat('application/openmetrics-text; version=1.0.0')).toBe('openmetrics');
    expect(negotiateFormat('application/openmetrics-text;version=1.0.0,text/plain;q=0')).toBe('openmetrics');
    expect(negotiateFormat('application/openmetrics-text;q=0')).toBe('text');
  });
});
