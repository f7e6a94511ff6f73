import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPowercapTree } from '../../support/fixtures/powercap-tree.js';
import { runScaph, SCAPH_BIN as BIN } from '../../support/fixtures/run-scaph.js';


async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function scaph(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30_000 });
}

describe('scaph CLI', () => {
  it('prints help, exporter help and the version', () => {
    const help = scaph(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--sensor <sensor>/);
    expect(help.stdout).toMatch(/stdout \[options\]\s+Print host/);
    expect(help.stdout).toMatch(/json \[options\]\s+Write reports/);
    const sub = scaph(['json', '--help']);
    expect(sub.status).toBe(0);
    expect(sub.stdout).toMatch(/--step-nano <ns>/);
    const version = scaph(['--version']);
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it.each([
    [['stdout', '--bogus']],
    [['stdout', '-s', 'abc']],
    [['--sensor', 'magic', 'stdout']],
    [['json', '-t', '0']],
    [['stdout', '-r', '(unclosed']],
    [['nosuchexporter']],
  ])('exits 2 with a one-line message for bad flags: %j', (args) => {
    const r = scaph(args);
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 1 with guidance when the powercap tree is missing', () => {
    const r = scaph(['--no-header', '--sensor', 'powercap_rapl', '--powercap-path', '/nonexistent/powercap', 'stdout', '-t', '1']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/intel_rapl_common/);
    expect(r.stderr).toMatch(/--vm/);
    expect(r.stderr).toMatch(/--sensor estimate/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('with --vm and no hypervisor tree, says how to share it instead of advising modprobe', () => {
    const r = scaph(['--no-header', '--vm', '--powercap-path', '/nonexistent/vmtree', 'stdout', '-t', '1']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/No VM power tree under \/nonexistent\/vmtree/);
    expect(r.stderr).toMatch(/scaph qemu/);
    expect(r.stderr).not.toMatch(/modprobe/);
  });

  it('reads $SCAPHANDRE_POWERCAP_PATH as the default tree', () => {
    const r = scaph(['--no-header', '--sensor', 'powercap_rapl', 'stdout', '-t', '1'], { SCAPHANDRE_POWERCAP_PATH: '/nonexistent/from-env' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('/nonexistent/from-env');
  });

  it('falls back to the estimate with one warning under --sensor auto when there is no RAPL', () => {
    const r = scaph(['--no-header', '--powercap-path', '/nonexistent/powercap', 'json', '-t', '1.2', '-s', '0.5']);
    expect(r.status).toBe(0);
    const reports = JSON.parse(r.stdout) as Array<{ host: { value_source: string; consumption: number } }>;
    expect(reports.length).toBeGreaterThanOrEqual(1);
    expect(reports[0]?.host.value_source).toBe('estimate');
    expect(reports[0]?.host.consumption).toBeGreaterThan(0);
    expect(r.stderr.split('\n').filter((line) => line.includes('estimate'))).toHaveLength(1);
  });

  it('leaves valid JSON when the json exporter is stopped by SIGTERM', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'scaph-cli-')), 'out.json');
    const child = spawn(process.execPath, [BIN, '--no-header', '--sensor', 'estimate', 'json', '-t', '-1', '-s', '0.2', '-f', file], { stdio: 'ignore' });
    // Stop it mid-run, once at least two reports are out (start-up time varies on a loaded box).
    await until(() => existsSync(file) && readFileSync(file, 'utf8').split('\n{').length > 2);
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(0);
    const reports = JSON.parse(readFileSync(file, 'utf8')) as unknown[];
    expect(reports.length).toBeGreaterThanOrEqual(2);
  });

  it('leaves valid JSON on stdout after SIGINT', async () => {
    const child = spawn(process.execPath, [BIN, '--no-header', '--sensor', 'estimate', 'json', '-t', '-1', '-s', '0.2'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await until(() => out.split('\n{').length > 2);
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(0);
    expect((JSON.parse(out) as unknown[]).length).toBeGreaterThanOrEqual(2);
  });

  it('reports host, every socket and their domains from a RAPL tree (2-socket server, counters wrapping)', async () => {
    const tree = createPowercapTree('server2s', { clock: 'real', wrapEverySeconds: 1.5 });
    try {
      const { code, stdout: out, stderr } = await runScaph(['--no-header', '--sensor', 'powercap_rapl', '--powercap-path', tree.powercapPath, 'json', '-t', '4.5', '-s', '1']);
      expect(code, stderr).toBe(0);
      type Report = { host: { consumption: number; value_source: string }; sockets: Array<{ id: number; consumption: number; domains: Array<{ name: string; consumption: number }> }> };
      const reports = JSON.parse(out) as Report[];
      expect(reports.length).toBeGreaterThanOrEqual(3);
      const truthHostW = 62 + 11.25 + 48 + 9.5; // packages + dram; the mmio twin is not counted
      for (const r of reports) {
        expect(r.host.value_source).toBe('powercap_rapl_pkg');
        // Real clock, counters rewritten every 10 ms by this process: a few % of timing noise.
        expect(Math.abs(r.host.consumption / 1e6 - truthHostW) / truthHostW).toBeLessThan(0.05);
        expect(r.sockets.map((s) => s.id)).toEqual([0, 1]);
        expect(r.sockets[1]?.domains.map((d) => d.name).sort()).toEqual(['core', 'dram', 'uncore']);
        expect(Math.abs((r.sockets[0]?.consumption ?? 0) / 1e6 - 62) / 62).toBeLessThan(0.05);
      }
      expect(tree.wraps('intel-rapl:0')).toBeGreaterThan(0);
    } finally {
      tree.close();
    }
  });
});
