import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../../src/core/package-file.js';

const BIN = join(packageRoot(), 'dist', 'src', 'bin.js');
const dir = mkdtempSync(join(tmpdir(), 'scaph-run-cli-'));

function scaph(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
}

describe('scaph run (built CLI)', () => {
  it('--check prints a summary and the paths it will use, and exits 0; the run samples at [sensor] step until -t', () => {
    const out = join(dir, 'out.json');
    const config = join(dir, 'ok.toml');
    writeFileSync(config, `[sensor]\nkind = "estimate"\nstep = 0.5\n[[exporter]]\ntype = "json"\nfile = "${out}"\n`);
    const check = scaph(['run', '-c', config, '--check']);
    expect(check.status).toBe(0);
    expect(check.stdout).toBe(`${config}: OK: sensor estimate every 0.5 s; 1 exporter: json every 0.5 s\n  exporter[0].file = ${out}\n`);
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
    expect(r.stderr).toContain(`${config}:2: sensor.kind: must be one of powercap_rapl, estimate, auto, got "magic"`);
    expect(r.stderr).toContain(`${config}:5: exporter[0].bogus: (json) unknown key for a json exporter; valid keys: `);
    expect(r.stderr).toContain(`${config}:6: exporter[1].type: unknown exporter type "influx"`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(scaph(['run', '-c', join(dir, 'missing.toml')]).status).toBe(2);
  });
});
