/**
 * The built CLI with a platform meter: a synthetic hwmon tree (real clock) or a Redfish BMC (test server,
 * HTTPS with a test CA) for host power, a synthetic 2-socket RAPL tree beside it for sockets. Host power
 * within 1 % of the meter's known wattage, sockets from RAPL, and the power RAPL does not see.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HwmonTree } from '../../support/fixtures/hwmon-tree.js';
import { createPowercapTree, type PowercapTree } from '../../support/fixtures/powercap-tree.js';
import { runScaph, startScaph } from '../../support/fixtures/run-scaph.js';
import { FakeBmc } from '../../support/servers/redfish-bmc.js';
import { makeTestPki, type TestPki } from '../../support/servers/test-ca.js';

interface Report {
  readonly host: { readonly consumption: number; readonly value_source: string; readonly outside_rapl_consumption?: number; readonly timestamp: number };
  readonly sockets: ReadonlyArray<{ readonly id: number; readonly consumption: number; readonly domains: ReadonlyArray<{ readonly name: string; readonly consumption: number }> }>;
}

// server2s: packages 62 + 48 W, dram 11.25 + 9.5 W.
const RAPL_HOST_W = 62 + 11.25 + 48 + 9.5;

let dir: string;
let rapl: PowercapTree;
let pki: TestPki;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'scaph-platform-'));
  rapl = createPowercapTree('server2s', { clock: 'real' });
  pki = makeTestPki(dir);
});
afterAll(() => {
  rapl.close();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function relative(actualW: number, truthW: number): number {
  return Math.abs(actualW - truthW) / truthW;
}

/** Every report's host power is one of the meter's wattages (within 1 %), sockets and the remainder from RAPL. */
function expectPlatformReports(reports: readonly Report[], valueSource: string, wattages: readonly number[]): void {
  expect(reports.length).toBeGreaterThanOrEqual(4);
  for (const r of reports) {
    const w = r.host.consumption / 1e6;
    expect(Math.min(...wattages.map((t) => relative(w, t))), `${w} W is none of ${wattages.join(', ')}`).toBeLessThan(0.01);
    expect(r.host.value_source).toBe(valueSource);
    expect(r.sockets.map((s) => s.id)).toEqual([0, 1]);
    expect(r.sockets[0]?.domains.map((d) => d.name).sort()).toEqual(['core', 'dram', 'uncore']);
    // What RAPL does not see is the meter minus RAPL's host sum (packages and dram) of the same step.
    const raplUw = r.sockets.reduce((sum, s) => sum + s.consumption + (s.domains.find((d) => d.name === 'dram')?.consumption ?? 0), 0);
    expect(Math.abs((r.host.outside_rapl_consumption ?? -1) - Math.max(0, r.host.consumption - raplUw))).toBeLessThanOrEqual(8);
  }
  // RAPL's counters are rewritten every 10 ms by this process: on a loaded box one step can be off by a late
  // rewrite; the median cannot.
  const rapl = reports.map((r) => (r.host.consumption - (r.host.outside_rapl_consumption ?? 0)) / 1e6).sort((a, b) => a - b);
  expect(relative(rapl[Math.floor(rapl.length / 2)] ?? 0, RAPL_HOST_W)).toBeLessThan(0.05);
}

describe('scaph --sensor hwmon', () => {
  it('the ACPI power meter as host power as it changes, sockets from RAPL beside it, the rest as outside RAPL', async () => {
    const tree = new HwmonTree([{ name: 'coretemp', channels: [] }, { name: 'power_meter', channels: [{ id: 'power1', watts: 312.5, averageIntervalMs: 1000 }] }], { clock: 'real' });
    try {
      const run = startScaph(['--no-header', '--sensor', 'hwmon', '--hwmon-path', tree.hwmonPath, '--powercap-path', rapl.powercapPath, 'json', '-t', '5', '-s', '0.5']);
      await sleep(2500);
      tree.setWatts('hwmon1', 'power1', 450);
      const r = await run.done;
      expect(r.code, r.stderr).toBe(0);
      const reports = JSON.parse(r.stdout) as Report[];
      expectPlatformReports(reports, 'hwmon_power_meter', [312.5, 450]);
      expect(reports.some((x) => relative(x.host.consumption / 1e6, 312.5) < 0.01)).toBe(true);
      expect(relative((reports[reports.length - 1]?.host.consumption ?? 0) / 1e6, 450)).toBeLessThan(0.01);
    } finally {
      tree.close();
    }
  });

  it('named channels summed, an energy counter wrapping on the way: the mean within 1 % of the truth; -v lists the devices', async () => {
    // A 32-bit µJ counter 1.6e8 µJ from its top: at 80 W it wraps 2 s into the run.
    const tree = new HwmonTree(
      [
        { name: 'power_meter', channels: [{ id: 'power1', watts: 312.5 }] },
        { name: 'grace', channels: [{ id: 'energy1', watts: 80, startUj: 2 ** 32 - 1.6e8, label: 'Module Energy' }] },
      ],
      { clock: 'real' },
    );
    try {
      const r = await runScaph(['--no-header', '-v', '--sensor', 'hwmon', '--hwmon-path', tree.hwmonPath, '--hwmon-channel', 'grace/energy1', '--hwmon-channel', 'hwmon0/power1', '--powercap-path', '/nonexistent', 'json', '-t', '5', '-s', '1']);
      expect(r.code, r.stderr).toBe(0);
      const reports = JSON.parse(r.stdout) as Report[];
      expect(reports.length).toBeGreaterThanOrEqual(4);
      const watts = reports.map((x) => x.host.consumption / 1e6);
      // One report can be off by a counter rewrite the timer made late on a loaded box; the mean cannot.
      for (const w of watts) expect(relative(w, 392.5)).toBeLessThan(0.05);
      expect(relative(watts.reduce((a, b) => a + b, 0) / watts.length, 392.5)).toBeLessThan(0.01);
      for (const x of reports) {
        expect(x.host.value_source).toBe('hwmon');
        expect(x.sockets).toEqual([]);
        expect(x.host.outside_rapl_consumption).toBeUndefined();
      }
      expect(tree.wraps('hwmon1', 'energy1')).toBeGreaterThanOrEqual(1);
      expect(r.stderr).toContain('hwmon: host power from hwmon1/energy1_input (grace, "Module Energy") + hwmon0/power1_average (power_meter)');
      expect(r.stderr).toMatch(/no readable RAPL under \/nonexistent: host power from the hwmon meter, no socket or RAPL domain figures/);
    } finally {
      tree.close();
    }
  });
});

describe('scaph --sensor redfish', () => {
  it('the BMC\'s reading as host power over one session, polled every interval in the background; sockets from RAPL', async () => {
    const bmc = await FakeBmc.start({ pki, user: 'monitor', password: 'calvin', chassis: [{ id: 'System.Embedded.1', watts: 412.5 }] });
    try {
      const run = startScaph(
        ['--no-header', '--sensor', 'redfish', '--redfish-url', bmc.url, '--redfish-user', 'monitor', '--redfish-ca', pki.caPath, '--redfish-interval', '1',
          '--powercap-path', rapl.powercapPath, 'json', '-t', '6', '-s', '0.5'],
        { env: { SCAPH_REDFISH_PASSWORD: 'calvin' } },
      );
      await sleep(3000);
      bmc.chassis('System.Embedded.1').watts = 500;
      const r = await run.done;
      expect(r.code, r.stderr).toBe(0);
      const reports = JSON.parse(r.stdout) as Report[];
      expectPlatformReports(reports, 'redfish', [412.5, 500]);
      expect(relative((reports[reports.length - 1]?.host.consumption ?? 0) / 1e6, 500)).toBeLessThan(0.01);
      // One session, ended at exit; the power resource asked about once a second, each answer awaited by no step.
      expect(bmc.sessionsCreated).toBe(1);
      expect(bmc.sessionsDeleted).toBe(1);
      const polls = bmc.powerRequests();
      const gaps = polls.slice(1).map((p, i) => p.atMs - (polls[i]?.atMs ?? 0));
      const answers = polls.map((p) => (p.answeredAtMs ?? p.atMs) - p.atMs);
      console.log(JSON.stringify({ polls: polls.length, gapMs: { min: Math.min(...gaps), mean: gaps.reduce((a, b) => a + b, 0) / gaps.length, max: Math.max(...gaps) }, answerMsMax: Math.max(...answers), loadavg: readFileSync('/proc/loadavg', 'utf8').trim() }));
      expect(polls.length).toBeGreaterThanOrEqual(4);
      expect(Math.min(...gaps.slice(1))).toBeGreaterThanOrEqual(950);
    } finally {
      await bmc.close();
    }
  });
});

describe('scaph run --check with a platform meter', () => {
  it('lists the hwmon devices found and the channels host power would sum; none usable: exit 1 naming what was found', async () => {
    const tree = new HwmonTree([{ name: 'nvme', channels: [] }, { name: 'power_meter', channels: [{ id: 'power1', watts: 200, averageIntervalMs: 2000, label: 'System' }] }]);
    const config = join(dir, 'hwmon.toml');
    try {
      writeFileSync(config, `[sensor]\nkind = "hwmon"\nhwmon_path = "${tree.hwmonPath}"\n[[exporter]]\ntype = "stdout"\n`);
      const ok = await runScaph(['--no-header', 'run', '-c', config, '--check']);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toContain(`  hwmon devices under ${tree.hwmonPath}:\n    hwmon0 nvme: no power or energy channel\n    hwmon1 power_meter: power1 (power1_average, averaged over 2000 ms, "System")\n`);
      expect(ok.stdout).toContain('  host power (value_source="hwmon_power_meter"): hwmon1/power1_average (power_meter)');
      writeFileSync(config, `[sensor]\nkind = "hwmon"\nhwmon_path = "${tree.hwmonPath}"\nhwmon_channel = "nvme/power1"\n[[exporter]]\ntype = "stdout"\n`);
      const bad = await runScaph(['--no-header', 'run', '-c', config, '--check']);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/^scaph: --hwmon-channel nvme\/power1: hwmon0 \(nvme\) has no channel power1 under .*Found: \n {2}hwmon0 nvme: no power or energy channel\n {2}hwmon1 power_meter: power1/);
    } finally {
      tree.close();
    }
  });

  it('redfish: says what would be asked without contacting the BMC', async () => {
    const config = join(dir, 'redfish.toml');
    writeFileSync(config, `[sensor]\nkind = "redfish"\nredfish_url = "https://192.0.2.1"\nredfish_user = "monitor"\nredfish_interval = "30s"\n[[exporter]]\ntype = "stdout"\n`);
    const r = await runScaph(['--no-header', 'run', '-c', config, '--check']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('  redfish: https://192.0.2.1 as user monitor, the first chassis that reports power, every 30 s (the BMC is not contacted by --check)');
    expect(r.ms).toBeLessThan(10_000);
  });
});
