/**
 * The unit's LoadCredential= and the configs the docs show must agree, or a literal follower's start fails
 * on a secret one side names and the other does not. Followed here as written: the files docs/fleet.md
 * tells the operator to put in /etc/scaph/credentials/, named as the unit's LoadCredential= lines make
 * them appear to the service (systemd's rules, test/support/fixtures/systemd-credentials.ts), and the
 * sample config checked against exactly those names with `scaph run --check --credentials-directory`.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../../src/core/package-file.js';
import { docSection } from '../../support/harness/markdown-docs.js';
import { SCAPH_BIN } from '../../support/fixtures/run-scaph.js';
import { loadedCredentials, materialize } from '../../support/fixtures/systemd-credentials.js';
import { makeTestPki } from '../../support/servers/test-ca.js';

const ROOT = packageRoot();
const UNIT = readFileSync(join(ROOT, 'systemd', 'scaph.service'), 'utf8');
const FLEET = readFileSync(join(ROOT, 'docs', 'fleet.md'), 'utf8');
const FLEET_SAMPLE = docSection('README.md', '## Fleet deployment');
const work = mkdtempSync(join(tmpdir(), 'scaph-credentials-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function directive(unit: string, key: string): string[] {
  return [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1] ?? '');
}

/** The code block of `lang` under the heading that starts with `heading`. */
function blockUnder(text: string, heading: string, lang: string, containing = ''): string {
  const section = text.slice(text.indexOf(heading));
  const block = [...section.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1] ?? '').find((b) => b.includes(containing));
  if (block === undefined) throw new Error(`no ${lang} block under "${heading}"`);
  return block;
}

/** `${CREDENTIALS_DIRECTORY}/<name>` references of a config. */
function referencedCredentials(config: string): string[] {
  return [...config.matchAll(/\$\{CREDENTIALS_DIRECTORY\}\/([\w.-]+)/g)].map((m) => m[1] ?? '');
}

/** Runs `scaph run -c config --check --credentials-directory dir` with no CREDENTIALS_DIRECTORY of its own. */
function check(config: string, dir: string) {
  return spawnSync(process.execPath, [SCAPH_BIN, 'run', '-c', config, '--check', '--credentials-directory', dir], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, CREDENTIALS_DIRECTORY: undefined },
  });
}

describe("the unit's LoadCredential= and the documented configs", () => {
  it('a literal follower of docs/fleet.md: the files it installs become the names its sample config uses, and --check passes', () => {
    // §3: what the operator puts in /etc/scaph/credentials/ (the unit needs the directory itself).
    const install = blockUnder(FLEET, '## 3. The systemd unit', 'sh', '/etc/scaph/credentials');
    expect(install).toMatch(/^install -d -m 0700 \/etc\/scaph\/credentials\b/m);
    const installed = [...install.matchAll(/^install -m 0600 (\S+) \/etc\/scaph\/credentials\/$/gm)].map((m) => m[1] ?? '');
    expect(installed).toEqual(['remote-write-token', 'riemann-client.key']);

    // A root holding what the doc's steps leave on the host: the secrets, and the riemann CA and
    // certificate the sample names under /etc/scaph (a key pair that matches, as --check verifies).
    const root = join(work, 'fleet-root');
    mkdirSync(join(root, 'etc/scaph/credentials'), { recursive: true });
    const pki = makeTestPki(mkdtempSync(join(work, 'pki-')));
    const contents: Record<string, Buffer | string> = { 'remote-write-token': 'token\n', 'riemann-client.key': pki.key };
    for (const name of installed) writeFileSync(join(root, 'etc/scaph/credentials', name), contents[name] ?? '');
    writeFileSync(join(root, 'etc/scaph/ca.pem'), pki.ca);
    writeFileSync(join(root, 'etc/scaph/riemann-client.pem'), pki.cert);

    // What the service sees: the unit's LoadCredential= lines applied by systemd's rules.
    const loaded = loadedCredentials(directive(UNIT, 'LoadCredential'), root);
    expect([...loaded.keys()]).toEqual(['scaph_remote-write-token', 'scaph_riemann-client.key']);
    const credentialsDirectory = join(work, 'run-credentials-scaph.service');
    mkdirSync(credentialsDirectory);
    materialize(loaded, credentialsDirectory);

    // §2's sample names exactly those, and passes the check the unit runs first (ExecStartPre).
    const sample = blockUnder(FLEET, '## 2. Configure', 'toml');
    expect(referencedCredentials(sample).every((name) => loaded.has(name))).toBe(true);
    expect(referencedCredentials(sample)).toEqual(['scaph_remote-write-token', 'scaph_riemann-client.key']);
    const config = join(root, 'etc/scaph/scaph.toml');
    writeFileSync(config, sample.replaceAll('"/etc/scaph/', `"${root}/etc/scaph/`));
    const r = check(config, credentialsDirectory);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toContain(
      '2 exporters: remote-write every 10 s (step; spool /var/lib/scaph/spool/remote-write), riemann every 10 s (dispatch_interval)',
    );
    expect(r.stdout).toContain(`  exporter[0].bearer_token_file = ${credentialsDirectory}/scaph_remote-write-token`);
    expect(r.stdout).toContain(`  exporter[1].key = ${credentialsDirectory}/scaph_riemann-client.key`);
  });

  it("no secret is required (an empty directory loads nothing) and every file added is loaded, subdirectories too", () => {
    // An empty credentials directory loads nothing and fails nothing; adding a file adds a credential.
    const root = join(work, 'empty-root');
    mkdirSync(join(root, 'etc/scaph/credentials'), { recursive: true });
    expect(loadedCredentials(directive(UNIT, 'LoadCredential'), root).size).toBe(0);
    writeFileSync(join(root, 'etc/scaph/credentials/warp10-write-token'), 'w\n');
    mkdirSync(join(root, 'etc/scaph/credentials/mimir'));
    writeFileSync(join(root, 'etc/scaph/credentials/mimir/password'), 'p\n');
    expect([...loadedCredentials(directive(UNIT, 'LoadCredential'), root).keys()]).toEqual(['scaph_mimir_password', 'scaph_warp10-write-token']);
  });

  it("the README's fleet sample names its secrets the same way and passes --check with them", () => {
    const sample = blockUnder(FLEET_SAMPLE, '## Fleet deployment', 'toml');
    const names = referencedCredentials(sample);
    expect(names).toEqual(['scaph_remote-write-token', 'scaph_warp10-write-token']);
    const dir = join(work, 'readme-credentials');
    mkdirSync(dir);
    for (const name of names) writeFileSync(join(dir, name), 'secret\n');
    const config = join(work, 'readme.toml');
    writeFileSync(config, sample);
    const r = check(config, dir);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toContain('remote-write every 10 s (step; spool /var/lib/scaph/spool/remote-write), warp10 every 30 s (default)');
  });
});
