/**
 * prometheus-process-exporter reads more than stat: status, io, limits, fd/ and task/ of every
 * process, and counts a process as failed without status or limits. ProcfsTree writes only what
 * scaph reads, so the bench adds those files (shaped like Linux 6.x) before any measurement, so the
 * C floor, scaph and the peer all walk the same tree.
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

/** Adds status, io, limits, fd/ and task/<pid>/ (the main thread) to every process of a synthetic tree. */
export function addPeerFiles(root: string): void {
  for (const name of readdirSync(root)) {
    const c = name.charCodeAt(0);
    if (c < 0x30 || c > 0x39) continue;
    const dir = join(root, name);
    writeFileSync(join(dir, 'status'), status(name));
    writeFileSync(join(dir, 'io'), IO);
    writeFileSync(join(dir, 'limits'), LIMITS);
    mkdirSync(join(dir, 'fd'));
    const thread = join(dir, 'task', name);
    mkdirSync(thread, { recursive: true });
    for (const file of ['stat', 'status', 'io']) linkSync(join(dir, file), join(thread, file));
  }
}
