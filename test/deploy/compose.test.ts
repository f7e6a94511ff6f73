import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadRunConfig, PUSH_TYPES } from '../../src/config.js';
import { METRIC_FAMILIES } from '../../src/core/metrics.js';
import { DeliveryStats } from '../../src/delivery/stats.js';

const DIR = join(import.meta.dirname, '..', '..', 'docker-compose');
const compose = parseYaml(readFileSync(join(DIR, 'compose.yaml'), 'utf8')) as {
  services: Record<string, { build?: { context: string; dockerfile: string }; image?: string; volumes?: string[]; command?: string[]; depends_on?: string[] }>;
  volumes: Record<string, unknown>;
};

/** Every metric name scaph can ship: the metrics view's families and the delivery self-metrics. */
function knownMetricNames(): Set<string> {
  const stats = new DeliveryStats('x');
  stats.addDropped('queue_full', 1);
  stats.lastSuccessMs = 1;
  stats.spoolSamples = 0;
  stats.spoolBytes = 0;
  return new Set([...Object.keys(METRIC_FAMILIES), ...stats.toMetrics().map((m) => m.name)]);
}

describe('docker-compose kit', () => {
  it('runs scaph (built from the repo) with Prometheus, Riemann, Warp 10 and Grafana', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['grafana', 'prometheus', 'riemann', 'scaph', 'warp10']);
    const scaph = compose.services['scaph']!;
    expect(existsSync(join(resolve(DIR, scaph.build!.context), scaph.build!.dockerfile))).toBe(true);
    expect(scaph.command).toContain('run');
    expect(scaph.depends_on).toEqual(['prometheus', 'riemann', 'warp10']);
    expect(compose.services['prometheus']?.image).toMatch(/^prom\/prometheus:v2\.\d+/);
    expect(JSON.stringify(compose.services['prometheus'])).toContain('--web.enable-remote-write-receiver');
  });

  it('mounts files that exist and volumes that are declared', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const v of service.volumes ?? []) {
        const source = v.split(':')[0] as string;
        if (source.startsWith('./')) expect(existsSync(join(DIR, source)), `${name}: ${source}`).toBe(true);
        else if (!source.startsWith('/')) expect(compose.volumes, `${name}: volume ${source}`).toHaveProperty(source);
      }
    }
  });

  it("scaph's config pushes to the three backends, spooling on the compose volume", () => {
    const config = parseToml(readFileSync(join(DIR, 'scaph', 'scaph.toml'), 'utf8')) as { sensor: Record<string, unknown>; exporter: Array<Record<string, unknown>> };
    expect(config.exporter.map((e) => e['type'])).toEqual(['remote-write', 'riemann', 'warp10']);
    for (const e of config.exporter) expect(PUSH_TYPES.has(e['type'] as string)).toBe(true);
    expect(config.exporter[0]?.['url']).toBe('http://prometheus:9090/api/v1/write');
    for (const e of config.exporter.filter((x) => x['spool_dir'])) expect(e['spool_dir']).toMatch(/^\/var\/lib\/scaph\/spool\//);
    expect(compose.services['scaph']?.volumes).toContain('scaph-spool:/var/lib/scaph');
    // The file passes the same validation as `scaph run --check` against the real exporter subcommands.
    const checked = loadRunConfig(join(DIR, 'scaph', 'scaph.toml'), { env: { WARP10_WRITE_TOKEN: 't0ken' } });
    expect(checked.exporters.map((e) => [e.type, e.stepMs])).toEqual([['remote-write', 2000], ['riemann', 10_000], ['warp10', 10_000]]);
    expect(checked.exporters[1]?.opts['dispatchInterval']).toBe(10);
    expect(checked.exporters[2]?.opts['writeToken']).toBe('t0ken');
  });

  it('Grafana gets the Prometheus datasource and a dashboard whose queries use metrics scaph ships', () => {
    const ds = parseYaml(readFileSync(join(DIR, 'grafana/provisioning/datasources/prometheus.yaml'), 'utf8')) as { datasources: Array<{ uid: string; url: string; isDefault: boolean }> };
    expect(ds.datasources[0]).toMatchObject({ uid: 'scaph-prometheus', url: 'http://prometheus:9090', isDefault: true });
    const providers = parseYaml(readFileSync(join(DIR, 'grafana/provisioning/dashboards/scaph.yaml'), 'utf8')) as { providers: Array<{ options: { path: string } }> };
    expect(JSON.stringify(compose.services['grafana']?.volumes)).toContain(`./grafana/dashboards:${providers.providers[0]?.options.path}`);

    const dashboard = JSON.parse(readFileSync(join(DIR, 'grafana/dashboards/scaph.json'), 'utf8')) as {
      panels: Array<{ title: string; datasource: { uid: string }; targets: Array<{ expr: string; datasource: { uid: string } }> }>;
    };
    const titles = dashboard.panels.map((p) => p.title).join(' | ');
    for (const topic of ['Host', 'Sockets', 'processes', 'Containers', 'Delivery']) expect(titles).toContain(topic);
    const known = knownMetricNames();
    const used = new Set<string>();
    for (const p of dashboard.panels) {
      expect(p.datasource.uid).toBe('scaph-prometheus');
      for (const t of p.targets) {
        expect(t.datasource.uid).toBe('scaph-prometheus');
        for (const m of t.expr.matchAll(/\bscaph_[a-z_]+\b/g)) used.add(m[0]);
      }
    }
    expect([...used].filter((n) => !known.has(n))).toEqual([]);
    for (const n of ['scaph_host_power_microwatts', 'scaph_socket_power_microwatts', 'scaph_process_power_consumption_microwatts', 'scaph_delivery_samples_sent_total', 'scaph_delivery_spool_samples']) {
      expect(used).toContain(n);
    }
  });
});
