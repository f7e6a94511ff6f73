/**
 * The .deb on this machine, as an operator's apt or Ansible runs it: dpkg -i (nothing started), the unit
 * verified where it is installed, a conffile edit kept across a reinstall and an upgrade, the service
 * enabled only when asked (SCAPH_ENABLE_SERVICE=1), dpkg -r (config and spool kept), dpkg -P (gone), and
 * lintian with no error. Needs root (CI runs as root) and a machine without a scaph package of its own;
 * everything it installs is removed afterwards, even on failure.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../../src/core/package-file.js';
import { builtPackages, type BuiltPackages } from '../../support/harness/packages.js';

const ROOT = packageRoot();
const CONFIG = '/etc/scaph/scaph.toml';
const WANTS = '/etc/systemd/system/multi-user.target.wants/scaph.service';
/** lintian's warnings we accept, with the reason (packaging/README.md lists them too). */
const ACCEPTED_WARNINGS = [
  'hardening-no-pie [usr/bin/scaph]', // the official Node.js binary is not position-independent
  'non-standard-dir-perm 0700 != 0755 [etc/scaph/credentials/]', // secrets: root only, on purpose
  'old-fsf-address-in-copyright-file', // a third-party licence text, reproduced verbatim
];

let pkgs: BuiltPackages;
let work: string;
let userExisted = false;

function sh(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(command, [...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function dpkg(args: readonly string[], env: NodeJS.ProcessEnv = {}): string {
  const r = sh('dpkg', args, { DEBIAN_FRONTEND: 'noninteractive', ...env });
  if (r.code !== 0) throw new Error(`dpkg ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r.stdout + r.stderr;
}

function status(): string {
  return sh('dpkg-query', ['-W', '-f', '${db:Status-Abbrev}${Version}', 'scaph']).stdout.trim();
}

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('this test installs the .deb with dpkg: run it as root, as CI does');
  if (sh('dpkg-query', ['-W', 'scaph']).code === 0) throw new Error('a scaph package is installed on this machine: this test installs and purges its own; remove it first (dpkg -P scaph)');
  if (existsSync('/etc/scaph') || existsSync('/var/lib/scaph')) throw new Error('/etc/scaph or /var/lib/scaph exists: this test would delete it (dpkg -P); move it away first');
  userExisted = sh('getent', ['passwd', 'scaph']).code === 0;
  pkgs = await builtPackages();
  work = mkdtempSync(join(tmpdir(), 'scaph-deb-'));
}, 30 * 60_000);

afterAll(() => {
  sh('dpkg', ['--purge', 'scaph']);
  rmSync('/etc/scaph', { recursive: true, force: true });
  rmSync('/var/lib/scaph', { recursive: true, force: true });
  rmSync(WANTS, { force: true });
  if (!userExisted) {
    sh('userdel', ['scaph']);
    sh('groupdel', ['scaph']);
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The same package at a higher version: the .deb unpacked and packed again (uncompressed: quick). */
function higherVersion(deb: string, version: string): string {
  const tree = join(work, 'repack');
  rmSync(tree, { recursive: true, force: true });
  execFileSync('dpkg-deb', ['-R', deb, tree]);
  const control = join(tree, 'DEBIAN', 'control');
  writeFileSync(control, readFileSync(control, 'utf8').replace(/^Version: .*$/m, `Version: ${version}`));
  const out = join(work, `scaph_${version}_amd64.deb`);
  execFileSync('dpkg-deb', ['--root-owner-group', '-Znone', '--build', tree, out]);
  return out;
}

/** dpkg with a 106 MB executable and man-db's trigger, lintian over it: minutes on a loaded 2-core machine. */
const STEP_MS = 600_000;

describe('the .deb', () => {
  it('installs the executable, the unit, its sysusers, tmpfiles and udev files and the config, creates user scaph, starts nothing', () => {
    const out = dpkg(['-i', pkgs.deb]);
    expect(out).toContain('scaph: installed, not started. Check /etc/scaph/scaph.toml, then: systemctl enable --now scaph');
    expect(status()).toBe(`ii ${pkgs.version}`);
    // What the package holds (dpkg -c: a host's dpkg may be told to skip /usr/share/doc and man pages).
    const contents = execFileSync('dpkg-deb', ['-c', pkgs.deb], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.startsWith('-'))
      .map((l) => l.slice(l.indexOf('./') + 1))
      .sort();
    expect(contents).toEqual(
      [
        '/etc/scaph/scaph.toml',
        '/usr/bin/scaph',
        '/usr/lib/scaph/package-hooks',
        '/usr/lib/systemd/system/scaph.service',
        '/usr/lib/sysusers.d/scaph.conf',
        '/usr/lib/tmpfiles.d/scaph-powercap.conf',
        '/usr/lib/udev/rules.d/99-scaph-powercap.rules',
        '/usr/share/doc/scaph/changelog.gz',
        '/usr/share/doc/scaph/copyright',
        '/usr/share/lintian/overrides/scaph',
        '/usr/share/man/man1/scaph.1.gz',
      ].sort(),
    );
    for (const f of contents.filter((c) => !c.startsWith('/usr/share/'))) expect(existsSync(f), f).toBe(true);
    expect(readFileSync('/usr/bin/scaph').equals(readFileSync(pkgs.executable))).toBe(true);
    for (const [installed, source] of [
      ['/usr/lib/systemd/system/scaph.service', 'systemd/scaph.service'],
      ['/usr/lib/sysusers.d/scaph.conf', 'systemd/scaph.sysusers.conf'],
      ['/usr/lib/tmpfiles.d/scaph-powercap.conf', 'systemd/scaph-powercap.conf'],
      ['/usr/lib/udev/rules.d/99-scaph-powercap.rules', 'systemd/99-scaph-powercap.rules'],
      [CONFIG, 'packaging/scaph.toml'],
    ] as const) {
      expect(readFileSync(installed, 'utf8'), installed).toBe(readFileSync(join(ROOT, source), 'utf8'));
    }
    expect(statSync('/etc/scaph/credentials').mode & 0o777).toBe(0o700);
    expect(dpkg(['-s', 'scaph'])).toMatch(/^Conffiles:\n \/etc\/scaph\/scaph\.toml [0-9a-f]{32}$/m);
    const depends = /^Depends: (.*)$/m.exec(dpkg(['-s', 'scaph']))?.[1] ?? '';
    expect(depends).toMatch(/^libc6 \(>= [\d.]+\), libgcc-s1 \(>= [\d.]+\), libstdc\+\+6 \(>= [\d.]+\)$/);
    expect(sh('getent', ['passwd', 'scaph']).stdout).toMatch(/^scaph:x:\d+:\d+:[^:]*:\/var\/lib\/scaph:\/usr\/sbin\/nologin$/m);
    expect(existsSync(WANTS)).toBe(false);
  }, STEP_MS);

  it('the installed unit passes systemd-analyze verify, and the default config passes scaph run --check with no credentials', () => {
    const verify = sh('systemd-analyze', ['verify', '/usr/lib/systemd/system/scaph.service']);
    expect(verify.stderr).toBe('');
    expect(verify.code).toBe(0);
    const check = sh('/usr/bin/scaph', ['run', '-c', CONFIG, '--check'], { CREDENTIALS_DIRECTORY: '' });
    expect(check.stderr).toBe('');
    expect(check.stdout).toMatch(/^\/etc\/scaph\/scaph\.toml: OK: sensor auto every 2 s \(\[sensor\] step\); 1 exporter: prometheus every 2 s \(step\)$/m);
    expect(check.code).toBe(0);
    // The man page and the copyright, from the package itself.
    const unpacked = join(work, 'unpacked');
    execFileSync('dpkg-deb', ['-x', pkgs.deb, unpacked]);
    expect(sh('man', ['-l', '-P', 'cat', join(unpacked, 'usr/share/man/man1/scaph.1.gz')]).stdout).toContain('scaph run -c /etc/scaph/scaph.toml');
    const copyright = readFileSync(join(unpacked, 'usr/share/doc/scaph/copyright'), 'utf8');
    expect(copyright).toMatch(/^Format: https:\/\/www\.debian\.org\/doc\/packaging-manuals\/copyright-format\/1\.0\/\n/);
    expect(copyright).toMatch(/^Files: \*\nCopyright: scaph developers\nLicense: Apache-2\.0$/m);
    expect(copyright).toMatch(/^Files: node\/\*\nCopyright: Node\.js contributors/m);
    expect(copyright).toMatch(/^Files: node_modules\/undici\/\*\n/m);
    // The carbon table is data under its own licence, with its source and credit.
    expect(copyright).toMatch(/^Files: src\/carbon\/zone-table\.ts\nCopyright: Ember\n The Green Web Foundation \(co2\.js\)\nLicense: CC-BY-SA-4\.0~Carbon-intensity-table\n The grid carbon intensity per country .*\n Ember's Yearly Electricity Data/m);
  }, STEP_MS);

  it('keeps a local edit of scaph.toml across a reinstall and an upgrade; enables the service only when asked', () => {
    writeFileSync(CONFIG, `${readFileSync(CONFIG, 'utf8')}# edited on this host\n`);
    dpkg(['-i', pkgs.deb]);
    expect(readFileSync(CONFIG, 'utf8')).toMatch(/# edited on this host\n$/);
    expect(existsSync(WANTS)).toBe(false);

    const upgrade = higherVersion(pkgs.deb, `${pkgs.version}+test1`);
    dpkg(['-i', upgrade], { SCAPH_ENABLE_SERVICE: '1' });
    expect(status()).toBe(`ii ${pkgs.version}+test1`);
    expect(readFileSync(CONFIG, 'utf8')).toMatch(/# edited on this host\n$/);
    expect(lstatSync(WANTS).isSymbolicLink()).toBe(true);
  }, STEP_MS);

  it('dpkg -r disables the service and keeps /etc/scaph and the spool; dpkg -P removes them', () => {
    mkdirSync('/var/lib/scaph/spool/remote-write', { recursive: true });
    writeFileSync('/var/lib/scaph/spool/remote-write/00000001.seg', 'unsent samples');
    writeFileSync('/etc/scaph/credentials/remote-write-token', 'secret\n', { mode: 0o600 });
    dpkg(['-r', 'scaph']);
    expect(status()).toBe(`rc ${pkgs.version}+test1`);
    expect(existsSync('/usr/bin/scaph')).toBe(false);
    expect(existsSync(WANTS)).toBe(false);
    expect(readFileSync(CONFIG, 'utf8')).toMatch(/# edited on this host\n$/);
    expect(readFileSync('/etc/scaph/credentials/remote-write-token', 'utf8')).toBe('secret\n');
    expect(readFileSync('/var/lib/scaph/spool/remote-write/00000001.seg', 'utf8')).toBe('unsent samples');

    dpkg(['-P', 'scaph']);
    expect(sh('dpkg-query', ['-W', 'scaph']).code).not.toBe(0);
    expect(existsSync('/etc/scaph')).toBe(false);
    expect(existsSync('/var/lib/scaph')).toBe(false);
  }, STEP_MS);

  it('lintian reports no error, and only the warnings we accept', () => {
    const r = sh('lintian', ['--fail-on', 'error', '--tag-display-limit', '0', pkgs.deb]);
    const tags = r.stdout.split('\n').filter((l) => /^[EWX]: /.test(l));
    expect(tags.filter((l) => l.startsWith('E: '))).toEqual([]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const warnings = tags.filter((l) => l.startsWith('W: ')).map((l) => l.replace(/^W: scaph: /, ''));
    for (const w of warnings) expect(ACCEPTED_WARNINGS, w).toContain(w);
  }, STEP_MS);
});
