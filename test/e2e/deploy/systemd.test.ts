import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../../src/core/package-file.js';
import { SCAPH_BIN, startScaph } from '../../support/fixtures/run-scaph.js';
import { eventually, expectClean, saying, JSON_LOGS } from '../../support/harness/bad-input.js';
import { FakeRiemannServer } from '../../support/servers/riemann.js';

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
    // The whole credentials directory, whatever the config uses (test/e2e/deploy/credentials.test.ts).
    expect(d.get('LoadCredential')).toEqual(['scaph:/etc/scaph/credentials']);
  });

  it('leaves what the platform meters need: /sys/class/hwmon readable, the BMC reachable, its password in the credentials', () => {
    const d = directives(unit);
    // /sys read-only (ProtectKernelTunables, ProtectSystem=strict), never hidden nor replaced under the agent.
    for (const key of ['InaccessiblePaths', 'TemporaryFileSystem', 'BindPaths', 'BindReadOnlyPaths', 'IPAddressDeny', 'PrivateNetwork']) {
      expect(d.get(key), key).toBeUndefined();
    }
    expect(d.get('ProtectKernelTunables')).toEqual(['yes']);
    expect(d.get('RestrictAddressFamilies')?.[0]?.split(' ')).toEqual(expect.arrayContaining(['AF_INET', 'AF_INET6']));
    expect(d.get('LoadCredential')).toEqual(['scaph:/etc/scaph/credentials']);
    expect(unit).toContain('redfish_password_file = "${CREDENTIALS_DIRECTORY}/scaph_<file name>"');
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

  it('ExecReload, run as systemd runs it: a bad file fails the reload with its problems and the agent is not signalled; a good one is reloaded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scaph-unit-reload-'));
    const config = join(dir, 'scaph.toml');
    const riemann = await FakeRiemannServer.start();
    const good = (label: string): string =>
      `[sensor]\nkind = "estimate"\nstep = "250ms"\n[[exporter]]\ntype = "json"\nstep = "250ms"\nfile = "${dir}/out.json"\n[[exporter]]\ntype = "riemann"\naddress = "127.0.0.1"\nport = ${riemann.port}\ntag = ["${label}"]\n`;
    writeFileSync(config, good('a'));
    const agent = startScaph(['-v', '--no-header', ...JSON_LOGS, 'run', '-c', config], { timeoutMs: 60_000 });
    /** The ExecReload= lines in order, stopping at the first that fails (systemd's rule); the exit codes. */
    const reload = (): Array<{ status: number | null; stderr: string }> => {
      const out: Array<{ status: number | null; stderr: string }> = [];
      for (const line of directives(unit).get('ExecReload') ?? []) {
        const command = line.replaceAll('/usr/bin/scaph', `${process.execPath} ${SCAPH_BIN}`).replaceAll('/etc/scaph/scaph.toml', config).replaceAll('$MAINPID', String(agent.pid));
        const r = spawnSync('sh', ['-c', command], { encoding: 'utf8' });
        out.push({ status: r.status, stderr: r.stderr });
        if (r.status !== 0) break;
      }
      return out;
    };
    try {
      await agent.waitForStderr(/machine sensor started/);
      writeFileSync(config, `${good('b')}colour = "blue"\n`);
      const refused = reload();
      expect(refused).toHaveLength(1);
      expect(refused[0]?.status).toBe(2);
      expect(refused[0]?.stderr).toMatch(/exporter\[1\]\.colour: \(riemann\) unknown key/);
      await new Promise((r) => setTimeout(r, 500));
      expect(saying(agent.stderr, /config (not )?reloaded/)).toEqual([]);
      writeFileSync(config, good('b'));
      const applied = reload();
      expect(applied.map((r) => r.status)).toEqual([0, 0]);
      await eventually(() => saying(agent.stderr, /^config reloaded/).length === 1, 15_000, 'the reload');
      expect(saying(agent.stderr, /^config reloaded/)[0]?.msg).toMatch(/1 exporter kept, 1 rebuilt \(riemann\[1\]\)/);
      expect(agent.child.exitCode).toBeNull();
      expectClean(await agent.stop());
    } finally {
      await agent.stop('SIGKILL');
      await riemann.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
