/**
 * packaging/scaph.toml, the /etc/scaph/scaph.toml both packages install: valid as shipped on a host with no
 * credentials, and each commented push example valid once uncommented, with its secrets where the unit puts
 * them (every file of /etc/scaph/credentials as $CREDENTIALS_DIRECTORY/scaph_<file name>).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageFile } from '../../../src/core/package-file.js';
import { runScaph } from '../../support/fixtures/run-scaph.js';
import { makeTestPki } from '../../support/servers/test-ca.js';

const SHIPPED = readFileSync(packageFile('packaging/scaph.toml'), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'scaph-default-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the packaged scaph.toml', () => {
  it('passes scaph run --check as shipped, with no credentials directory: a Prometheus endpoint on this host only', async () => {
    const config = join(dir, 'scaph.toml');
    writeFileSync(config, SHIPPED);
    const check = await runScaph(['run', '-c', config, '--check'], { env: { CREDENTIALS_DIRECTORY: undefined } });
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/: OK: sensor auto every 2 s \(\[sensor\] step\); 1 exporter: prometheus every 2 s \(step\)\n/);
    expect(SHIPPED).toMatch(/^address = "127\.0\.0\.1"$/m);
  });

  it('each commented push example passes --check once uncommented, its secrets read from the credentials directory', async () => {
    const etc = join(dir, 'etc');
    const credentials = join(dir, 'credentials');
    mkdirSync(etc, { recursive: true });
    mkdirSync(credentials, { recursive: true });
    const pki = makeTestPki(etc);
    writeFileSync(join(etc, 'ca.pem'), pki.ca);
    writeFileSync(join(etc, 'riemann-client.pem'), pki.cert);
    writeFileSync(join(credentials, 'scaph_riemann-client.key'), pki.key, { mode: 0o600 });
    writeFileSync(join(credentials, 'scaph_remote-write-token'), 'token\n', { mode: 0o600 });
    const uncommented = SHIPPED.split('\n')
      .map((l) => (/^# (\[\[exporter\]\]|[a-z_]+ = )/.test(l) ? l.slice(2) : l))
      .join('\n')
      .replaceAll('/etc/scaph/', `${etc}/`)
      .replaceAll('/var/lib/scaph/', `${dir}/var/`);
    const config = join(dir, 'all.toml');
    writeFileSync(config, uncommented);
    const check = await runScaph(['run', '-c', config, '--check'], { env: { CREDENTIALS_DIRECTORY: credentials } });
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/: OK: sensor auto every 2 s \(\[sensor\] step\); 3 exporters: prometheus every 2 s \(step\), remote-write every 10 s \(step; spool \S+\/var\/spool\/remote-write\), riemann every 10 s \(step; spool \S+\/var\/spool\/riemann\)\n/);
    expect(check.stdout).toContain(`bearer_token_file = ${join(credentials, 'scaph_remote-write-token')}`);
    expect(check.stdout).toContain(`key = ${join(credentials, 'scaph_riemann-client.key')}`);
  });
});
