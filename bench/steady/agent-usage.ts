/** CPU time, minor faults, peak RSS and bytes written of another process, from its /proc/<pid>/stat, status and io. */
import { readFileSync } from 'node:fs';

const USER_HZ = 100;

/** utime + stime of the process, in seconds. */
export function cpuSecondsOf(pid: number): number {
  const fields = statFields(pid);
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
}

/** Minor page faults of the process since it started (a page touched for the first time, or again after it was given back). */
export function minorFaultsOf(pid: number): number {
  return Number(statFields(pid)[7]);
}

/** /proc/<pid>/stat from field 3 (state) on: utime is [11], stime [12], minflt [7]. */
function statFields(pid: number): string[] {
  const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** VmHWM (peak resident set) in MB. */
export function peakRssMbOf(pid: number): number {
  return statusMb(pid, 'VmHWM');
}

/** VmRSS (resident set now) in MB. */
export function rssMbOf(pid: number): number {
  return statusMb(pid, 'VmRSS');
}

function statusMb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const text = readFileSync(`/proc/${pid}/status`, 'latin1');
  const line = text.split('\n').find((l) => l.startsWith(`${field}:`));
  if (!line) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number.parseInt(line.slice(field.length + 1).trim(), 10) / 1024;
}

/**
 * Bytes the process has passed to write-type system calls (`wchar` of /proc/<pid>/io): what it sent on
 * its sockets (libuv writes streams with write/writev) plus its log lines. Same-user processes only.
 */
export function bytesWrittenOf(pid: number): number {
  const match = /^wchar:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'latin1'));
  if (!match) throw new Error(`no wchar in /proc/${pid}/io`);
  return Number(match[1]);
}
