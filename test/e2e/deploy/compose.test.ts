import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadRunConfig, PUSH_TYPES } from '../../../src/config/run-config.js';
import { METRIC_FAMILIES } from '../../../src/core/metric-families.js';
import { createPowercapTree } from '../../support/fixtures/powercap-tree.js';
import { RIEMANN_CONFIG_PATH, RIEMANN_IMAGE, RIEMANN_PLATFORM, WARP10_CI_IMAGE } from '../../support/servers/images.js';
import { clojureFormsClose } from '../../support/servers/riemann-container.js';
import { CI_TOKENS } from '../../support/servers/warp10-container.js';
import { emulateSysMounts, SERVER2S_ZONES, zonesAt } from '../../support/harness/sys-mounts.js';
import { packageRoot } from '../../../src/core/package-file.js';
import { docSection } from '../../support/harness/markdown-docs.js';

const DIR = join(packageRoot(), 'docker-compose');
interface ComposeService {
  build?: { context: string; dockerfile: string };
  image?: string;
  platform?: string;
  volumes?: string[];
  command?: string[];
  depends_on?: string[];
  environment?: Record<string, string>;
  ports?: string[];
}
const compose = parseYaml(readFileSync(join(DIR, 'compose.yaml'), 'utf8')) as {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
};

/**
 * What the images read, as their own sources say:
 * - riemannio/riemann (riemann/riemann's Dockerfile): `CMD ["/bin/riemann", "/etc/riemann.config"]`;
 *   its TCP/UDP port is 5555. No environment variables.
 * - warp10io/warp10 3.x (senx/warp10-docker's docker-entrypoint.sh and README): FLAVOR, passed to
 *   `warp10.sh init` (distributed, standalone, standalone+, in-memory, archive; 2.x's IN_MEMORY=true is
 *   read by nothing any more), NO_SENSISION, WARP10_HEAP, WARP10_HEAP_MAX, and any dotted Warp 10
 *   configuration key; data in /data (WARP10_VOLUME), extra configuration files in /config.extra.
 */
const RIEMANN_READS = '/etc/riemann.config';
const WARP10_VARIABLES = new Set(['FLAVOR', 'NO_SENSISION', 'WARP10_HEAP', 'WARP10_HEAP_MAX']);
const WARP10_FLAVORS = new Set(['distributed', 'standalone', 'standalone+', 'in-memory', 'archive']);
const WARP10_PATHS = ['/data', '/config.extra/'];

/** `${NAME:-default}` as compose reads it: the default. */
function composeDefault(value: string, name: string): string | null {
  return new RegExp(`^\\$\\{${name}:-([^}]*)\\}$`).exec(value)?.[1] ?? null;
}

/** A `source:target[:mode]` volume's target. */
function mountTarget(volume: string): string {
  return volume.split(':')[1] ?? '';
}

/** Every metric name scaph can ship: the families of the metrics view, the delivery self-metrics among them. */
function knownMetricNames(): Set<string> {
  return new Set(Object.keys(METRIC_FAMILIES));
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

  it("reaches the host's RAPL counters: /sys/class/powercap's relative symlinks into /sys/devices resolve in the container", async () => {
    const scaph = compose.services['scaph']!;
    const command = scaph.command ?? [];
    const powercapPath = command[command.indexOf('--powercap-path') + 1] ?? '';
    const procfsPath = command[command.indexOf('--procfs-path') + 1] ?? '';
    const volumes = scaph.volumes ?? [];
    // /proc is mounted where --procfs-path looks, read-only.
    expect(volumes).toContain(`/proc:${procfsPath}:ro`);
    // The host's /sys as the kernel lays it out: class/powercap/intel-rapl:0 -> ../../devices/virtual/powercap/….
    const host = createPowercapTree('server2s');
    const containers = mkdtempSync(join(tmpdir(), 'scaph-compose-'));
    try {
      expect(readlinkSync(join(host.powercapPath, 'intel-rapl:0'))).toBe('../../devices/virtual/powercap/intel-rapl/intel-rapl:0');
      const composeView = join(containers, 'compose');
      emulateSysMounts(volumes, host.root, composeView);
      expect(volumes.filter((v) => v.startsWith('/sys')).every((v) => v.endsWith(':ro'))).toBe(true);
      expect(await zonesAt(join(composeView, powercapPath))).toBe(SERVER2S_ZONES);
      // What the demo mounted before: /sys/class/powercap alone, whose links then point nowhere.
      const classOnly = join(containers, 'class-only');
      emulateSysMounts([`/sys/class/powercap:${powercapPath}:ro`], host.root, classOnly);
      expect(await zonesAt(join(classOnly, powercapPath))).toMatch(/^Powercap(Missing|Unusable)Error$/);
    } finally {
      host.close();
      rmSync(containers, { recursive: true, force: true });
    }
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

  it("mounts the Riemann config where the image reads it, and the config listens on the published port", () => {
    const riemann = compose.services['riemann']!;
    expect(RIEMANN_CONFIG_PATH).toBe(RIEMANN_READS);
    expect(riemann.volumes).toEqual([`./riemann/riemann.config:${RIEMANN_READS}:ro`]);
    // The demo runs the Riemann the real-server suites run.
    expect([riemann.image, riemann.platform]).toEqual([RIEMANN_IMAGE, RIEMANN_PLATFORM]);
    expect(riemann.environment).toBeUndefined();
    const config = readFileSync(join(DIR, 'riemann', 'riemann.config'), 'utf8');
    expect(clojureFormsClose(config)).toBe(true);
    // The image's own config only reaches 0.0.0.0 through a sed at build time: ours must say it.
    expect(config).toContain('(let [host "0.0.0.0"]');
    expect(config).toMatch(/\(tcp-server \{:host host\}\)/);
    expect(riemann.ports).toEqual(['5555:5555']);
  });

  it('gives Warp 10 only variables and paths its 3.x image knows: in-memory through FLAVOR', () => {
    const warp10 = compose.services['warp10']!;
    expect(warp10.image).toBe(WARP10_CI_IMAGE);
    const env = warp10.environment ?? {};
    for (const name of Object.keys(env)) expect(WARP10_VARIABLES.has(name) || name.includes('.'), `warp10: ${name}`).toBe(true);
    expect(env['IN_MEMORY']).toBeUndefined();
    expect(env['FLAVOR']).toBe('in-memory');
    expect(WARP10_FLAVORS.has(env['FLAVOR'] ?? '')).toBe(true);
    for (const v of warp10.volumes ?? []) expect(WARP10_PATHS.some((p) => mountTarget(v) === p || mountTarget(v).startsWith(p)), `warp10: ${v}`).toBe(true);
    expect(warp10.ports).toEqual(['8080:8080']);
  });

  it("hands scaph the demo Warp 10's write token with no manual step", () => {
    const token = compose.services['scaph']?.environment?.['WARP10_WRITE_TOKEN'] ?? '';
    expect(composeDefault(token, 'WARP10_WRITE_TOKEN')).toBe(CI_TOKENS.writeToken);
    // What scaph runs with when .env sets nothing: the compose default through the config's ${WARP10_WRITE_TOKEN}.
    const checked = loadRunConfig(join(DIR, 'scaph', 'scaph.toml'), { env: { WARP10_WRITE_TOKEN: CI_TOKENS.writeToken } });
    const warp10 = checked.exporters.find((e) => e.type === 'warp10');
    expect([warp10?.opts['host'], warp10?.opts['port'], warp10?.opts['writeToken']]).toEqual(['warp10', 8080, 'writeTokenCI']);
  });

  it("Grafana's admin password comes from GRAFANA_ADMIN_PASSWORD, \"secret\" by default (as the docs say)", () => {
    const password = compose.services['grafana']?.environment?.['GF_SECURITY_ADMIN_PASSWORD'] ?? '';
    expect(composeDefault(password, 'GRAFANA_ADMIN_PASSWORD')).toBe('secret');
    expect(docSection('docs/fleet.md', '## 6. Try it')).toMatch(/user admin, password "secret" \(GRAFANA_ADMIN_PASSWORD=<yours> in docker-compose\/\.env\)/);
  });

  it('Grafana gets the Prometheus datasource and a dashboard whose queries use metrics scaph ships', () => {
    const ds = parseYaml(readFileSync(join(DIR, 'grafana/provisioning/datasources/prometheus.yaml'), 'utf8')) as { datasources: Array<{ uid: string; url: string; isDefault: boolean }> };
    expect(ds.datasources[0]).toMatchObject({ uid: 'scaph-prometheus', url: 'http://prometheus:9090', isDefault: true });
    const providers = parseYaml(readFileSync(join(DIR, 'grafana/provisioning/dashboards/scaph.yaml'), 'utf8')) as { providers: Array<{ options: { path: string } }> };
    expect(JSON.stringify(compose.services['grafana']?.volumes)).toContain(`./grafana/dashboards:${providers.providers[0]?.options.path}`);

    const dashboard = JSON.parse(readFileSync(join(DIR, 'grafana/dashboards/scaph.json'), 'utf8')) as {
      panels: Array<{ title: string; datasource: { uid: string }; targets: Array<{ expr: string; datasource: { uid: string } }> }>;
      templating: { list: Array<{ name: string; type: string; query: string }> };
    };
    // Scaphandre's demo: a process_filter text box and a "filtered process power, by exe" panel using it.
    expect(dashboard.templating.list.find((v) => v.name === 'process_filter')).toMatchObject({ type: 'textbox' });
    const filtered = dashboard.panels.find((p) => /^Filtered process .*power, by exe$/.test(p.title));
    expect(filtered?.targets.map((t) => t.expr)).toEqual([
      'sum by (instance, exe) (scaph_process_power_consumption_microwatts{instance=~"$instance", exe=~".*${process_filter:regex}.*"}) / 1e6',
    ]);
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
