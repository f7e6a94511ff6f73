/**
 * Scaphandre's documented command lines for the exporters that serve or push metrics, run against the
 * built CLI as typed, with only a free loopback port added where the docs use a fixed one: the
 * prometheus exporter (`-s metrics2`, the 14 names of its metrics reference, the PromQL of the how-to),
 * the Riemann exporter over mutual TLS with its documented flags and the default address, the Warp 10
 * exporter with its token in SCAPH_WARP10_WRITE_TOKEN, and the same names through remote-write.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PowercapTree } from '../../support/fixtures/powercap-tree.js';
import { makeTestCerts, type TestCerts } from '../../support/servers/certs.js';
import { freePort, waitFor } from '../../support/servers/free-port.js';
import { startScrapingPrometheus } from '../../support/servers/prometheus-scrape.js';
import { promtoolCheckMetrics, remarkKinds } from '../../support/servers/promtool.js';
import { FakeRiemannServer, type StoredEvent } from '../../support/servers/riemann.js';
import { startVictoriaMetrics } from '../../support/servers/victoria-metrics.js';
import { Warp10TestServer } from '../../support/servers/warp10.js';
import { parseExposition, realTimeServerTree, SERVER2S_HOST_W, spawnMarker, startScaph, type ExpositionSample, type Marker } from '../../support/harness/compat.js';
import { REFERENCE_METRICS, REFERENCE_NAMES, riemannServiceOf } from '../../support/oracles/scaphandre-reference.js';

let tree: PowercapTree;
let env: NodeJS.ProcessEnv;
let marker: Marker;

beforeAll(() => {
  ({ tree, env } = realTimeServerTree());
  marker = spawnMarker('scaph-compat-nginx-lookalike');
});

afterAll(() => {
  marker?.stop();
  tree?.close();
});

/** Each reference name is there, each of its series carrying the labels the reference gives it. */
function expectReferenceSeries(samples: readonly ExpositionSample[]): void {
  for (const name of REFERENCE_NAMES) {
    const series = samples.filter((s) => s.name === name);
    expect(series.length, name).toBeGreaterThan(0);
    for (const s of series) for (const label of REFERENCE_METRICS[name] ?? []) expect(s.labels[label], `${name} ${label}`).toBeDefined();
  }
  const sockets = (name: string) => samples.filter((s) => s.name === name).map((s) => s.labels['socket_id']);
  expect(sockets('scaph_socket_power_microwatts')).toEqual(['0', '1']);
  expect(sockets('scaph_self_socket_records_nb')).toEqual(['0', '1']);
  const domains = samples.filter((s) => s.name === 'scaph_self_domain_records_nb').map((s) => `${s.labels['socket_id']}/${s.labels['rapl_domain_name']}`);
  expect(domains).toEqual(['0/core', '0/uncore', '0/dram', '1/core', '1/uncore', '1/dram']);
}

/** The values the metric table of docs/metrics.md documents, for the server2s tree. */
function expectReferenceValues(samples: readonly ExpositionSample[], readAfterMs: number): void {
  const value = (name: string) => samples.find((s) => s.name === name)?.value ?? Number.NaN;
  expect(Math.abs(value('scaph_host_power_microwatts') / 1e6 - SERVER2S_HOST_W)).toBeLessThan(SERVER2S_HOST_W * 0.1);
  // The time of the host energy reading: the latest sample's, a moment ago.
  const energyAtMs = value('scaph_host_energy_timestamp_seconds') * 1000;
  expect(energyAtMs).toBeGreaterThan(readAfterMs - 6_000);
  expect(energyAtMs).toBeLessThanOrEqual(Date.now());
  // What the sensor keeps: one /proc/stat reading, one reading per package and dram zone host power sums
  // (2 sockets, no psys: 4), one per socket package and per domain, no per-socket CPU statistics.
  expect([value('scaph_self_topo_stats_nb'), value('scaph_self_topo_records_nb')]).toEqual([1, 4]);
  expect(samples.filter((s) => /^scaph_self_(socket|domain)_records_nb$/.test(s.name)).every((s) => s.value === 1)).toBe(true);
  expect(samples.filter((s) => s.name === 'scaph_self_socket_stats_nb').every((s) => s.value === 0)).toBe(true);
  expect(value('scaph_self_topo_procs_nb')).toBe(samples.filter((s) => s.name === 'scaph_process_power_consumption_microwatts').length);
  // statm pages of a Node.js agent: hundreds of MB of address space, tens of MB resident (4 KiB pages).
  const [size, resident, shared] = ['total_program_size', 'resident_set_size', 'shared_resident_size'].map((m) => value(`scaph_self_mem_${m}`));
  expect(size).toBeGreaterThan(resident ?? 0);
  expect(resident).toBeGreaterThan(shared ?? 0);
  expect((resident ?? 0) * 4096).toBeGreaterThan(20e6);
  expect(shared).toBeGreaterThan(0);
}

describe('prometheus exporter: scaph prometheus -s metrics2', () => {
  it('serves /metrics2 within about a second of start (no 503 for a whole step), then a sample every 5 s', async () => {
    const port = await freePort();
    const run = startScaph(['prometheus', '-s', 'metrics2', '-a', '127.0.0.1', '-p', String(port)], env);
    try {
      const url = `http://127.0.0.1:${port}/metrics2`;
      // From the moment it listens (its first answer, 503 or 200) to the first sample: about a second.
      const listening = await waitFor(async () => ((await fetch(url).catch(() => null)) ? performance.now() : null), 15_000, 'the exporter to listen', 20);
      const firstAt = await waitFor(async () => ((await fetch(url)).status === 200 ? performance.now() : null), 10_000, 'the first sample', 20);
      expect(firstAt - listening).toBeLessThan(2_000);
      const first = parseExposition(await (await fetch(url)).text());
      const firstEnergyAt = first.find((s) => s.name === 'scaph_host_energy_timestamp_seconds')?.value ?? 0;
      // Later samples keep the default 5 s step.
      const second = await waitFor(async () => {
        const s = parseExposition(await (await fetch(url)).text());
        return (s.find((x) => x.name === 'scaph_host_energy_timestamp_seconds')?.value ?? 0) > firstEnergyAt ? s : null;
      }, 10_000, 'the second sample', 100);
      const stepS = (second.find((x) => x.name === 'scaph_host_energy_timestamp_seconds')?.value ?? 0) - firstEnergyAt;
      expect(stepS).toBeGreaterThan(4.5);
      expect(stepS).toBeLessThan(5.5);
      // The default path is not served: the index page links to the one asked for.
      const other = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(other.status).toBe(404);
      expect(await other.text()).toContain('href="/metrics2"');
    } finally {
      expect((await run.stop()).code).toBe(0);
    }
  });

  it("has the 14 names of Scaphandre's metrics reference, with their labels and honest values, promtool-clean; a real Prometheus stores them under those names", async () => {
    const port = await freePort();
    const startedMs = Date.now();
    const run = startScaph(['prometheus', '-s', 'metrics2', '-a', '127.0.0.1', '-p', String(port), '--step', '1'], env);
    const prom = await startScrapingPrometheus(`127.0.0.1:${port}`, '/metrics2');
    try {
      const url = `http://127.0.0.1:${port}/metrics2`;
      const body = await waitFor(async () => {
        const res = await fetch(url).catch(() => null);
        if (res?.status !== 200) return null;
        const text = await res.text();
        // The marker has been seen in two readings (a process needs an interval to get a share).
        return text.includes(`pid="${marker.pid}"`) ? text : null;
      }, 15_000, 'a sample with the marker process');
      const samples = parseExposition(body);
      expectReferenceSeries(samples);
      expectReferenceValues(samples, startedMs);
      const check = await promtoolCheckMetrics(body);
      expect(check.errors).toEqual([]);
      expect([0, 3]).toContain(check.code);
      // Lint remarks only on names that are Scaphandre's own choice (counters without _total, µJ).
      expect(remarkKinds(check.remarks)).toEqual(['counter metrics should have "_total" suffix', 'use base unit "joules" instead of "microjoules"']);

      // Scraped by Prometheus (which asks for OpenMetrics first), every name is queryable as documented.
      const stored = await waitFor(async () => {
        const res = await fetch(`${prom.url}/api/v1/label/__name__/values`);
        const names = ((await res.json()) as { data: string[] }).data;
        return REFERENCE_NAMES.every((n) => names.includes(n)) ? names : null;
      }, 30_000, 'the reference names in Prometheus');
      expect(stored.filter((n) => n.endsWith('_total') && n.startsWith('scaph_host'))).toEqual([]);
      // The how-to's query: one application's power in watts, by a regex on cmdline.
      const nginx = await prom.query(`scaph_process_power_consumption_microwatts{cmdline=~".*${marker.word}.*", instance="127.0.0.1:${port}"} / 1000000`);
      expect(nginx.map((r) => [r.metric['pid'], r.metric['exe']])).toEqual([[String(marker.pid), marker.exe]]);
      expect(Number(nginx[0]?.value[1])).toBeGreaterThan(0);
    } finally {
      await prom.stop();
      expect((await run.stop()).code).toBe(0);
    }
  });
});

describe('riemann exporter: scaph riemann --mtls --ca --cert --key', () => {
  let certs: TestCerts;
  beforeAll(() => {
    certs = makeTestCerts();
  });
  afterAll(() => certs?.cleanup());

  /** Sample times (the delivery self-metrics carry their own), by the host power event each sample has. */
  function sampleTimes(events: readonly StoredEvent[]): number[] {
    return events.filter((e) => e.service === 'scaph_host_power_microwatts').map((e) => e.timeMicros ?? 0);
  }

  /** The events of one sample, by service. */
  function byService(events: readonly StoredEvent[], timeMicros: number): Map<string, StoredEvent[]> {
    const services = new Map<string, StoredEvent[]>();
    for (const e of events) if (e.timeMicros === timeMicros) services.set(e.service ?? '', [...(services.get(e.service ?? '') ?? []), e]);
    return services;
  }

  /** The first sample whose events hold a service for every reference name (the marker's process among them). */
  function completeSample(events: readonly StoredEvent[]): Map<string, StoredEvent[]> | null {
    for (const t of sampleTimes(events)) {
      const services = byService(events, t);
      if (REFERENCE_NAMES.every((name) => services.has(riemannServiceOf(name, marker.pid, marker.exe)))) return services;
    }
    return null;
  }

  it("connects to the default address (localhost) over mutual TLS and sends every reference name under Scaphandre's services", async () => {
    const server = await FakeRiemannServer.start({ tls: { ca: certs.read(certs.caFile), cert: certs.read(certs.server.certFile), key: certs.read(certs.server.keyFile) } });
    const client = certs.clientPkcs8;
    // As documented, with the port of the test server (Riemann's TLS port is 5554 in the docs' config).
    const run = startScaph(['riemann', '--mtls', '--ca', certs.caFile, '--cert', client.certFile, '--key', client.keyFile, '-p', String(server.port)], env);
    try {
      await server.waitFor((events) => completeSample(events) !== null, 20_000);
      expect(server.counts.tlsRejected).toBe(0);
      const latest = completeSample(server.events) as Map<string, StoredEvent[]>;
      // One service for both sockets, as in Scaphandre: the id is an attribute.
      const sockets = latest.get('scaph_socket_power_microwatts') ?? [];
      expect(sockets.map((e) => e.attributes?.find((a) => a.key === 'socket_id')?.value)).toEqual(['0', '1']);
      expect(sockets.every((e) => e.tags?.includes('scaphandre'))).toBe(true);
      const domains = latest.get('scaph_self_domain_records_nb') ?? [];
      expect(domains.map((e) => e.attributes?.filter((a) => a.key === 'socket_id' || a.key === 'rapl_domain_name').map((a) => a.value).join('/'))).toEqual(['0/core', '0/uncore', '0/dram', '1/core', '1/uncore', '1/dram']);
      // The Riemann page's query finds the process by its executable.
      const found = server.events.filter((e) => /^process_power_consumption_microwatts_\d+_node$/.test(e.service ?? ''));
      expect(found.some((e) => e.service === `process_power_consumption_microwatts_${marker.pid}_node`)).toBe(true);
      const host = latest.get('scaph_host_power_microwatts')?.[0];
      expect(Math.abs((host?.metric ?? 0) / 1e6 - SERVER2S_HOST_W)).toBeLessThan(SERVER2S_HOST_W * 0.1);
    } finally {
      expect((await run.stop()).code).toBe(0);
      await server.stop();
    }
  });

  it('-vv riemann -a ADDRESS -p PORT --dispatch 1 (plain TCP); --per-socket-services gives each socket its own service', async () => {
    const server = await FakeRiemannServer.start();
    const run = startScaph(['-vv', 'riemann', '-a', '127.0.0.1', '-p', String(server.port), '--dispatch', '1', '--per-socket-services'], env);
    try {
      await server.waitFor((events) => sampleTimes(events).length >= 3, 15_000);
      const times = sampleTimes(server.events);
      // One second between two samples on the step's grid (the start-up reading, the first, comes 1 to 2 s
      // before the first of them with splay: the grid starts at this host's offset).
      expect((times[2] ?? 0) - (times[1] ?? 0)).toBeGreaterThan(0.7e6);
      expect((times[2] ?? 0) - (times[1] ?? 0)).toBeLessThan(1.5e6);
      const services = new Set(server.events.map((e) => e.service));
      for (const s of ['scaph_socket_power_microwatts_0', 'scaph_socket_power_microwatts_1', 'scaph_domain_power_microwatts_1_dram', 'scaph_self_domain_records_nb_0_core']) expect(services.has(s), s).toBe(true);
      expect(services.has('scaph_socket_power_microwatts')).toBe(false);
      // Log lines on stderr in the text format (level and message first), and the line saying Riemann took
      // data: its first batch, the start-up reading with the first sample on the grid (splay).
      expect(run.stderr).toMatch(/^INFO  machine sensor started procfsPath=\S+ processes=\d+ /m);
      expect(run.stderr).toMatch(new RegExp(`^INFO  first delivery accepted by the backend transport=riemann target=127\\.0\\.0\\.1:${server.port} samples=2 series=\\d+ time=`, 'm'));
    } finally {
      expect((await run.stop()).code).toBe(0);
      await server.stop();
    }
  });
});

describe('warp10 exporter: SCAPH_WARP10_WRITE_TOKEN=… scaph warp10 -H host -S 30', () => {
  it('writes every reference name as a class, with a host label, with the token from the environment, from the first second', async () => {
    const server = await Warp10TestServer.start({ writeTokens: ['w-token-from-env'] });
    // --no-splay: Scaphandre's timing (the first write at once); with splay it would wait for this host's
    // offset within the 30 s step (test/unit/agent/splay.test.ts).
    const run = startScaph(['warp10', '-H', '127.0.0.1', '-p', String(server.port), '-S', '30', '--no-splay'], { ...env, SCAPH_WARP10_WRITE_TOKEN: 'w-token-from-env' });
    try {
      // The step is 30 s; the first write does not wait for it.
      await waitFor(async () => (server.requests.some((r) => r.status === 200 && r.text.includes(`{pid=${marker.pid},`)) ? true : null), 15_000, 'a write with the marker');
      expect(performance.now() - run.startedAt).toBeLessThan(15_000);
      expect(server.requests.every((r) => r.token === 'w-token-from-env' && r.status === 200)).toBe(true);
      const classes = new Set(server.points.map((p) => p.className));
      for (const name of REFERENCE_NAMES) expect(classes.has(name), name).toBe(true);
      expect(server.points.every((p) => p.labels['host'] !== undefined)).toBe(true);
      const domains = server.series('scaph_self_domain_records_nb').map((p) => `${p.labels['socket_id']}/${p.labels['rapl_domain_name']}`);
      expect(new Set(domains)).toEqual(new Set(['0/core', '0/uncore', '0/dram', '1/core', '1/uncore', '1/dram']));
    } finally {
      expect((await run.stop()).code).toBe(0);
      await server.stop();
    }
  });
});

describe('remote-write: the same names', () => {
  it('every reference name reaches VictoriaMetrics under its own name', async () => {
    const vm = await startVictoriaMetrics();
    const run = startScaph(['remote-write', '-u', `${vm.baseUrl}/api/v1/write`, '-S', '1'], env);
    try {
      const names = await waitFor(async () => {
        await fetch(new URL('/internal/force_flush', vm.baseUrl));
        const res = await fetch(new URL('/api/v1/label/__name__/values', vm.baseUrl));
        const got = ((await res.json()) as { data: string[] }).data;
        return REFERENCE_NAMES.every((n) => got.includes(n)) ? got : null;
      }, 30_000, 'the reference names in VictoriaMetrics', 500);
      expect(names.filter((n) => n.startsWith('scaph_self_domain'))).toEqual(['scaph_self_domain_records_nb']);
    } finally {
      expect((await run.stop()).code).toBe(0);
      await vm.stop();
    }
  });
});
