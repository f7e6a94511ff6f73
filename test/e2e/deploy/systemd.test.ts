import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../../src/core/package-file.js';

const SYSTEMD = join(packageRoot(), 'systemd');
const unit = readFileSync(join(SYSTEMD, 'scaph.service'), 'utf8');

function directives(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m?.[1]) out.set(m[1], [...(out.get(m[1]) ?? []), m[2] ?? '']);
  }
  return out;
}

describe('systemd unit', () => {
  it('passes systemd-analyze verify with no warning', () => {
    // verify wants ExecStart's binary to exist: point it at this node (the path of the real install is
    // checked below, by content).
    const dir = mkdtempSync(join(tmpdir(), 'scaph-unit-'));
    const path = join(dir, 'scaph.service');
    writeFileSync(path, unit.replaceAll('/usr/bin/scaph', `${process.execPath} /opt/scaph/bin.js`));
    const r = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // ...and verify does catch a bad key, so an empty stderr means something.
    writeFileSync(path, unit.replaceAll('/usr/bin/scaph', process.execPath).replace('ProtectHome=yes', 'ProtectHomee=yes'));
    expect(spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8' }).stderr).toMatch(/Unknown key 'ProtectHomee'/);
  });

  it('is hardened and runs the config check before the agent', () => {
    const d = directives(unit);
    for (const [key, value] of [
      ['ProtectSystem', 'strict'],
      ['ProtectHome', 'yes'],
      ['PrivateTmp', 'yes'],
      ['NoNewPrivileges', 'yes'],
      ['CapabilityBoundingSet', ''],
      ['StateDirectory', 'scaph'],
      ['Restart', 'on-failure'],
      ['User', 'scaph'],
      ['ReadOnlyPaths', '/sys/class/powercap /proc'],
    ]) {
      expect(d.get(key as string)).toEqual([value]);
    }
    expect(d.get('ExecStart')).toEqual(['/usr/bin/scaph run -c /etc/scaph/scaph.toml']);
    expect(d.get('ExecStartPre')).toEqual(['/usr/bin/scaph run -c /etc/scaph/scaph.toml --check']);
    // systemctl reload: the check (a bad file fails the reload visibly), then SIGHUP to the agent.
    expect(d.get('ExecReload')).toEqual(['/usr/bin/scaph run -c /etc/scaph/scaph.toml --check', '/bin/kill -HUP $MAINPID']);
    expect(d.get('RestartPreventExitStatus')).toEqual(['2']);
    expect((d.get('LoadCredential') ?? []).length).toBeGreaterThanOrEqual(1);
    for (const c of d.get('LoadCredential') ?? []) expect(c).toMatch(/^[\w.-]+:\/etc\/scaph\/credentials\//);
  });

  it('the tmpfiles.d rule gives group scaph read access to energy_uj (and nothing more)', () => {
    // Applied for real by systemd-tmpfiles on a fake root holding a root-only energy_uj, as after the CVE-2020-8694 fix.
    const root = mkdtempSync(join(tmpdir(), 'scaph-tmpfiles-'));
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\nscaph:x:990:\n');
    writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
    const zones = ['intel-rapl:0', 'intel-rapl:0/intel-rapl:0:0'];
    for (const z of zones) {
      mkdirSync(join(root, 'sys/class/powercap', z), { recursive: true });
      writeFileSync(join(root, 'sys/class/powercap', z, 'energy_uj'), '123\n');
      chmodSync(join(root, 'sys/class/powercap', z, 'energy_uj'), 0o400);
    }
    // sysfs shows sub-zones both nested and as top-level links; the rule matches the top-level names.
    mkdirSync(join(root, 'sys/class/powercap/intel-rapl:0:0'));
    writeFileSync(join(root, 'sys/class/powercap/intel-rapl:0:0/energy_uj'), '45\n');
    chmodSync(join(root, 'sys/class/powercap/intel-rapl:0:0/energy_uj'), 0o400);
    const r = spawnSync('systemd-tmpfiles', [`--root=${root}`, '--create', join(SYSTEMD, 'scaph-powercap.conf')], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    for (const z of ['intel-rapl:0', 'intel-rapl:0:0']) {
      const st = statSync(join(root, 'sys/class/powercap', z, 'energy_uj'));
      expect(st.mode & 0o777).toBe(0o440);
      if (process.getuid?.() === 0) expect(st.gid).toBe(990);
    }
  });
});
