/**
 * The .rpm, read with rpm's own queries (files, requires, scriptlets, config flags), then installed for real
 * into a scratch root (rpm --root, scriptlets off: they are the same package-hooks the .deb test runs) to
 * see what lands where and what %config(noreplace) keeps on a reinstall and an erase.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../../src/core/package-file.js';
import { builtPackages, type BuiltPackages } from '../../support/harness/packages.js';

const ROOT = packageRoot();
const STEP_MS = 600_000;

let pkgs: BuiltPackages;
let root: string;

function rpm(args: readonly string[]): string {
  const r = spawnSync('rpm', [...args], { encoding: 'utf8', timeout: 300_000, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`rpm ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

beforeAll(async () => {
  pkgs = await builtPackages();
  root = mkdtempSync(join(tmpdir(), 'scaph-rpm-root-'));
}, 30 * 60_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('the .rpm', () => {
  it('holds the executable, the unit, sysusers, tmpfiles and udev files, the config and the licences', () => {
    expect(rpm(['-qpl', pkgs.rpm]).trim().split('\n')).toEqual([
      '/etc/scaph',
      '/etc/scaph/credentials',
      '/etc/scaph/scaph.toml',
      '/usr/bin/scaph',
      '/usr/lib/scaph',
      '/usr/lib/scaph/package-hooks',
      '/usr/lib/systemd/system/scaph.service',
      '/usr/lib/sysusers.d/scaph.conf',
      '/usr/lib/tmpfiles.d/scaph-powercap.conf',
      '/usr/lib/udev/rules.d/99-scaph-powercap.rules',
      '/usr/share/licenses/scaph',
      '/usr/share/licenses/scaph/LICENSE',
      '/usr/share/licenses/scaph/THIRD-PARTY-NOTICES',
      '/usr/share/man/man1/scaph.1.gz',
    ]);
    // Name, flags (c = config, n = noreplace, l = licence), mode.
    const flags = rpm(['-qp', '--qf', '[%{FILENAMES} %{FILEFLAGS:fflags} %{FILEMODES:perms}\n]', pkgs.rpm]);
    expect(flags).toContain('/etc/scaph/scaph.toml cn -rw-r--r--\n');
    expect(flags).toContain('/etc/scaph/credentials  drwx------\n');
    expect(flags).toContain('/usr/bin/scaph  -rwxr-xr-x\n');
    expect(flags).toContain('/usr/share/licenses/scaph/LICENSE l -rw-r--r--\n');
    expect(rpm(['-qp', '--qf', '%{NAME} %{VERSION} %{RELEASE} %{ARCH} %{LICENSE}', pkgs.rpm])).toBe(`scaph ${pkgs.version} 1 x86_64 Apache-2.0`);
  });

  it('requires the shared libraries of the executable (glibc 2.28 at most) and a shell, never nodejs', () => {
    const requires = rpm(['-qp', '--requires', pkgs.rpm]).trim().split('\n');
    expect(requires.filter((r) => /node/i.test(r))).toEqual([]);
    expect(requires).toContain('libc.so.6()(64bit)');
    expect(requires).toContain('libstdc++.so.6()(64bit)');
    expect(requires).toContain('/bin/sh');
    const glibc = requires.flatMap((r) => /^libc\.so\.6\(GLIBC_([\d.]+)\)/.exec(r)?.[1] ?? []).map((v) => v.split('.').map(Number));
    const newest = glibc.sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0) || (a[1] ?? 0) - (b[1] ?? 0)).pop();
    expect(newest).toEqual([2, 28]);
  });

  it('runs the package hooks from its scriptlets: set up after install and upgrade, stop and disable before erase only', () => {
    const scripts = rpm(['-qp', '--scripts', pkgs.rpm]);
    // Without the comments: what the shell runs.
    const code = scripts.split('\n').filter((l) => !/^\s*#/.test(l)).join('\n');
    expect(code).toMatch(/postinstall scriptlet \(using \/bin\/sh\):\nif \[ "\$1" -eq 1 \]; then\n {2}\/usr\/lib\/scaph\/package-hooks installed fresh\nelse\n {2}\/usr\/lib\/scaph\/package-hooks installed upgrade\nfi\n/);
    expect(code).toMatch(/preuninstall scriptlet \(using \/bin\/sh\):\nif \[ "\$1" -eq 0 \]; then\n {2}\/usr\/lib\/scaph\/package-hooks removing\nfi\n/);
    expect(code).toMatch(/postuninstall scriptlet \(using \/bin\/sh\):\nif \[ "\$1" -eq 0 \] && \[ -d \/run\/systemd\/system \]; then\n {2}systemctl daemon-reload \|\| :\nfi\n/);
    // An erase never deletes the operator's config or spool (rpm has no purge).
    expect(code).not.toMatch(/\brm\b/);
  });

  it('installs its files into a root; an edited scaph.toml survives a reinstall and is kept as .rpmsave on erase', () => {
    const install = ['--root', root, '--nodeps', '--noscripts'];
    rpm(['--root', root, '--initdb']);
    rpm(['-i', ...install, pkgs.rpm]);
    expect(readFileSync(join(root, 'usr/bin/scaph')).equals(readFileSync(pkgs.executable))).toBe(true);
    expect(readFileSync(join(root, 'usr/lib/systemd/system/scaph.service'), 'utf8')).toBe(readFileSync(join(ROOT, 'systemd/scaph.service'), 'utf8'));
    expect(readFileSync(join(root, 'usr/share/licenses/scaph/THIRD-PARTY-NOTICES'), 'utf8')).toBe(readFileSync(pkgs.notices, 'utf8'));
    expect(statSync(join(root, 'etc/scaph/credentials')).mode & 0o777).toBe(0o700);
    const config = join(root, 'etc/scaph/scaph.toml');
    writeFileSync(config, `${readFileSync(config, 'utf8')}# edited on this host\n`);
    rpm(['-i', '--replacepkgs', ...install, pkgs.rpm]);
    expect(readFileSync(config, 'utf8')).toMatch(/# edited on this host\n$/);
    rpm(['-e', '--root', root, '--noscripts', 'scaph']);
    expect(existsSync(join(root, 'usr/bin/scaph'))).toBe(false);
    expect(readFileSync(`${config}.rpmsave`, 'utf8')).toMatch(/# edited on this host\n$/);
  }, STEP_MS);
});
