/**
 * Numbers that lie: zones that disappear or turn unreadable while scaph runs, a tree where only a domain
 * can be read. A figure scaph cannot measure is never published: not as 0 W, not as the last value.
 * Readings resume by themselves when the files come back, said once when they stop and once when they
 * resume. An estimate standing in for RAPL counters scaph may not read says so, in every figure and in the
 * logs, with the fix (never by opening the counters to every user).
 */
import { chmodSync, chownSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createPowercapTree, type PowercapTree } from '../../support/fixtures/powercap-tree.js';
import { NOBODY, runScaph, startScaph } from '../../support/fixtures/run-scaph.js';
import { freePort, waitFor } from '../../support/servers/free-port.js';
import { eventually, expectClean, expectFailure, logLines, sleep, tempDir, JSON_LOGS } from '../../support/harness/bad-input.js';

interface HandZone {
  readonly dir: string;
  readonly name: string;
  readonly watts: number;
}

/**
 * A flat powercap tree whose counters grow in real time at known wattages. Each counter is replaced by
 * rename every 20 ms (as `scaph qemu` does), so a zone can be removed and brought back, or made to hold
 * garbage, at any moment.
 */
class HandTree {
  readonly root = tempDir('scaph-hand-tree-');
  private readonly startMs = Date.now();
  private readonly broken = new Map<string, string | null>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly zones: readonly HandZone[]) {
    for (const z of zones) this.create(z);
    this.timer = setInterval(() => this.update(), 20);
  }

  /** The zone disappears (module unloaded, VM migrated), or holds `content` instead of a number. */
  breakZone(dir: string, content: string | null = null): void {
    this.broken.set(dir, content);
    if (content === null) rmSync(join(this.root, dir), { recursive: true, force: true });
  }

  repair(dir: string): void {
    this.broken.delete(dir);
    const z = this.zones.find((x) => x.dir === dir);
    if (z) this.create(z);
  }

  close(): void {
    clearInterval(this.timer);
  }

  private create(z: HandZone): void {
    mkdirSync(join(this.root, z.dir), { recursive: true });
    writeFileSync(join(this.root, z.dir, 'name'), `${z.name}\n`);
    this.write(z);
  }

  private update(): void {
    for (const z of this.zones) if (this.broken.get(z.dir) !== null) this.write(z);
  }

  private write(z: HandZone): void {
    const content = this.broken.get(z.dir) ?? String(Math.floor(z.watts * (Date.now() - this.startMs) * 1000 + 1e9));
    const file = join(this.root, z.dir, 'energy_uj');
    try {
      writeFileSync(`${file}.tmp`, `${content}\n`);
      renameSync(`${file}.tmp`, file);
    } catch {
      // The zone was removed in between.
    }
  }
}

const trees: HandTree[] = [];
afterEach(() => {
  for (const t of trees.splice(0)) t.close();
});

function handTree(zones: readonly HandZone[]): HandTree {
  const t = new HandTree(zones);
  trees.push(t);
  return t;
}

const AMD: readonly HandZone[] = [
  { dir: 'intel-rapl:0', name: 'package-0', watts: 20 },
  { dir: 'intel-rapl:0:0', name: 'core', watts: 12 },
];

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
  const scaph = startScaph(['--no-header', ...JSON_LOGS, '--sensor', 'powercap_rapl', '--powercap-path', t.root, 'json', '-t', '6.5', '-s', '0.3'], { timeoutMs: 30_000 });
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
