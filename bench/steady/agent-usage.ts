/** CPU time, peak RSS and bytes written of another process, from its /proc/<pid>/stat, status and io. */
import { readFileSync } from 'node:fs';

const USER_HZ = 100;

/** utime + stime of the process, in seconds. */
export function cpuSecondsOf(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // Fields after the last ')' start at field 3 (state): utime and stime are fields 14 and 15.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
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
