/**
 * Numbers that lie: zones that disappear or turn unreadable while scaph runs, a tree where only a domain
 * can be read. A figure scaph cannot measure is never published: not as 0 W, not as the last value.
 * Readings resume by themselves when the files come back, said once when they stop and once when they
 * resume. An estimate standing in for RAPL counters scaph may not read says so, in every figure and in the
 * logs, with the fix (never by opening the counters to every user).
 */
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AMD_HAND_ZONES, HandTree, type HandZone } from '../../support/fixtures/hand-tree.js';
import { createPowercapTree, type PowercapTree } from '../../support/fixtures/powercap-tree.js';
import { NOBODY, runScaph, startScaph } from '../../support/fixtures/run-scaph.js';
import { spawnFakeQemu, LIBVIRT_ARGS } from '../../support/fakes/fake-qemu.js';
import { freePort, waitFor } from '../../support/servers/free-port.js';
import { startScrapingPrometheus, type RunningPrometheus } from '../../support/servers/prometheus-scrape.js';
import { pushgatewayGroups, startPushgateway } from '../../support/servers/pushgateway.js';
import { FakeRiemannServer } from '../../support/servers/riemann.js';
import { Warp10TestServer } from '../../support/servers/warp10.js';
import {
  eventually,
  expectClean,
  expectFailure,
  HOST_SERIES,
  jsonReportTimes,
  logLines,
  RemoteWriteReceiver,
  sleep,
  tempDir,
  JSON_LOGS,
} from '../../support/harness/bad-input.js';

const trees: HandTree[] = [];
afterEach(() => {
  for (const t of trees.splice(0)) t.close();
});

function handTree(zones: readonly HandZone[]): HandTree {
  const t = new HandTree(zones);
  trees.push(t);
  return t;
}

const AMD = AMD_HAND_ZONES;

interface Report {
  /** sensor_fallback: set when --sensor auto publishes the estimate instead of RAPL. */
  readonly host: { readonly consumption: number; readonly value_source: string; readonly sensor_fallback?: string; readonly timestamp: number };
  readonly sockets: ReadonlyArray<{ readonly id: number; readonly domains: ReadonlyArray<{ readonly name: string; readonly consumption: number }> }>;
}

/**
 * Measured ~20 W: the counter is rewritten from the wall clock every 20 ms by this test's own timer, so on a
 * loaded box one 0.3 s report can be off by a late rewrite (30 % seen); their median cannot.
 */
function expectAbout20W(reports: readonly Report[]): void {
  const watts = reports.map((x) => x.host.consumption / 1e6).sort((a, b) => a - b);
  expect(Math.abs((watts[Math.floor(watts.length / 2)] ?? 0) - 20)).toBeLessThan(2);
  for (const w of watts) expect(Math.abs(w - 20)).toBeLessThan(12);
}

function reportsOf(stdout: string): Report[] {
  return JSON.parse(stdout) as Report[];
}

/** Runs `scaph json` on the tree and breaks it at `breakAtMs`, repairs it at `repairAtMs`. */
async function runThrough(t: HandTree, breakIt: () => void, repairIt: () => void, breakAtMs = 1800, repairAtMs = 4200) {
  const scaph = startScaph(['--no-header', ...JSON_LOGS, '--sensor', 'powercap_rapl', '--powercap-path', t.root, 'json', '-t', '8', '-s', '0.3'], { timeoutMs: 30_000 });
  // Times count from the first report, not from the spawn: a loaded machine starts node a second late.
  await eventually(() => scaph.stdout.includes('"host"'), 10_000, 'the first report');
  const t0 = Date.now();
  await sleep(breakAtMs);
  const brokeAt = Date.now();
  breakIt();
  await sleep(repairAtMs - (Date.now() - t0));
  const repairedAt = Date.now();
  repairIt();
  const r = await scaph.done;
  return { r, brokeAt, repairedAt, reports: reportsOf(r.stdout) };
}

describe('zones that go away while scaph runs', () => {
  it('every zone removed: nothing is published until they come back (no stale 20 W), said once each way', async () => {
    const t = handTree(AMD);
    const { r, brokeAt, repairedAt, reports } = await runThrough(
      t,
      () => AMD.forEach((z) => t.breakZone(z.dir)),
      () => AMD.forEach((z) => t.repair(z.dir)),
    );
    expectClean(r);
    const during = reports.filter((x) => x.host.timestamp * 1000 > brokeAt + 350 && x.host.timestamp * 1000 < repairedAt);
    expect(during).toEqual([]);
    const before = reports.filter((x) => x.host.timestamp * 1000 < brokeAt);
    const after = reports.filter((x) => x.host.timestamp * 1000 > repairedAt);
    expect(before.length).toBeGreaterThanOrEqual(3);
    expect(after.length).toBeGreaterThanOrEqual(3);
    expectAbout20W([...before, ...after]);
    const lines = logLines(r.stderr);
    const stopped = lines.filter((l) => /no sample this step/.test(l.msg));
    expect(stopped).toHaveLength(1);
    expect(String(stopped[0]?.['err'])).toMatch(new RegExp(`host power cannot be measured: ${t.root}/intel-rapl:0/energy_uj: ENOENT`));
    const resumed = lines.filter((l) => /publishing resumes/.test(l.msg));
    expect(resumed).toHaveLength(1);
    expect(resumed[0]?.['skippedSteps']).toBeGreaterThanOrEqual(5);
  });

  it('the package counter turns to garbage, its core domain still readable: no 0 W, no stale value, just no report', async () => {
    const t = handTree(AMD);
    const { r, brokeAt, repairedAt, reports } = await runThrough(
      t,
      () => t.breakZone('intel-rapl:0', 'garbage'),
      () => t.repair('intel-rapl:0'),
    );
    expectClean(r);
    expect(reports.filter((x) => x.host.timestamp * 1000 > brokeAt + 350 && x.host.timestamp * 1000 < repairedAt)).toEqual([]);
    expectAbout20W(reports);
    expect(logLines(r.stderr).filter((l) => /no sample this step/.test(l.msg))).toHaveLength(1);
    expect(String(logLines(r.stderr).find((l) => /no sample this step/.test(l.msg))?.['err'])).toMatch(/intel-rapl:0\/energy_uj: not a number: "garbage"/);
  });

  it('a domain that turns unreadable is left out of the reports, host power goes on', async () => {
    const t = handTree(AMD);
    const { r, brokeAt, repairedAt, reports } = await runThrough(
      t,
      () => t.breakZone('intel-rapl:0:0'),
      () => t.repair('intel-rapl:0:0'),
    );
    expectClean(r);
    const during = reports.filter((x) => x.host.timestamp * 1000 > brokeAt + 350 && x.host.timestamp * 1000 < repairedAt);
    expect(during.length).toBeGreaterThanOrEqual(4);
    for (const x of during) expect(x.sockets[0]?.domains).toEqual([]);
    expectAbout20W(during);
    const last = reports[reports.length - 1];
    expect(last?.sockets[0]?.domains.map((d) => d.name)).toEqual(['core']);
    expect((last?.sockets[0]?.domains[0]?.consumption ?? 0) / 1e6).toBeGreaterThan(10);
    const lines = logLines(r.stderr);
    expect(lines.filter((l) => /cannot use this RAPL energy file/.test(l.msg))).toHaveLength(1);
    expect(lines.filter((l) => /RAPL energy file readable again/.test(l.msg))).toHaveLength(1);
  });
});

describe('a tree where only a domain can be read', () => {
  it('--sensor powercap_rapl: exit 1 naming the package file (host power would have been a fake 0 W)', async () => {
    const t = handTree(AMD);
    t.breakZone('intel-rapl:0', 'N/A');
    await sleep(50);
    const r = await runScaph(['--no-header', '--sensor', 'powercap_rapl', '--powercap-path', t.root, 'json', '-t', '1'], { timeoutMs: 20_000 });
    expectFailure(r, 1, new RegExp(`${t.root}/intel-rapl:0/energy_uj: not a number`), /no package or psys zone is readable, so host power cannot be measured/);
  });

  it('--sensor auto: the CPU-load estimate, labelled as such, with one warning', async () => {
    const t = handTree(AMD);
    t.breakZone('intel-rapl:0');
    const r = await runScaph(['--no-header', ...JSON_LOGS, '--powercap-path', t.root, 'json', '-t', '1.2', '-s', '0.5'], { timeoutMs: 20_000 });
    expectClean(r);
    const reports = reportsOf(r.stdout);
    expect(reports.length).toBeGreaterThanOrEqual(2);
    for (const x of reports) {
      expect(x.host.value_source).toBe('estimate');
      expect(x.host.consumption).toBeGreaterThan(0);
      expect(x.sockets).toEqual([]);
    }
    for (const x of reports) expect(x.host.sensor_fallback).toBe('rapl_missing');
    const said = logLines(r.stderr).filter((l) => /using the CPU-load estimate/.test(l.msg));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatchObject({ level: 40, reason: 'rapl_missing' });
    expect(said[0]?.msg).toContain('sudo modprobe intel_rapl_common');
  });

  it('a zone whose counter holds a value beyond 2^53 is not used (never a garbage figure)', async () => {
    const t = handTree([...AMD, { dir: 'intel-rapl:1', name: 'package-1', watts: 5 }]);
    t.breakZone('intel-rapl:1', '99999999999999999999999');
    await sleep(50);
    const r = await runScaph(['--no-header', '--sensor', 'powercap_rapl', '--powercap-path', t.root, 'json', '-t', '1.2', '-s', '0.5'], { timeoutMs: 20_000 });
    expectClean(r);
    for (const x of reportsOf(r.stdout)) expect(x.sockets.map((s) => s.id)).toEqual([0]);
    expect(r.stderr).toMatch(/out of range: 99999999999999999999999/);
  });

  it('a tree of intel-rapl-mmio twins only: exit 1 with the RAPL guidance', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'intel-rapl-mmio:0'));
    writeFileSync(join(dir, 'intel-rapl-mmio:0', 'name'), 'package-0\n');
    writeFileSync(join(dir, 'intel-rapl-mmio:0', 'energy_uj'), '123\n');
    const r = await runScaph(['--no-header', '--sensor', 'powercap_rapl', '--powercap-path', dir, 'stdout', '-t', '1']);
    expectFailure(r, 1, /No RAPL powercap zone found/, /--sensor estimate/);
  });
});

/** The packaged fix, as the warning and the error must say it. */
const GROUP_READ_FIX = /give group scaph read access with the rule the scaph packages install, `sudo systemd-tmpfiles --create scaph-powercap\.conf` \(\/usr\/lib\/tmpfiles\.d\/scaph-powercap\.conf; or the udev rule \/usr\/lib\/udev\/rules\.d\/99-scaph-powercap\.rules; from a source checkout see docs\/fleet\.md\), and run scaph in group scaph/;

describe('RAPL counters scaph may not read (root-only energy_uj, an agent that is not root)', () => {
  const opened: PowercapTree[] = [];
  afterEach(() => {
    for (const t of opened.splice(0)) t.close();
  });

  /** A two-socket tree whose energy_uj files are 0400 root, as the kernel has them since CVE-2020-8694. */
  function rootOnlyTree(): PowercapTree {
    const t = createPowercapTree('server2s', { clock: 'real' });
    opened.push(t);
    for (const z of t.zones) chmodSync(t.file(z), 0o400);
    return t;
  }

  it('--sensor auto: the estimate, marked in every report and in scaph_sensor_fallback; the warning gives the group-read fix and comes back', async () => {
    const t = rootOnlyTree();
    const port = await freePort();
    const scaph = startScaph(['--no-header', ...JSON_LOGS, '--powercap-path', t.powercapPath, 'prometheus', '-p', String(port), '-a', '127.0.0.1', '--step', '0.25'], {
      as: NOBODY,
      // The hourly reminder, shortened (a test hook).
      env: { SCAPH_TEST_SENSOR_FALLBACK_WARNING_MS: '700' },
      timeoutMs: 30_000,
    });
    try {
      const metrics = await waitFor(async () => {
        const res = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => null);
        return res?.status === 200 ? res.text() : null;
      }, 15_000, '/metrics', 100);
      expect(metrics).toMatch(/^scaph_sensor_fallback\{reason="rapl_unreadable"\} 1$/m);
      expect(metrics).toMatch(/^# TYPE scaph_sensor_fallback gauge$/m);
      expect(metrics).toMatch(/^scaph_host_power_microwatts\{value_source="estimate"\} \d+$/m);
      expect(metrics).not.toMatch(/^scaph_socket_power_microwatts/m);
      await sleep(2500);
      const r = await scaph.stop();
      expectClean(r);
      const warnings = logLines(r.stderr).filter((l) => l['reason'] === 'rapl_unreadable');
      // At start, then once per (shortened) period while it lasts (looked at on each reading, 0.25 s apart):
      // 2.5 s and more of running, 0.7 s apart.
      expect(warnings.length).toBeGreaterThanOrEqual(3);
      for (const w of warnings) {
        expect(w).toMatchObject({ level: 40, uid: NOBODY.uid, powercapPath: t.powercapPath, file: expect.stringMatching(/\/energy_uj$/) });
        expect(w.msg).toMatch(/RAPL energy counters exist but scaph's user may not read them; using the CPU-load estimate \(value_source="estimate", scaph_sensor_fallback\{reason="rapl_unreadable"\} 1\)/);
        expect(w.msg).toMatch(GROUP_READ_FIX);
        expect(w.msg).not.toMatch(/chmod|o\+r|a\+r/);
      }
      expect(warnings[0]).not.toHaveProperty('sinceS');
      expect(warnings[1]?.['sinceS']).toBeGreaterThanOrEqual(0);
    } finally {
      await scaph.stop('SIGKILL');
    }
  });

  it('--sensor auto, json: every report says value_source "estimate" and sensor_fallback "rapl_unreadable"', async () => {
    const t = rootOnlyTree();
    const r = await runScaph(['--no-header', '--powercap-path', t.powercapPath, 'json', '-t', '1.2', '-s', '0.5'], { as: NOBODY, timeoutMs: 20_000 });
    expectClean(r);
    const reports = reportsOf(r.stdout);
    expect(reports.length).toBeGreaterThanOrEqual(2);
    for (const x of reports) {
      expect(x.host).toMatchObject({ value_source: 'estimate', sensor_fallback: 'rapl_unreadable' });
      expect(x.sockets).toEqual([]);
    }
    // json is for a person at the terminal: warnings only, as text (level and message first).
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^WARN  RAPL energy counters exist but scaph's user may not read them; /);
    expect(lines[0]).toMatch(new RegExp(` powercapPath=${t.powercapPath} file=${t.powercapPath}/intel-rapl:\\S+/energy_uj uid=65534 reason=rapl_unreadable repeatEveryS=3600 time=\\S+$`));
  });

  it('--sensor powercap_rapl: exit 1 naming the file, with the group-read fix, never "make it readable by all"', async () => {
    const t = rootOnlyTree();
    const r = await runScaph(['--no-header', '--sensor', 'powercap_rapl', '--powercap-path', t.powercapPath, 'json', '-t', '1'], { as: NOBODY, timeoutMs: 20_000 });
    expectFailure(r, 1, /Permission denied reading .*\/energy_uj: RAPL energy_uj files are readable by root only since the fix for CVE-2020-8694/, GROUP_READ_FIX, /or run scaph as root/, /Do not make energy_uj readable by all users/);
    expect(r.stderr).not.toMatch(/chmod|o\+r|a\+r/);
    expect(r.stdout).toBe('');
  });

  it('the advice works: with group read access (0440) and scaph in that group, RAPL is measured, no fallback', async () => {
    const t = rootOnlyTree();
    const group = 64_999;
    for (const z of t.zones) {
      chownSync(t.file(z), 0, group);
      chmodSync(t.file(z), 0o440);
    }
    const r = await runScaph(['--no-header', '--powercap-path', t.powercapPath, 'json', '-t', '1.2', '-s', '0.5'], { as: { ...NOBODY, groups: [group] }, timeoutMs: 20_000 });
    expectClean(r);
    const reports = reportsOf(r.stdout);
    expect(reports.length).toBeGreaterThanOrEqual(2);
    for (const x of reports) {
      expect(x.host.value_source).toBe('powercap_rapl_pkg');
      expect(x.host).not.toHaveProperty('sensor_fallback');
      expect(x.sockets.map((s) => s.id)).toEqual([0, 1]);
    }
    expect(r.stderr).toBe('');
  });
});

/** What one probe of the prometheus exporter saw: /metrics with or without the host figure, /healthz. */
interface Probe {
  readonly atMs: number;
  readonly hostUw: number | null;
  readonly version: boolean;
  readonly health: number;
  readonly healthText: string;
}

/** The host power a /metrics body holds (µW), or null when it holds none. */
function hostPowerOf(body: string): number | null {
  const m = /^scaph_host_power_microwatts\{value_source="powercap_rapl_pkg"\} (\d+)$/m.exec(body);
  return m ? Number(m[1]) : null;
}

/** The host power a real Prometheus returns for an instant query at `atMs` (µW), or null for no series. */
async function promHostAt(prom: RunningPrometheus, atMs: number): Promise<number | null> {
  const res = await fetch(`${prom.url}/api/v1/query?query=scaph_host_power_microwatts&time=${atMs / 1000}`);
  const body = (await res.json()) as { data: { result: Array<{ value: [number, string] }> } };
  const first = body.data.result[0];
  return first ? Number(first.value[1]) : null;
}

describe('every exporter while the zones are gone (issue 27: a stale figure served as current)', () => {
  it('nothing publishes or keeps serving the last host power as current; each push keeps its sample time; figures come back with the readings', async () => {
    const tree = handTree(AMD);
    const dir = tempDir('scaph-gone-');
    const rw = await RemoteWriteReceiver.start();
    const riemann = await FakeRiemannServer.start();
    const warp = await Warp10TestServer.start();
    const pg = await startPushgateway();
    const promPort = await freePort();
    const guest = spawnFakeQemu([{ args: LIBVIRT_ARGS('vm-gone'), dutyPercent: 40 }]);
    const sampled = join(dir, 'sampled.json');
    writeFileSync(join(dir, 'token'), 'write-token\n');
    const config = join(dir, 'scaph.toml');
    const step = 'step = "300ms"';
    writeFileSync(
      config,
      `[sensor]\nkind = "powercap_rapl"\npowercap_path = "${tree.root}"\n${step}\n` +
        // --health-max-age at 5 steps, not the default 3: at a 0.3 s step on a loaded machine a reading 0.7 s late
        // is a real stall, which this case is not about.
        `[[exporter]]\ntype = "prometheus"\naddress = "127.0.0.1"\nport = ${promPort}\n${step}\nhealth_max_age = 1.5\n` +
        `[[exporter]]\ntype = "prometheus-push"\nhost = "127.0.0.1"\nport = ${new URL(pg.baseUrl).port}\n${step}\n` +
        `[[exporter]]\ntype = "remote-write"\nurl = "${rw.url}"\n${step}\n` +
        `[[exporter]]\ntype = "riemann"\naddress = "127.0.0.1"\nport = ${riemann.port}\n${step}\n` +
        `[[exporter]]\ntype = "warp10"\nhost = "127.0.0.1"\nport = ${warp.port}\nwrite_token_file = "token"\n${step}\n` +
        `[[exporter]]\ntype = "qemu"\npath = "${join(dir, 'vms')}"\n${step}\n` +
        `[[exporter]]\ntype = "stdout"\n${step}\n` +
        `[[exporter]]\ntype = "json"\nfile = "${sampled}"\n${step}\n`,
    );
    const prom = await startScrapingPrometheus(`127.0.0.1:${promPort}`);
    const agent = startScaph(['--no-header', ...JSON_LOGS, 'run', '-c', config], { timeoutMs: 90_000 });
    // When each stdout table arrived (they carry no timestamp).
    const tables: number[] = [];
    agent.child.stdout?.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) if (line.startsWith('Host:')) tables.push(Date.now());
    });
    const probes: Probe[] = [];
    const pgSeen: Array<{ readonly atMs: number; readonly host: boolean; readonly delivery: boolean }> = [];
    let probing = true;
    const probeLoop = (async () => {
      while (probing) {
        const atMs = Date.now();
        try {
          const metrics = await (await fetch(`http://127.0.0.1:${promPort}/metrics`)).text();
          const health = await fetch(`http://127.0.0.1:${promPort}/healthz`);
          probes.push({ atMs, hostUw: hostPowerOf(metrics), version: metrics.includes('scaph_self_version{'), health: health.status, healthText: await health.text() });
          const group = (await pushgatewayGroups(pg)).find((g) => g.labels['job'] === 'scaphandre');
          if (group) pgSeen.push({ atMs, host: group.families.has(HOST_SERIES), delivery: group.families.has('scaph_delivery_queue_depth') });
        } catch {
          // Not listening yet.
        }
        await sleep(100);
      }
    })();
    const vmCounter = (): number => Number(readFileSync(join(dir, 'vms', 'vm-gone', 'intel-rapl:0', 'energy_uj'), 'utf8'));
    try {
      await eventually(() => jsonReportTimes(sampled).length >= 6 && probes.some((p) => p.hostUw !== null) && pgSeen.some((g) => g.host), 30_000, 'samples before the zones go');
      await waitFor(async () => ((await promHostAt(prom, Date.now())) === null ? null : true), 15_000, 'Prometheus to have scraped the host power', 200);
      const brokeAt = Date.now();
      for (const z of AMD) tree.breakZone(z.dir);
      await sleep(1200);
      const vmDuring = vmCounter();
      await sleep(2300);
      const vmLater = vmCounter();
      const repairedAt = Date.now();
      for (const z of AMD) tree.repair(z.dir);
      await eventually(() => jsonReportTimes(sampled).filter((t) => t > repairedAt + 300).length >= 6, 15_000, 'samples after the zones came back');
      await sleep(1500);
      const vmAfter = vmCounter();
      // Queried at this time, not after the stop: a scrape of the stopped agent marks its series stale.
      const aliveAt = Date.now();
      probing = false;
      await probeLoop;
      const run = await agent.stop();
      expectClean(run);

      const taken = jsonReportTimes(sampled);
      // A reading in flight when the zones went may still land: the gap starts two steps in.
      const gapFrom = brokeAt + 700;
      const inGap = (t: number): boolean => t > gapFrom && t < repairedAt;
      expect(taken.filter(inGap)).toEqual([]);
      const before = taken.filter((t) => t < brokeAt);
      const after = taken.filter((t) => t > repairedAt);
      expect(before.length).toBeGreaterThanOrEqual(5);
      expect(after.length).toBeGreaterThanOrEqual(5);

      // prometheus: the figure while readings worked, none (the version only, HTTP 200) from the failed reading on,
      // the figure again after; /healthz says readings fail (never "stalled") once past --health-max-age (1.5 s here).
      const during = probes.filter((p) => inGap(p.atMs));
      expect(during.length).toBeGreaterThanOrEqual(15);
      for (const p of during) expect(p, JSON.stringify(p)).toMatchObject({ hostUw: null, version: true });
      expect(probes.filter((p) => p.atMs < brokeAt).some((p) => p.hostUw !== null && Math.abs(p.hostUw / 1e6 - 20) < 6)).toBe(true);
      expect(probes.filter((p) => p.atMs > repairedAt + 1000).every((p) => p.hostUw !== null)).toBe(true);
      const unhealthy = during.filter((p) => p.health === 503);
      expect(unhealthy.length).toBeGreaterThanOrEqual(5);
      for (const p of unhealthy) expect(p.healthText).toMatch(/^readings failing: the last \d+ readings failed \(host power cannot be measured: .*ENOENT.*\), \/metrics serves no figure until one works; last sample \d+\.\d s ago, more than the 1\.5 s allowed/);
      expect(probes.filter((p) => p.atMs > repairedAt + 1000).every((p) => p.health === 200)).toBe(true);
      const lines = logLines(run.stderr);
      expect(lines.filter((l) => /sampling has stalled/.test(l.msg))).toEqual([]);
      expect(lines.filter((l) => /readings have failed for longer than --health-max-age/.test(l.msg)).length).toBeLessThanOrEqual(1);

      // A real Prometheus scraping it: the series is absent mid-gap (marked stale), present before and after.
      expect(await promHostAt(prom, brokeAt - 10)).not.toBeNull();
      expect(await promHostAt(prom, brokeAt + 2500)).toBeNull();
      expect(await promHostAt(prom, aliveAt)).not.toBeNull();

      // prometheus-push: the group keeps its delivery counters but loses the host figure during the gap.
      const pgDuring = pgSeen.filter((g) => inGap(g.atMs) && g.atMs > gapFrom + 500);
      expect(pgDuring.length).toBeGreaterThanOrEqual(10);
      for (const g of pgDuring) expect(g).toMatchObject({ host: false, delivery: true });
      expect(pgSeen.filter((g) => g.atMs > repairedAt + 1500).every((g) => g.host)).toBe(true);

      // remote-write, Riemann, Warp 10: every sample taken arrived once, at its own timestamp; nothing in the gap.
      const sampledSet = new Set(taken);
      const sorted = (xs: Iterable<number>): number[] => [...xs].sort((a, b) => a - b);
      expect(sorted(rw.hostPoints)).toEqual(sorted(sampledSet));
      const riemannTimes = riemann.events.filter((e) => e.service === HOST_SERIES).map((e) => Math.round((e.timeMicros ?? 0) / 1000));
      expect(sorted(riemannTimes)).toEqual(sorted(sampledSet));
      const warpTimes = warp.series(HOST_SERIES).map((p) => Math.round(p.timestampUs / 1000));
      expect(sorted(warpTimes)).toEqual(sorted(sampledSet));

      // qemu: the VM's counter does not grow on a power nobody measured; it grows again after.
      expect(vmLater).toBe(vmDuring);
      expect(vmAfter).toBeGreaterThan(vmLater);

      // stdout: no table printed in the gap.
      expect(tables.filter(inGap)).toEqual([]);
      expect(tables.filter((t) => t > repairedAt).length).toBeGreaterThanOrEqual(3);
    } finally {
      probing = false;
      await probeLoop;
      await agent.stop('SIGKILL');
      guest.stop();
      await prom.stop();
      await pg.stop();
      await rw.stop();
      await riemann.stop();
      await warp.stop();
    }
  });
});

describe('--health-max-age against the step (issue 27: 503 while every sample arrives on time)', () => {
  it('below 2 steps: refused, exit 2, naming both values and the smallest accepted; by --check in a file too', async () => {
    expectFailure(
      await runScaph(['--no-header', '--sensor', 'estimate', 'prometheus', '--step', '2', '--health-max-age', '1']),
      2,
      /--health-max-age 1 is shorter than 2 steps \(--step 2\): samples come one step apart, so \/healthz would answer 503 between samples that arrive on time\. The smallest accepted is 4 \(or leave it out: 3 steps, 6\)/,
    );
    const config = join(tempDir(), 'health.toml');
    writeFileSync(config, '[[exporter]]\ntype = "prometheus"\nstep = 2\nhealth_max_age = 1\n');
    const r = await runScaph(['run', '-c', config, '--check']);
    expectFailure(r, 2, /exporter\[0\]: \(prometheus\) --health-max-age 1 is shorter than 2 steps \(--step 2\).*The smallest accepted is 4/);
    expect(r.stdout).toBe('');
  });

  it('at the smallest accepted (2 steps), samples on time: every probe 200, /metrics always has the figure, no stall line', async () => {
    const port = await freePort();
    const scaph = startScaph(['--no-header', ...JSON_LOGS, '--sensor', 'estimate', 'prometheus', '-a', '127.0.0.1', '-p', String(port), '--step', '0.5', '--health-max-age', '1'], {
      timeoutMs: 30_000,
    });
    try {
      await waitFor(async () => ((await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.status === 200 ? true : null), 15_000, 'the first sample', 50);
      const statuses: number[] = [];
      let withFigure = 0;
      const until = Date.now() + 4000;
      while (Date.now() < until) {
        statuses.push((await fetch(`http://127.0.0.1:${port}/healthz`)).status);
        if (/^scaph_host_power_microwatts\{value_source="estimate"\} \d+$/m.test(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text())) withFigure += 1;
        await sleep(50);
      }
      const r = await scaph.stop();
      expectClean(r);
      expect(statuses.length).toBeGreaterThanOrEqual(20);
      expect(statuses.filter((s) => s !== 200)).toEqual([]);
      expect(withFigure).toBe(statuses.length);
      expect(logLines(r.stderr).filter((l) => /stalled|readings have failed/.test(l.msg))).toEqual([]);
    } finally {
      await scaph.stop('SIGKILL');
    }
  });
});
