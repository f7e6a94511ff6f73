/**
 * prometheus-process-exporter reads more than stat: status, io, limits, wchan, cgroup, smaps_rollup,
 * fd/ and task/ of every process; it counts a process as failed without status or limits, and as
 * partly failed (namedprocess_scrape_partial_errors) without wchan, or without smaps_rollup when it
 * gathers smaps (its default). ProcfsTree writes only what scaph reads, so the bench adds those files
 * (shaped like Linux 6.x) before any measurement, so the C floor, scaph and the peer all walk the same
 * tree and the peer reads every process without an error.
 */
import { linkSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const LIMITS =
  'Limit                     Soft Limit           Hard Limit           Units     \n' +
  'Max cpu time              unlimited            unlimited            seconds   \n' +
  'Max file size             unlimited            unlimited            bytes     \n' +
  'Max data size             unlimited            unlimited            bytes     \n' +
  'Max stack size            8388608              unlimited            bytes     \n' +
  'Max core file size        0                    unlimited            bytes     \n' +
  'Max resident set          unlimited            unlimited            bytes     \n' +
  'Max processes             63000                63000                processes \n' +
  'Max open files            1024                 524288               files     \n' +
  'Max locked memory         8388608              8388608              bytes     \n' +
  'Max address space         unlimited            unlimited            bytes     \n' +
  'Max file locks            unlimited            unlimited            locks     \n' +
  'Max pending signals       63000                63000                signals   \n' +
  'Max msgqueue size         819200               819200               bytes     \n' +
  'Max nice priority         0                    0                    \n' +
  'Max realtime priority     0                    0                    \n' +
  'Max realtime timeout      unlimited            unlimited            us        \n';

/** What a kernel without CONFIG_KALLSYMS-visible wait channels (or a sleeping task in user space) shows. */
const WCHAN = '0';
const CGROUP = '0::/user.slice/user-1000.slice/session-1.scope\n';

const SMAPS_ROLLUP =
  '55d5c0a8e000-7ffd7ebf5000 ---p 00000000 00:00 0                          [rollup]\n' +
  'Rss:                4000 kB\nPss:                1500 kB\nPss_Dirty:           800 kB\nPss_Anon:            900 kB\n' +
  'Pss_File:            600 kB\nPss_Shmem:             0 kB\nShared_Clean:       2800 kB\nShared_Dirty:          0 kB\n' +
  'Private_Clean:       200 kB\nPrivate_Dirty:      1000 kB\nReferenced:         4000 kB\nAnonymous:          1000 kB\n' +
  'LazyFree:              0 kB\nAnonHugePages:         0 kB\nShmemPmdMapped:        0 kB\nFilePmdMapped:         0 kB\n' +
  'Shared_Hugetlb:        0 kB\nPrivate_Hugetlb:       0 kB\nSwap:                  0 kB\nSwapPss:               0 kB\n' +
  'Locked:                0 kB\n';

const IO = 'rchar: 6976\nwchar: 0\nsyscr: 10\nsyscw: 0\nread_bytes: 0\nwrite_bytes: 0\ncancelled_write_bytes: 0\n';

function status(pid: string): string {
  return (
    `Name:\tworker\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t${pid}\nNgid:\t0\nPid:\t${pid}\nPPid:\t1\n` +
    'TracerPid:\t0\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\nFDSize:\t64\nGroups:\t \n' +
    'VmPeak:\t    9766 kB\nVmSize:\t    9766 kB\nVmLck:\t       0 kB\nVmPin:\t       0 kB\nVmHWM:\t    4000 kB\n' +
    'VmRSS:\t    4000 kB\nRssAnon:\t    1000 kB\nRssFile:\t    3000 kB\nRssShmem:\t       0 kB\nVmData:\t     360 kB\n' +
    'VmStk:\t     132 kB\nVmExe:\t      20 kB\nVmLib:\t    1528 kB\nVmPTE:\t      44 kB\nVmSwap:\t       0 kB\n' +
    'Threads:\t1\nvoluntary_ctxt_switches:\t10\nnonvoluntary_ctxt_switches:\t2\n'
  );
}

/**
 * Adds status, io, limits, wchan, cgroup, smaps_rollup, fd/ and task/<pid>/ (the main thread) to every
 * process of a synthetic tree.
 */
export function addPeerFiles(root: string): void {
  for (const name of readdirSync(root)) {
    const c = name.charCodeAt(0);
    if (c < 0x30 || c > 0x39) continue;
    const dir = join(root, name);
    writeFileSync(join(dir, 'status'), status(name));
    writeFileSync(join(dir, 'io'), IO);
    writeFileSync(join(dir, 'limits'), LIMITS);
    writeFileSync(join(dir, 'wchan'), WCHAN);
    writeFileSync(join(dir, 'cgroup'), CGROUP);
    writeFileSync(join(dir, 'smaps_rollup'), SMAPS_ROLLUP);
    mkdirSync(join(dir, 'fd'));
    const thread = join(dir, 'task', name);
    mkdirSync(thread, { recursive: true });
    for (const file of ['stat', 'status', 'io', 'cmdline', 'comm', 'wchan']) linkSync(join(dir, file), join(thread, file));
  }
}
