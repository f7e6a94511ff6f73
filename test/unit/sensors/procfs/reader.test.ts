import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcfsReader, ProcfsUnreadableError, detectPageSizeBytes } from '../../../../src/sensors/procfs/reader.js';
import { parseCmdline, parsePidStat, parseProcStat, parseStatm, parseUptimeTicks } from '../../../../src/sensors/procfs/parse.js';
import { ProcfsTree, generateProcesses, pidStatLine, type FakeProcess } from '../../../support/fixtures/procfs-tree.js';

const trees: ProcfsTree[] = [];
function tree(spec: Parameters<typeof ProcfsTree.create>[0] = {}): ProcfsTree {
  const t = ProcfsTree.create(spec);
  trees.push(t);
  return t;
}
afterEach(() => {
  for (const t of trees.splice(0)) t.cleanup();
});

describe('parseProcStat', () => {
  it('counts busy as user + nice + system + irq + softirq: not idle, iowait or steal, guest time not twice', () => {
    const text = 'cpu  100 20 30 400 50 6 7 8 90 9\ncpu0 1 2 3 4 5 6 7 8 9 10\ncpu1 1 2 3 4 5 6 7 8 9 10\nintr 1\n';
    const stat = parseProcStat(text);
    // total = 100+20+30+400+50+6+7+8 = 621; busy = 100+20+30+6+7 = 163: steal (8), the time the hypervisor
    // gave to other guests, is not this machine's work; guest 90 and guest_nice 9 are inside user and nice.
    expect(stat.cpu).toEqual({ busyTicks: 163, totalTicks: 621 });
    expect(stat.cpuCount).toBe(2);
  });

  it('rejects a file without the aggregate line', () => {
    expect(() => parseProcStat('intr 1\n')).toThrow(/cpu/);
  });
});

describe('parsePidStat', () => {
  const parse = (line: string, pageSizeBytes = 4096) => {
    const buf = Buffer.from(line);
    return parsePidStat(buf, buf.length, pageSizeBytes);
  };

  it('reads ppid, utime+stime, cutime+cstime, starttime, vsize and rss in bytes', () => {
    const p: FakeProcess = { pid: 42, comm: 'nginx', ppid: 7, utime: 1234, stime: 567, cutime: 90, cstime: 10, starttime: 98765, vsize: 123456789, rssPages: 250 };
    expect(parse(pidStatLine(p))).toEqual({
      comm: 'nginx',
      ppid: 7,
      cpuTicksTotal: 1801,
      childTicksTotal: 100,
      starttime: 98765,
      vsizeBytes: 123456789,
      rssBytes: 250 * 4096,
    });
    expect(parse(pidStatLine(p), 65536)?.rssBytes).toBe(250 * 65536);
  });

  it('parses from the last ")" when comm holds spaces and parentheses', () => {
    const p: FakeProcess = { pid: 7, comm: 'a) b (c) 1 2 3', utime: 11, stime: 22, starttime: 333 };
    const stat = parse(pidStatLine(p));
    expect(stat?.comm).toBe('a) b (c) 1 2 3');
    expect(stat?.cpuTicksTotal).toBe(33);
    expect(stat?.starttime).toBe(333);
  });

  it('returns null for a truncated line', () => {
    expect(parse('42 (x) S 1 2 3')).toBeNull();
  });
});

describe('parseUptimeTicks', () => {
  it('turns /proc/uptime seconds into USER_HZ ticks, the clock of starttime', () => {
    expect(parseUptimeTicks('350735.47 234388.90\n', 100)).toBe(35_073_547);
    expect(parseUptimeTicks('12.3\n', 100)).toBe(1230);
    expect(parseUptimeTicks('12345.67 1.00\n', 100)).toBe(1_234_567); // not 1234566 (floating-point 12345.67 * 100)
    expect(parseUptimeTicks('7', 100)).toBe(700);
    expect(parseUptimeTicks('garbage', 100)).toBeNull();
    expect(parseUptimeTicks('-5 1', 100)).toBeNull();
  });
});

describe('parseStatm', () => {
  it("takes size, resident and shared pages from /proc/PID/statm (scaph's scaph_self_mem_* figures)", () => {
    expect(parseStatm('301722 18301 9021 2 0 26433 0\n')).toEqual({ totalProgramPages: 301_722, residentPages: 18_301, sharedPages: 9021 });
    expect(parseStatm('12 3')).toBeNull();
    expect(parseStatm('a b c d')).toBeNull();
    expect(parseStatm('')).toBeNull();
  });
});

describe('parseCmdline', () => {
  it('splits on NUL and drops the trailing NUL', () => {
    expect(parseCmdline(Buffer.from('/usr/bin/node\0-e\0for (;;) {}\0'))).toEqual(['/usr/bin/node', '-e', 'for (;;) {}']);
  });
  it('is empty for kernel threads', () => {
    expect(parseCmdline(Buffer.alloc(0))).toEqual([]);
  });
  it('keeps an argument list rewritten with spaces as one element', () => {
    expect(parseCmdline(Buffer.from('postgres: checkpointer '))).toEqual(['postgres: checkpointer ']);
  });
  it('decodes invalid UTF-8 leniently', () => {
    const buf = Buffer.concat([Buffer.from('bad'), Buffer.from([0xff, 0xfe]), Buffer.from('\0x\0')]);
    expect(parseCmdline(buf)).toEqual(['bad\uFFFD\uFFFD', 'x']);
  });
});

describe('ProcfsReader on a synthetic tree', () => {
  it('reads host files: stat, loadavg, meminfo in bytes', () => {
    const t = tree({ cpuCount: 8, cpu: { user: 300, system: 100, idle: 600, iowait: 0 } });
    const reader = new ProcfsReader({ root: t.root });
    expect(reader.readStat()).toEqual({ cpu: { busyTicks: 400, totalTicks: 1000 }, cpuCount: 8 });
    expect(reader.readLoadavg()).toEqual([0.52, 0.58, 0.59]);
    expect(reader.readMeminfo()).toEqual({
      totalBytes: 16000000 * 1024,
      freeBytes: 2000000 * 1024,
      availableBytes: 8000000 * 1024,
      swapTotalBytes: 1000000 * 1024,
      swapFreeBytes: 900000 * 1024,
    });
    expect(reader.pageSizeBytes).toBe(4096);
  });

  it('reads processes: exe from the link (minus " (deleted)"), comm fallback, cmdline joined', async () => {
    const t = tree({
      processes: [
        { pid: 10, comm: 'nginx', utime: 5, stime: 1, starttime: 100, argv: ['nginx:', 'worker', 'process'], exe: '/usr/sbin/nginx' },
        { pid: 11, comm: 'kworker/0:1', utime: 0, stime: 9, starttime: 2, argv: [], exe: null },
        { pid: 12, comm: 'app', utime: 1, stime: 1, starttime: 300, exe: '/opt/app/bin/app (deleted)' },
      ],
    });
    const entries = await new ProcfsReader({ root: t.root }).snapshot();
    expect([...entries.keys()].sort((a, b) => a - b)).toEqual([10, 11, 12]);
    const nginx = entries.get(10)?.identity;
    expect(nginx).toMatchObject({ exe: 'nginx', exePath: '/usr/sbin/nginx', cmdline: 'nginx: worker process' });
    expect(entries.get(10)?.cpuTicksTotal).toBe(6);
    expect(entries.get(11)?.identity).toMatchObject({ exe: 'kworker/0:1', exePath: '', cmdline: '' });
    expect(entries.get(12)?.identity).toMatchObject({ exe: 'app', exePath: '/opt/app/bin/app' });
  });

  it('ignores non-numeric entries and skips processes that vanished mid-read', async () => {
    const t = tree({ processes: generateProcesses(3, 500) });
    mkdirSync(join(t.root, 'self'));
    mkdirSync(join(t.root, '600')); // listed by readdir, but its stat is gone (ENOENT)
    // 501's stat is still there but its cmdline vanished: the process ended between the two reads.
    rmSync(join(t.root, '501', 'cmdline'));
    const reader = new ProcfsReader({ root: t.root });
    const entries = await reader.snapshot();
    expect([...entries.keys()].sort((a, b) => a - b)).toEqual([500, 502]);
    t.removeProcess(502);
    expect(reader.readProcess(502)).toBeNull();
  });

  it('reads cmdline and exe once per (pid, starttime) and again after pid reuse', async () => {
    const p: FakeProcess = { pid: 77, comm: 'first', utime: 1, stime: 0, starttime: 1000, argv: ['first', '--a'] };
    const t = tree({ processes: [p] });
    const reader = new ProcfsReader({ root: t.root });
    const first = (await reader.snapshot()).get(77);
    writeFileSync(join(t.root, '77', 'cmdline'), 'rewritten\0');
    t.writeProcessStat({ ...p, utime: 50 });
    const second = (await reader.snapshot()).get(77);
    expect(second?.cpuTicksTotal).toBe(50);
    expect(second?.identity).toBe(first?.identity);
    expect(second?.identity.cmdline).toBe('first --a');
    t.writeProcess({ pid: 77, comm: 'second', utime: 0, stime: 0, starttime: 5000, argv: ['second'] });
    const third = (await reader.snapshot()).get(77);
    expect(third?.identity).toMatchObject({ starttime: 5000, cmdline: 'second', exe: 'second' });
  });

  it('reads 1,000 processes with one entry each', async () => {
    const t = tree({ processes: generateProcesses(1000) });
    const entries = await new ProcfsReader({ root: t.root }).snapshot();
    expect(entries.size).toBe(1000);
    expect(entries.get(1999)?.identity.cmdline).toBe('/usr/bin/worker-29 --id 999');
    expect(entries.get(1999)?.cpuTicksTotal).toBe(((999 * 37) % 5000) + ((999 * 13) % 2000));
  });

  it('throws a named, actionable error when the root is not a procfs', () => {
    const reader = new ProcfsReader({ root: '/nonexistent-procfs' });
    expect(() => reader.readStat()).toThrow(ProcfsUnreadableError);
    expect(() => reader.readStat()).toThrow(/--procfs-path/);
  });
});

describe('detectPageSizeBytes', () => {
  it('matches the real page size on this machine and defaults to 4096 without smaps', () => {
    expect(detectPageSizeBytes('/proc')).toBeGreaterThanOrEqual(4096);
    expect(detectPageSizeBytes('/nonexistent')).toBe(4096);
  });
});
