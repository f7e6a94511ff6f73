/**
 * Migrating Scaphandre's packaged units (docs/coming-from-scaphandre.md): the doc's sed list run with
 * the real sed on the three units and their environment files (built from their directives:
 * test/support/fixtures/scaphandre-units.ts), each result checked by `systemd-analyze verify` and by
 * scaph's own parser, and what the directives the list changes or keeps do to node reproduced without
 * systemd: the seccomp rules of MemoryDenyWriteExecute= and RestrictAddressFamilies=, UMask=, and an
 * strace of a run against SystemCallFilter='s groups.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DOCKER_ID, DOCKER_V2_SYSTEMD } from '../../support/fixtures/cgroups.js';
import { ProcfsTree } from '../../support/fixtures/procfs-tree.js';
import { SCAPH_BIN } from '../../support/fixtures/run-scaph.js';
import {
  environmentAssignments,
  execArgv,
  SCAPHANDRE_UNITS,
  unitDirectives,
  type ScaphandreUnit,
} from '../../support/fixtures/scaphandre-units.js';
import { expectClean, expectFailure, RemoteWriteReceiver } from '../../support/harness/bad-input.js';
import { parseScaph } from '../../support/harness/parse-scaph.js';
import { docSection } from '../../support/harness/markdown-docs.js';
import { migrationSedList, runSedList } from '../../support/harness/migration-sed.js';
import { runCommand, withoutDacOverride } from '../../support/harness/run-command.js';
import { sandboxed, type Sandbox } from '../../support/harness/unit-sandbox.js';
import { containerSummary, startDockerApi } from '../../support/servers/docker-api.js';
import { FakeRiemannServer } from '../../support/servers/riemann.js';
import { Warp10TestServer } from '../../support/servers/warp10.js';

const SED = migrationSedList(docSection('docs/coming-from-scaphandre.md', '# Coming from Scaphandre'));
const work = mkdtempSync(join(tmpdir(), 'scaph-migrate-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Host {
  readonly root: string;
  /** The units as the doc has them: in /etc/systemd/system. */
  readonly units: ReadonlyArray<{ readonly unit: ScaphandreUnit; readonly path: string }>;
}

/**
 * A host root with `units` copied to /etc/systemd/system and their environment files in place, stand-ins
 * for the ExecStartPre= binaries (modprobe, find), /usr/bin/scaph running this build, and the host's
 * targets, which every service depends on, so that `systemd-analyze verify --root=` resolves a unit
 * as it would on the host. Ubuntu's /etc/scaphandre is a file, Red Hat's a directory: one root each.
 */
function host(name: string, units: readonly ScaphandreUnit[]): Host {
  const root = join(work, name);
  for (const dir of ['etc/systemd/system', 'usr/bin', 'usr/sbin', 'usr/lib/systemd/system']) mkdirSync(join(root, dir), { recursive: true });
  for (const target of readdirSync('/usr/lib/systemd/system').filter((f) => f.endsWith('.target'))) {
    copyFileSync(join('/usr/lib/systemd/system', target), join(root, 'usr/lib/systemd/system', target));
  }
  const executable = (path: string, text: string): void => {
    writeFileSync(join(root, path), text);
    chmodSync(join(root, path), 0o755);
  };
  executable('usr/sbin/modprobe', '#!/bin/sh\nexit 0\n');
  executable('usr/bin/find', '#!/bin/sh\nexit 0\n');
  executable('usr/bin/scaph', `#!/bin/sh\nexec ${process.execPath} ${SCAPH_BIN} "$@"\n`);
  const placed = units.map((unit) => {
    const path = join(root, 'etc/systemd/system', basename(unit.name));
    writeFileSync(path, unit.text);
    if (unit.environment !== null) {
      mkdirSync(dirname(join(root, unit.environmentFile)), { recursive: true });
      writeFileSync(join(root, unit.environmentFile), unit.environment);
    }
    return { unit, path };
  });
  return { root, units: placed };
}

/** The doc's command on a host root: its unit files and the regular files of /etc/scaphandre(/). */
function migrate(h: Host): void {
  const etc = join(h.root, 'etc/scaphandre');
  const environment = !statExists(etc) ? [] : statSync(etc).isFile() ? [etc] : readdirSync(etc).map((f) => join(etc, f));
  runSedList(SED, [...h.units.map((u) => u.path), ...environment]);
}

function statExists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function verify(h: Host) {
  return spawnSync('systemd-analyze', ['verify', `--root=${h.root}`, ...h.units.map((u) => basename(u.path))], { encoding: 'utf8' });
}

/** The seccomp rules and umask a unit's directives put on its processes (what this test can apply). */
function sandboxOf(unitText: string): Sandbox {
  const d = unitDirectives(unitText);
  const families = d.get('RestrictAddressFamilies')?.[0];
  return {
    memoryDenyWriteExecute: d.get('MemoryDenyWriteExecute')?.[0] === 'yes',
    ...(families === undefined || families.startsWith('~') ? {} : { addressFamilies: families.split(/\s+/) }),
    umask: Number.parseInt(d.get('UMask')?.[0] ?? '0022', 8),
  };
}

const ubuntu = SCAPHANDRE_UNITS.filter((u) => u.name.startsWith('ubuntu/'));
const redhat = SCAPHANDRE_UNITS.filter((u) => u.name.startsWith('redhat/'));
const ORIGINAL = SCAPHANDRE_UNITS[0]?.text ?? '';

describe("the migration sed list on Scaphandre's three packaged units", () => {
  const migrated = [host('ubuntu', ubuntu), host('redhat', redhat)];
  for (const h of migrated) migrate(h);
  const all = migrated.flatMap((h) => h.units.map((u) => ({ ...u, text: readFileSync(u.path, 'utf8'), root: h.root })));

  it('changes exactly the directives node cannot run under, and the binary; keeps every other directive', () => {
    expect(all.map((u) => u.unit.name)).toEqual(['ubuntu/scaphandre.service', 'redhat/scaphandre.service', 'redhat/scaphandre-prometheuspush.service']);
    for (const u of all) {
      const before = unitDirectives(u.unit.text);
      const after = unitDirectives(u.text);
      const changed = [...after.keys()].filter((k) => JSON.stringify(after.get(k)) !== JSON.stringify(before.get(k)));
      expect(changed, u.unit.name).toEqual(['ExecStart', 'MemoryDenyWriteExecute', 'MemoryMax', 'RestrictAddressFamilies', 'UMask']);
      expect([...after.keys()]).toEqual([...before.keys()]);
      expect(after.get('MemoryDenyWriteExecute')).toEqual(['no']);
      expect(after.get('MemoryMax')).toEqual(['256M']);
      expect(after.get('RestrictAddressFamilies')).toEqual(['AF_INET AF_INET6 AF_UNIX']);
      expect(after.get('UMask')).toEqual(['0077']);
    }
    expect(all.map((u) => unitDirectives(u.text).get('ExecStart'))).toEqual([
      ['/usr/bin/scaph prometheus -p 8088'],
      ['/usr/bin/scaph $SCAPHANDRE_ARGS'],
      ['/usr/bin/scaph $SCAPHANDRE_ARGS'],
    ]);
  });

  it('passes systemd-analyze verify, /usr/bin/scaph found in the root; the unrewritten units do not (their binary is gone)', () => {
    for (const h of migrated) {
      const r = verify(h);
      expect(r.stderr, h.root).toBe('');
      expect(r.status).toBe(0);
    }
    const before = [host('ubuntu-before', ubuntu), host('redhat-before', redhat)].map((h) => verify(h).stderr);
    expect(before[0]).toContain('Command /usr/local/bin/scaphandre is not executable');
    expect(before[1]).toContain('Command /usr/bin/scaphandre is not executable');
    expect(before[1]).toContain('Command /usr/bin/scaphandre-prometheuspush is not executable');
  });

  it('each command line is one scaph parses, $SCAPHANDRE_ARGS taken from its environment file (name and file kept)', async () => {
    const argvs = all.map((u) => {
      const env = u.unit.environment === null ? new Map<string, string>() : environmentAssignments(readFileSync(join(u.root, u.unit.environmentFile), 'utf8'));
      return execArgv(unitDirectives(u.text).get('ExecStart')?.[0] ?? '', env);
    });
    expect(argvs).toEqual([['prometheus', '-p', '8088'], ['prometheus'], ['prometheus-push', '-H', 'localhost', '-S', 'http']]);
    const parsed = await Promise.all(argvs.map((argv) => parseScaph(argv)));
    expect(parsed.map((p) => p.exporter)).toEqual(['prometheus', 'prometheus', 'prometheus-push']);
    expect(parsed[0]?.opts).toMatchObject({ port: 8088 });
    expect(parsed[2]?.opts).toMatchObject({ host: 'localhost', scheme: 'http', port: 9091 });
    // The packaged environment files hold nothing to rewrite: they are as the packages wrote them.
    for (const u of all.filter((x) => x.unit.environment !== null)) expect(readFileSync(join(u.root, u.unit.environmentFile), 'utf8')).toBe(u.unit.environment);
  });

  it("rewrites arguments an operator put in an environment file: Scaphandre's buffer flags dropped, scaph 0.1's prometheus -s N", async () => {
    const file = join(work, 'edited-default');
    writeFileSync(file, 'SCAPHANDRE_ARGS="--sensor-buffer-per-socket-max-kB 1 --sensor-buffer-per-domain-max-kB=2 prometheus -p 8088 -s 10 --containers"\n');
    runSedList(SED, [file]);
    const args = environmentAssignments(readFileSync(file, 'utf8')).get('SCAPHANDRE_ARGS') ?? '';
    const argv = execArgv('/usr/bin/scaph $SCAPHANDRE_ARGS', new Map([['SCAPHANDRE_ARGS', args]]));
    expect(argv).toEqual(['prometheus', '-p', '8088', '--step', '10', '--containers']);
    expect((await parseScaph(argv)).opts).toMatchObject({ port: 8088, step: 10, suffix: 'metrics', containers: true });
  });
});

describe('what the directives do to node, reproduced without systemd', () => {
  const rewritten = (() => {
    const h = host('sandbox', ubuntu);
    migrate(h);
    return readFileSync(h.units[0]?.path ?? '', 'utf8');
  })();

  it("MemoryDenyWriteExecute=yes kills node at its first compilation (SIGTRAP, exit status 133); the rewritten unit's no runs it", async () => {
    const killed = await runCommand(sandboxed(sandboxOf(ORIGINAL), [process.execPath, SCAPH_BIN, '--version']));
    expect(killed.timedOut).toBe(false);
    expect(killed.signal).toBe('SIGTRAP');
    expect(killed.stdout).toBe('');
    expect(killed.stderr).toContain('Check failed: 12 == (*__errno_location ())');
    expect(killed.stderr).toContain('v8::base::OS::SetPermissions');
    // What a shell or systemd reports for it: 128 + SIGTRAP (5).
    const status = spawnSync('sh', ['-c', '"$@"; echo $?', 'sh', ...sandboxed(sandboxOf(ORIGINAL), [process.execPath, '-e', '0'])], { encoding: 'utf8' });
    expect(status.stdout.trim()).toBe('133');
    // V8's interpreter alone allocates no executable memory: it starts under the filter.
    const jitless = await runCommand(sandboxed({ memoryDenyWriteExecute: true }, [process.execPath, '--jitless', '-e', 'console.log("interpreted")']));
    expect(jitless.stdout).toBe('interpreted\n');
    const ok = await runCommand(sandboxed(sandboxOf(rewritten), [process.execPath, SCAPH_BIN, '--version']));
    expectClean(ok);
    expect(ok.stdout).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('RestrictAddressFamilies=AF_INET AF_INET6: --containers cannot reach the Docker socket (names lost); with AF_UNIX added it can', async () => {
    const tree = ProcfsTree.create({ cpuCount: 2, processes: [{ pid: 101, comm: 'nginx', utime: 0, stime: 0, starttime: 10 }] });
    writeFileSync(join(tree.root, '101', 'cgroup'), DOCKER_V2_SYSTEMD);
    const stopCpu = tree.runCpu({ user: 60, idle: 140 }, [[{ pid: 101, comm: 'nginx', utime: 0, stime: 0, starttime: 10 }, 30]], 100);
    const docker = await startDockerApi(join(work, 'docker.sock'), [containerSummary(DOCKER_ID, 'web', 'nginx:1.27')]);
    const argv = [process.execPath, SCAPH_BIN, '--no-header', '--sensor', 'estimate', '--procfs-path', tree.root, '--docker-socket', docker.socketPath, 'stdout', '--containers', '--raw-metrics', '-t', '2.2', '-s', '1'];
    try {
      // The rewritten unit but for Scaphandre's RestrictAddressFamilies= (its MemoryDenyWriteExecute=yes would stop node first).
      const without = await runCommand(sandboxed({ ...sandboxOf(rewritten), addressFamilies: sandboxOf(ORIGINAL).addressFamilies ?? [] }, argv));
      expectClean(without);
      expect(without.stdout).toMatch(new RegExp(`container_id="${DOCKER_ID}"`));
      expect(without.stdout).not.toContain('container_name="web"');
      expect(without.stderr).toContain(`Cannot open a unix socket to reach Docker socket ${docker.socketPath} (EAFNOSUPPORT)`);
      expect(without.stderr).toContain("add AF_UNIX to the unit's RestrictAddressFamilies=");
      const withUnix = await runCommand(sandboxed(sandboxOf(rewritten), argv));
      expectClean(withUnix);
      expect(withUnix.stdout).toContain('container_name="web"');
    } finally {
      stopCpu();
      tree.cleanup();
      await docker.close();
    }
  });

  it('UMask=0777: a json report comes out mode 0000 and a spool cannot be entered by a non-root user; 0077 keeps them private', async () => {
    const out = (name: string) => join(work, name);
    // The rewritten unit with the UMask= of `umaskOf` (Scaphandre's MemoryDenyWriteExecute=yes would stop node first).
    const box = (umaskOf: string): Sandbox => ({ ...sandboxOf(rewritten), umask: sandboxOf(umaskOf).umask ?? 0o022 });
    const json = (umaskOf: string, file: string) =>
      runCommand(sandboxed(box(umaskOf), [process.execPath, SCAPH_BIN, '--no-header', '--sensor', 'estimate', 'json', '-t', '0.6', '-s', '0.5', '-f', file]));
    expectClean(await json(ORIGINAL, out('report-0777.json')));
    expect(statSync(out('report-0777.json')).mode & 0o777).toBe(0o000);
    expectClean(await json(rewritten, out('report-0077.json')));
    expect(statSync(out('report-0077.json')).mode & 0o777).toBe(0o600);

    const receiver = await RemoteWriteReceiver.start();
    const spooled = (umaskOf: string, dir: string) => {
      const config = out(`${dir}.toml`);
      writeFileSync(config, `[sensor]\nkind = "estimate"\nstep = 0.5\n[[exporter]]\ntype = "remote-write"\nurl = "${receiver.url}"\nstep = 0.5\nspool_dir = "${out(dir)}"\n`);
      return runCommand(withoutDacOverride(sandboxed(box(umaskOf), [process.execPath, SCAPH_BIN, '--no-header', 'run', '-c', config, '-t', '2'])));
    };
    try {
      expectFailure(await spooled(ORIGINAL, 'spool-0777'), 1, new RegExp(`${out('spool-0777')}.*EACCES`));
      expect(statSync(out('spool-0777')).mode & 0o777).toBe(0o000);
      expectClean(await spooled(rewritten, 'spool-0077'));
      expect(statSync(out('spool-0077')).mode & 0o777).toBe(0o700);
      expect(receiver.stored.size).toBeGreaterThanOrEqual(2);
    } finally {
      await receiver.stop();
    }
  });

  it("SystemCallFilter= (Scaphandre's groups, kept): a scaph run with every exporter kind, a spool and --containers makes none of their calls", async () => {
    const groups = (unitDirectives(rewritten).get('SystemCallFilter') ?? []).map((v) => v.replace(/^~/, ''));
    expect(groups).toHaveLength(11);
    const names = new Set<string>(['personality', 'unshare', 'setns']);
    const expand = (group: string): void => {
      const listed = spawnSync('systemd-analyze', ['syscall-filter', '--no-pager', group], { encoding: 'utf8' }).stdout.split('\n').slice(1);
      for (const entry of listed.map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))) {
        if (entry.startsWith('@')) expand(entry);
        else names.add(entry);
      }
    };
    for (const g of groups) expand(g);
    expect(names).toContain('setrlimit');
    expect(names).toContain('mount');
    expect(names.size).toBeGreaterThan(80);

    const tree = ProcfsTree.create({ cpuCount: 2, processes: [{ pid: 101, comm: 'nginx', utime: 0, stime: 0, starttime: 10 }] });
    writeFileSync(join(tree.root, '101', 'cgroup'), DOCKER_V2_SYSTEMD);
    const [riemann, warp10, receiver, docker] = await Promise.all([
      FakeRiemannServer.start(),
      Warp10TestServer.start(),
      RemoteWriteReceiver.start(),
      startDockerApi(join(work, 'docker-strace.sock'), [containerSummary(DOCKER_ID, 'web', 'nginx:1.27')]),
    ]);
    const config = join(work, 'strace.toml');
    writeFileSync(
      config,
      `[sensor]\nkind = "estimate"\nstep = 0.5\nprocfs_path = "${tree.root}"\n` +
        `[[exporter]]\ntype = "remote-write"\nurl = "${receiver.url}"\nstep = 0.5\ncontainers = true\nspool_dir = "${join(work, 'strace-spool')}"\n` +
        `[[exporter]]\ntype = "riemann"\naddress = "127.0.0.1"\nport = ${riemann.port}\nstep = 0.5\n` +
        `[[exporter]]\ntype = "warp10"\nhost = "127.0.0.1"\nport = ${warp10.port}\nwrite_token = "write-token"\nstep = 0.5\n` +
        `[[exporter]]\ntype = "prometheus"\naddress = "127.0.0.1"\nport = 0\nstep = 0.5\n` +
        `[[exporter]]\ntype = "json"\nfile = "${join(work, 'strace.json')}"\nstep = 0.5\n`,
    );
    chmodSync(config, 0o600);
    const trace = join(work, 'strace.txt');
    try {
      const r = await runCommand(
        ['strace', '-f', '-qq', '-o', trace, '-e', `trace=${[...names].map((n) => `?${n}`).join(',')}`,
          process.execPath, SCAPH_BIN, '--no-header', '--docker-socket', docker.socketPath, 'run', '-c', config, '-t', '3'],
        { timeoutMs: 60_000 },
      );
      expectClean(r);
      // It did run everything: samples in every backend, the container named through the socket.
      expect(receiver.stored.size).toBeGreaterThanOrEqual(3);
      expect(riemann.events.length).toBeGreaterThan(0);
      expect(warp10.points.length).toBeGreaterThan(0);
      expect(docker.requests.length).toBeGreaterThan(0);
      expect(readFileSync(trace, 'utf8')).toBe('');
    } finally {
      tree.cleanup();
      await Promise.all([riemann.stop(), warp10.stop(), receiver.stop(), docker.close()]);
    }
  });
});
