import { spawn } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcfsReader, defaultMaxOpenStatFiles } from '../../../../src/sensors/procfs/reader.js';
import { ProcfsTree, generateProcesses, type FakeProcess } from '../../../support/fixtures/procfs-tree.js';

const trees: ProcfsTree[] = [];
const readers: ProcfsReader[] = [];
function setup(processes: number, maxOpenStatFiles?: number) {
  const tree = ProcfsTree.create({ processes: generateProcesses(processes, 3000) });
  trees.push(tree);
  const reader = new ProcfsReader({ root: tree.root, ...(maxOpenStatFiles === undefined ? {} : { maxOpenStatFiles }) });
  readers.push(reader);
  return { tree, reader };
}
afterEach(() => {
  for (const r of readers.splice(0)) r.close();
  for (const t of trees.splice(0)) t.cleanup();
});

/** fds of this process pointing into `root`. */
function fdsInto(root: string): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkFd(fd).startsWith(root)) count++;
    } catch {
      // the fd closed while we listed
    }
  }
  return count;
}
function readlinkFd(fd: string): string {
  return readlinkSync(`/proc/self/fd/${fd}`);
}

describe('ProcfsReader keeps stat files open between passes', () => {
  it('one fd per process, fresh values through it, released when processes end and on close()', async () => {
    const { tree, reader } = setup(50);
    const first = await reader.snapshot();
    expect(first.size).toBe(50);
    expect(fdsInto(tree.root)).toBe(50);

    const p = generateProcesses(50, 3000)[7]!;
    tree.writeProcessStat({ ...p, utime: p.utime + 321 });
    for (let pid = 3040; pid < 3050; pid++) tree.removeProcess(pid);
    const second = await reader.snapshot();
    expect(second.size).toBe(40);
    expect(second.get(p.pid)?.cpuTicksTotal).toBe(p.utime + 321 + p.stime);
    expect(second.get(p.pid)?.identity).toBe(first.get(p.pid)?.identity);
    expect(fdsInto(tree.root)).toBe(40);

    reader.close();
    expect(fdsInto(tree.root)).toBe(0);
    // Still usable after close(): it reopens.
    expect((await reader.snapshot()).size).toBe(40);
  });

  it('a reused pid gets its new process, not the one the kept fd was opened for', async () => {
    const { tree, reader } = setup(3);
    const before = (await reader.snapshot()).get(3001);
    tree.writeProcess({ pid: 3001, comm: 'reborn', utime: 5, stime: 6, starttime: 99_999, argv: ['reborn', '-x'] });
    const after = (await reader.snapshot()).get(3001);
    expect(before?.starttime).toBe(10_001);
    expect(after).toMatchObject({ starttime: 99_999, comm: 'reborn', cpuTicksTotal: 11 });
    expect(after?.identity.cmdline).toBe('reborn -x');
    expect(fdsInto(tree.root)).toBe(3);
    // The old process ended (the sensor then reads its reaper again); nothing ended in a quiet pass.
    expect(reader.endedInLastSnapshot).toBe(1);
    await reader.snapshot();
    expect(reader.endedInLastSnapshot).toBe(0);
    tree.removeProcess(3002);
    await reader.snapshot();
    expect(reader.endedInLastSnapshot).toBe(1);
  });

  it('keeps one entry per process, updated in place by each pass; an ended or replaced process keeps its last values', async () => {
    const { tree, reader } = setup(3);
    const [a, b, c] = generateProcesses(3, 3000) as [FakeProcess, FakeProcess, FakeProcess];
    const first = await reader.snapshot();
    const entryOfA = first.get(a.pid);
    const entryOfB = first.get(b.pid);
    const entryOfC = first.get(c.pid);
    tree.writeProcessStat({ ...a, utime: a.utime + 7, rssPages: 123 });
    tree.removeProcess(b.pid);
    tree.writeProcess({ pid: c.pid, comm: 'reborn', utime: 1, stime: 2, starttime: 99_999, argv: ['reborn'] });
    const second = await reader.snapshot();
    expect(second.get(a.pid)).toBe(entryOfA);
    expect(entryOfA).toMatchObject({ cpuTicksTotal: a.utime + 7 + a.stime, rssBytes: 123 * reader.pageSizeBytes });
    expect(second.has(b.pid)).toBe(false);
    expect(entryOfB).toMatchObject({ pid: b.pid, starttime: b.starttime, cpuTicksTotal: b.utime + b.stime });
    expect(second.get(c.pid)).not.toBe(entryOfC);
    expect(second.get(c.pid)).toMatchObject({ starttime: 99_999, comm: 'reborn', cpuTicksTotal: 3 });
    expect(entryOfC).toMatchObject({ starttime: c.starttime, comm: c.comm, cpuTicksTotal: c.utime + c.stime });
  });

  it('reads comm every pass: a renamed process shows its new name, a non-ASCII one decodes, an unchanged one is the same string', async () => {
    const { tree, reader } = setup(3);
    const first = await reader.snapshot();
    const p = generateProcesses(3, 3000)[1]!;
    expect((await reader.snapshot()).get(p.pid)?.comm).toBe(first.get(p.pid)?.comm);
    tree.writeProcessStat({ ...p, comm: 'renamed' });
    expect((await reader.snapshot()).get(p.pid)?.comm).toBe('renamed');
    tree.writeProcessStat({ ...p, comm: 'wörker ünit' });
    expect((await reader.snapshot()).get(p.pid)?.comm).toBe('wörker ünit');
    expect((await reader.snapshot()).get(p.pid)?.comm).toBe('wörker ünit');
    tree.writeProcessStat({ ...p, comm: 'renamee' });
    const last = await reader.snapshot();
    expect(last.get(p.pid)).toMatchObject({ comm: 'renamee', identity: first.get(p.pid)?.identity });
    expect(reader.endedInLastSnapshot).toBe(0);
  });

  it('keeps at most maxOpenStatFiles open and reads the rest by path with the same values', async () => {
    const capped = setup(40, 10);
    const none = setup(40, 0);
    const a = await capped.reader.snapshot();
    const b = await none.reader.snapshot();
    expect(fdsInto(capped.tree.root)).toBe(10);
    expect(fdsInto(none.tree.root)).toBe(0);
    const strip = (m: typeof a) => [...m.values()].map((e) => [e.pid, e.starttime, e.cpuTicksTotal, e.identity.cmdline]);
    expect(strip(a)).toEqual(strip(b));
    expect(a.size).toBe(40);
  });

  it('on the real /proc, a kept fd of an ended process is dropped and the process reported gone', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    const pid = child.pid as number;
    const reader = new ProcfsReader();
    readers.push(reader);
    const alive = await reader.snapshot();
    expect(alive.get(pid)?.identity.argv).toEqual(['sleep', '30']);
    expect(fdsInto(`/proc/${pid}/`)).toBe(1);
    child.kill('SIGKILL');
    await once(child, 'exit');
    // Reaped: reading the fd kept open for it now fails (ESRCH) and the pid is gone from the listing.
    expect(reader.readProcess(pid)).toBeNull();
    expect(fdsInto(`/proc/${pid}/`)).toBe(0);
  });
});

describe('defaultMaxOpenStatFiles', () => {
  const limits = (soft: string, hard: string) =>
    `Limit                     Soft Limit           Hard Limit           Units     \n` +
    `Max processes             63000                63000                processes \n` +
    `Max open files            ${soft.padEnd(20)} ${hard.padEnd(20)} files     \n`;

  it('leaves 1024 fds to the rest of the agent, or half of a small limit', () => {
    expect(defaultMaxOpenStatFiles(limits('524288', '524288'))).toBe(524288 - 1024);
    expect(defaultMaxOpenStatFiles(limits('20000', '20000'))).toBe(18976);
    expect(defaultMaxOpenStatFiles(limits('1024', '524288'))).toBe(512);
  });

  it('falls back to 512 when the limits are unreadable, and a large cache when unlimited', () => {
    expect(defaultMaxOpenStatFiles(null)).toBe(512);
    expect(defaultMaxOpenStatFiles(limits('unlimited', 'unlimited'))).toBe(1 << 20);
  });
});
