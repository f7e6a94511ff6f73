/**
 * Crashes and hangs: files that block (FIFOs with no writer), directories where nothing can be created,
 * a full disk under the spool. scaph answers each within seconds: it carries on without what it cannot
 * use, or exits with the path and the reason; never a silent hang, a spin, or a stack trace.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { segmentName } from '../../../src/delivery/spool-segment.js';
import { createPowercapTree, type PowercapTree } from '../../support/fixtures/powercap-tree.js';
import { ProcfsTree } from '../../support/fixtures/procfs-tree.js';
import { runScaph, startScaph } from '../../support/fixtures/run-scaph.js';
import { eventually, expectClean, expectFailure, jsonReportTimes, logLines, missing, RemoteWriteReceiver, saying, sleep, tempDir, JSON_LOGS } from '../../support/harness/bad-input.js';

const trees: PowercapTree[] = [];
const procs: ProcfsTree[] = [];
afterEach(() => {
  for (const t of trees.splice(0)) t.close();
  for (const p of procs.splice(0)) p.cleanup();
});

function realTree(): PowercapTree {
  const t = createPowercapTree('server2s', { clock: 'real' });
  trees.push(t);
  return t;
}

/** Replaces a file with a FIFO nobody writes to: an ordinary open of it blocks forever. */
function fifoAt(path: string): void {
  unlinkSync(path);
  execFileSync('mkfifo', [path]);
}

const json = (tree: PowercapTree, ...more: string[]): string[] => [
  '--no-header', ...JSON_LOGS, '--sensor', 'powercap_rapl', '--powercap-path', tree.powercapPath, 'json', '-t', '2.5', '-s', '0.5', ...more,
];

describe('files that would block a read', () => {
  it('an energy_uj that is a FIFO: the zone is left out (named once), the others are reported', async () => {
    const t = realTree();
    fifoAt(t.file('intel-rapl:1:1'));
    const r = await runScaph(json(t), { timeoutMs: 20_000 });
    expectClean(r);
    const reports = JSON.parse(r.stdout) as Array<{ sockets: Array<{ id: number; domains: Array<{ name: string }> }> }>;
    expect(reports.length).toBeGreaterThanOrEqual(3);
    expect(reports[0]?.sockets.map((s) => s.domains.map((d) => d.name))).toEqual([['core', 'uncore', 'dram'], ['core', 'dram']]);
    const warned = logLines(r.stderr).filter((l) => l['file'] === t.file('intel-rapl:1:1'));
    expect(warned).toHaveLength(1);
    expect(String(warned[0]?.['problem'])).toMatch(/is a FIFO \(named pipe\), not a regular file/);
  });

  it('every energy_uj a FIFO: exit 1 naming the files, within seconds', async () => {
    const t = realTree();
    for (const z of t.zones) if (!z.includes('mmio')) fifoAt(t.file(z));
    const r = await runScaph(json(t), { timeoutMs: 20_000 });
    expectFailure(r, 1, /No usable RAPL zone/, new RegExp(`${t.file('intel-rapl:0')}: .*FIFO`));
    expect(r.ms).toBeLessThan(10_000);
  });

  it('a zone name file that is a FIFO: the zone keeps its default name, the run goes on', async () => {
    const t = realTree();
    fifoAt(t.file('intel-rapl:1', 'name'));
    const r = await runScaph(json(t), { timeoutMs: 20_000 });
    expectClean(r);
    const reports = JSON.parse(r.stdout) as Array<{ sockets: Array<{ id: number }> }>;
    expect(reports[0]?.sockets.map((s) => s.id)).toEqual([0, 1]);
  });

  it('a /proc/stat that is a FIFO (--procfs-path): exit 1 naming it', async () => {
    const tree = ProcfsTree.create({ processes: [{ pid: 10, comm: 'a', utime: 1, stime: 1, starttime: 5 }] });
    procs.push(tree);
    fifoAt(join(tree.root, 'stat'));
    const r = await runScaph(['--no-header', '--sensor', 'estimate', '--procfs-path', tree.root, 'stdout', '-t', '1'], { timeoutMs: 20_000 });
    expectFailure(r, 1, new RegExp(`cannot read ${tree.root}/stat .*FIFO`), /--procfs-path/);
  });

  it("a process whose stat and cmdline are FIFOs: skipped, the others are reported", async () => {
    const tree = ProcfsTree.create({
      processes: [
        { pid: 10, comm: 'good', utime: 100, stime: 10, starttime: 5 },
        { pid: 11, comm: 'fifo', utime: 100, stime: 10, starttime: 6 },
        { pid: 12, comm: 'argv', utime: 100, stime: 10, starttime: 7 },
      ],
    });
    procs.push(tree);
    fifoAt(join(tree.root, '11', 'stat'));
    fifoAt(join(tree.root, '12', 'cmdline'));
    const r = await runScaph(['--no-header', '--sensor', 'estimate', '--procfs-path', tree.root, 'json', '-t', '1.2', '-s', '0.5', '-m', '10'], { timeoutMs: 20_000 });
    expectClean(r);
    const pids = (JSON.parse(r.stdout) as Array<{ consumers: Array<{ pid: number }> }>)[0]?.consumers.map((c) => c.pid).sort();
    expect(pids).toEqual([10, 12]);
  });

  it('a config file that is a FIFO: exit 2 naming it', async () => {
    const dir = tempDir();
    const config = join(dir, 'scaph.toml');
    execFileSync('mkfifo', [config]);
    expectFailure(await runScaph(['run', '-c', config, '--check'], { timeoutMs: 20_000 }), 2, new RegExp(`cannot read the config file "${config}" \\(it is a FIFO`));
  });

  it('a token file that is a FIFO nobody writes to: exit 1 naming it after the read deadline', async () => {
    const dir = tempDir();
    const token = join(dir, 'token');
    execFileSync('mkfifo', [token]);
    const r = await runScaph(['--no-header', '--sensor', 'estimate', 'remote-write', '-u', 'http://127.0.0.1:9/api/v1/write', '--bearer-token-file', token], { timeoutMs: 20_000 });
    expectFailure(r, 1, new RegExp(`bearer token file "${token}" cannot be read: reading ${token} did not finish within 5000 ms`));
  });

  it('a token file given as a pipe that delivers (<(command)) is read', async () => {
    const dir = tempDir();
    const token = join(dir, 'token');
    execFileSync('mkfifo', [token]);
    const receiver = await RemoteWriteReceiver.start();
    try {
      const scaph = startScaph(['--no-header', '--sensor', 'estimate', 'remote-write', '-u', receiver.url, '-S', '0.5', '--bearer-token-file', token], { timeoutMs: 20_000 });
      await sleep(300);
      writeFileSync(token, 's3cret\n');
      await eventually(() => receiver.requests.length > 0, 10_000, 'a request');
      expect(receiver.requests[0]?.headers['authorization']).toBe('Bearer s3cret');
      expectClean(await scaph.stop());
    } finally {
      await receiver.stop();
    }
  });
});

describe('directories where nothing can be created', () => {
  it('spool_dir under /proc: exit 1 naming the directory and the OS error, within seconds (no spin)', async () => {
    const dir = tempDir();
    const config = join(dir, 'scaph.toml');
    writeFileSync(config, `[sensor]\nkind = "estimate"\n[[exporter]]\ntype = "remote-write"\nurl = "http://127.0.0.1:9/api/v1/write"\nspool_dir = "/proc/scaph-spool/rw"\n`);
    const r = await runScaph(['--no-header', 'run', '-c', config], { timeoutMs: 20_000 });
    expectFailure(r, 1, /spool directory "\/proc\/scaph-spool\/rw" cannot be created \(ENOENT at \/proc\/scaph-spool\)/);
    expect(r.ms).toBeLessThan(5000);
  });

  it('spool_dir below a regular file: exit 1 (ENOTDIR)', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'file'), 'x');
    const config = join(dir, 'scaph.toml');
    writeFileSync(config, `[[exporter]]\ntype = "riemann"\nspool_dir = "${dir}/file/spool"\n`);
    expectFailure(await runScaph(['--no-header', '--sensor', 'estimate', 'run', '-c', config], { timeoutMs: 20_000 }), 1, /spool directory ".*\/file\/spool" cannot be created \(ENOTDIR/);
  });

  it('qemu --path under /proc: exit 1 naming it (no spin)', async () => {
    const r = await runScaph(['--no-header', '--sensor', 'estimate', 'qemu', '--path', '/proc/scaph-vms', '-s', '1'], { timeoutMs: 20_000 });
    expectFailure(r, 1, /cannot write VM energy trees under \/proc\/scaph-vms \(ENOENT\)/);
    expect(r.ms).toBeLessThan(5000);
  });
});

describe('a full disk under the spool', () => {
  it('degrades the spool to memory (said once), never kills the agent; nothing sampled is lost', async () => {
    const dir = tempDir();
    const spool = join(dir, 'spool');
    const receiver = await RemoteWriteReceiver.start();
    receiver.fallback = { status: 503, body: 'down for maintenance' };
    const out = join(dir, 'sampled.json');
    const config = join(dir, 'scaph.toml');
    writeFileSync(
      config,
      `[sensor]\nkind = "estimate"\nstep = "250ms"\n` +
        `[[exporter]]\ntype = "remote-write"\nurl = "${receiver.url}"\nspool_dir = "${spool}"\nspool_max_bytes = "256KiB"\nstep = "250ms"\n` +
        `[[exporter]]\ntype = "json"\nfile = "${out}"\nstep = "250ms"\n`,
    );
    const scaph = startScaph(['--no-header', ...JSON_LOGS, 'run', '-c', config], { timeoutMs: 90_000 });
    // ENOSPC on demand once the agent runs: the next segments (64 KiB each here) and the acknowledgement's
    // temp file lead to /dev/full.
    const full = [...Array.from({ length: 3000 }, (_, i) => join(spool, segmentName(i + 1))), join(spool, 'ack.tmp')];
    try {
      await eventually(() => existsSync(join(spool, segmentName(0))), 10_000, 'the first segment');
      for (const f of full) symlinkSync('/dev/full', f);
      await scaph.waitForStderr(/cannot write to the spool/, 30_000);
      await sleep(1000); // the outage goes on with the disk full
      receiver.fallback = { status: 204 };
      await scaph.waitForStderr(/cannot record delivered samples in the spool/, 20_000);
      await eventually(() => missing(jsonReportTimes(out), new Set(receiver.stored.keys())).length === 0, 20_000, 'delivery of every sample');
      for (const f of full) unlinkSync(f); // the disk has room again
      await scaph.waitForStderr(/the spool takes writes again/);
      await sleep(1000);
      const r = await scaph.stop();
      expectClean(r);
      const sampled = jsonReportTimes(out);
      expect(missing(sampled, new Set(receiver.stored.keys()))).toEqual([]);
      const degraded = saying(r.stderr, /cannot write to the spool/);
      expect(degraded.map((l) => String(l['err']))).toEqual([expect.stringMatching(/ENOSPC/)]);
      for (const once of [/the spool takes writes again/, /cannot record delivered samples/, /spool acknowledgements recorded again/]) {
        expect(saying(r.stderr, once), String(once)).toHaveLength(1);
      }
    } finally {
      await scaph.stop('SIGKILL');
      await receiver.stop();
    }
  });
});

describe('steps that would spin or flood', () => {
  it('a step longer than a timer can wait, from a config file: exit 2', async () => {
    const dir = tempDir();
    const config = join(dir, 'scaph.toml');
    writeFileSync(config, `[[exporter]]\ntype = "stdout"\nstep = "30d"\n`);
    expectFailure(await runScaph(['run', '-c', config, '--check']), 2, /exporter\[0\]\.step: \(stdout\) -s\/--step must be at most 2147483 seconds/);
  });

  it('a step far shorter than a reading: skipped ticks are said at most once a minute', async () => {
    const r = await runScaph(['--no-header', ...JSON_LOGS, '--sensor', 'estimate', 'json', '-t', '2', '-s', '0.0005'], { timeoutMs: 20_000 });
    expectClean(r);
    expect(logLines(r.stderr).filter((l) => /overran its step/.test(l.msg)).length).toBeLessThanOrEqual(1);
    expect((JSON.parse(r.stdout) as unknown[]).length).toBeGreaterThan(3);
  });
});
