import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../../src/core/package-file.js';
import { HOST_SERIES } from '../../support/harness/bad-input.js';
import { runScaph } from '../../support/fixtures/run-scaph.js';
import { FakeRiemannServer } from '../../support/servers/riemann.js';
import { Warp10TestServer } from '../../support/servers/warp10.js';

const BIN = join(packageRoot(), 'dist', 'src', 'bin.js');
const dir = mkdtempSync(join(tmpdir(), 'scaph-run-cli-'));

function scaph(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
}

describe('scaph run (built CLI)', () => {
  it('--check prints a summary and the paths it will use, and exits 0; the run samples at [sensor] step until -t', () => {
    const out = join(dir, 'out.json');
    const config = join(dir, 'ok.toml');
    writeFileSync(config, `[sensor]\nkind = "estimate"\nstep = 0.5\n[[exporter]]\ntype = "json"\nfile = "${out}"\nstep = 0.5\n`);
    const check = scaph(['run', '-c', config, '--check']);
    expect(check.status).toBe(0);
    expect(check.stdout).toBe(`${config}: OK: sensor estimate every 0.5 s ([sensor] step); 1 exporter: json every 0.5 s (step)\n  exporter[0].file = ${out}\n`);
    const run = scaph(['--no-header', 'run', '-c', config, '-t', '2.2']);
    expect(run.status).toBe(0);
    const reports = JSON.parse(readFileSync(out, 'utf8')) as Array<{ host: { value_source: string } }>;
    expect(reports.length).toBeGreaterThanOrEqual(3);
    expect(reports.length).toBeLessThanOrEqual(5);
    expect(reports[0]?.host.value_source).toBe('estimate');
  });

  it('exits 2 listing every problem with file and line, no stack', () => {
    const config = join(dir, 'bad.yaml');
    writeFileSync(config, 'sensor:\n  kind: magic\nexporter:\n  - type: json\n    bogus: 1\n  - type: influx\n');
    const r = scaph(['run', '-c', config, '--check']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${config}:2: sensor.kind: must be one of powercap_rapl, estimate, auto, hwmon, redfish, got "magic"`);
    expect(r.stderr).toContain(`${config}:5: exporter[0].bogus: (json) unknown key for a json exporter; valid keys: `);
    expect(r.stderr).toContain(`${config}:6: exporter[1].type: unknown exporter type "influx"`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(scaph(['run', '-c', join(dir, 'missing.toml')]).status).toBe(2);
  });

  it("--check prints each exporter's step and where it came from: what was written, or its subcommand's default", () => {
    const config = join(dir, 'steps.toml');
    writeFileSync(
      config,
      '[sensor]\nkind = "estimate"\n' +
        '[[exporter]]\ntype = "riemann"\ndispatch_interval = 7\n' +
        '[[exporter]]\ntype = "warp10"\nwrite_token_file = "token"\n' +
        '[[exporter]]\ntype = "json"\nstep = 0\nstep_nano = 500000000\n' +
        '[[exporter]]\ntype = "prometheus"\nport = 0\n',
    );
    writeFileSync(join(dir, 'token'), 't\n');
    const check = scaph(['run', '-c', config, '--check']);
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
    expect(check.stdout.split('\n')[0]).toBe(
      `${config}: OK: sensor estimate every 0.5 s (the shortest exporter step); 4 exporters: riemann every 7 s (dispatch_interval), ` +
        'warp10 every 30 s (default), json every 0.5 s (step + step_nano), prometheus every 5 s (default)',
    );
    // Written below a [sensor] step written: refused, naming both; a default below it is raised to it.
    writeFileSync(config, '[sensor]\nkind = "estimate"\nstep = 10\n[[exporter]]\ntype = "riemann"\ndispatch_interval = 7\n[[exporter]]\ntype = "stdout"\n');
    const refused = scaph(['run', '-c', config, '--check']);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain(`${config}:6: exporter[0].dispatch_interval: (riemann) a step of 7 s is shorter than [sensor] step (10 s)`);
    writeFileSync(config, '[sensor]\nkind = "estimate"\nstep = 10\n[[exporter]]\ntype = "stdout"\n');
    expect(scaph(['run', '-c', config, '--check']).stdout).toContain('1 exporter: stdout every 10 s (default 2 s, raised to [sensor] step)');
  });

  it('--credentials-directory says what ${CREDENTIALS_DIRECTORY} stands for; without it the one error names the variable and the flag', () => {
    const credentials = join(dir, 'credentials');
    mkdirSync(credentials, { recursive: true });
    writeFileSync(join(credentials, 'scaph_remote-write-token'), 'token\n');
    const config = join(dir, 'credentials.toml');
    writeFileSync(config, '[[exporter]]\ntype = "remote-write"\nurl = "http://127.0.0.1:9/api/v1/write"\nbearer_token_file = "${CREDENTIALS_DIRECTORY}/scaph_remote-write-token"\n');
    const env = { ...process.env, CREDENTIALS_DIRECTORY: undefined };
    const unset = spawnSync(process.execPath, [BIN, 'run', '-c', config, '--check'], { encoding: 'utf8', timeout: 30_000, env });
    expect(unset.status).toBe(2);
    expect(unset.stderr).toBe(
      `scaph: ${config}:4: exporter[0].bearer_token_file: environment variable CREDENTIALS_DIRECTORY is not set (referenced as \${CREDENTIALS_DIRECTORY}): ` +
        'systemd sets it for a unit with LoadCredential=; outside systemd give "scaph run --credentials-directory DIR", DIR holding the files as the unit names them\n' +
        `(1 problem in ${config}; "scaph run -c ${config} --check" re-checks it)\n`,
    );
    const given = spawnSync(process.execPath, [BIN, 'run', '-c', config, '--check', '--credentials-directory', credentials], { encoding: 'utf8', timeout: 30_000, env });
    expect(given.stderr).toBe('');
    expect(given.status).toBe(0);
    expect(given.stdout).toContain(`  exporter[0].bearer_token_file = ${credentials}/scaph_remote-write-token`);
  });

  it('a run honours the steps: riemann every dispatch_interval, warp10 at its 30 s default (the first sample only), json every sample', async () => {
    const riemann = await FakeRiemannServer.start();
    const warp10 = await Warp10TestServer.start();
    const out = join(dir, 'steps.json');
    const config = join(dir, 'run-steps.toml');
    writeFileSync(
      config,
      '[sensor]\nkind = "estimate"\nstep = 0.2\n' +
        // splay = false: the steps counted from the start (with splay the start-up reading waits for the first
        // push on the host's offset, test/unit/agent/splay.test.ts).
        `[[exporter]]\ntype = "riemann"\naddress = "127.0.0.1"\nport = ${riemann.port}\ndispatch_interval = 0.6\nsplay = false\n` +
        `[[exporter]]\ntype = "warp10"\nhost = "127.0.0.1"\nport = ${warp10.port}\nwrite_token = "write-token"\nsplay = false\n` +
        `[[exporter]]\ntype = "json"\nfile = "${out}"\nstep = 0.2\n`,
    );
    chmodSync(config, 0o600);
    try {
      const run = await runScaph(['--no-header', 'run', '-c', config, '-t', '3.1']);
      // Nothing went wrong: info lines only (a loaded machine may also say a 0.2 s step overran).
      const worse = run.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('INFO ') && !/^WARN +sampling overran its step/.test(l));
      expect(worse).toEqual([]);
      expect(run.code).toBe(0);
      const sampled = (JSON.parse(readFileSync(out, 'utf8')) as Array<{ host: { timestamp: number } }>).map((r) => Math.round(r.host.timestamp * 1000));
      const events = riemann.events.filter((e) => e.service === HOST_SERIES).map((e) => Math.round((e.timeMicros ?? 0) / 1000));
      // Every sample in json; every third one (0.6 s) in Riemann, not every one (the bug: the run step won).
      expect(sampled.length).toBeGreaterThanOrEqual(12);
      expect(events.length).toBeGreaterThanOrEqual(4);
      expect(events.length).toBeLessThanOrEqual(Math.ceil(sampled.length / 3));
      for (const t of events) expect(sampled).toContain(t);
      const gaps = events.slice(1).map((t, i) => t - (events[i] as number));
      for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(500);
      // warp10 without a step: `scaph warp10`'s 30 s, so one write (the first sample) in 3 s.
      expect(new Set(warp10.series(HOST_SERIES).map((p) => Math.round(p.timestampUs / 1000)))).toEqual(new Set([sampled[0]]));
    } finally {
      await Promise.all([riemann.stop(), warp10.stop()]);
    }
  });
});
