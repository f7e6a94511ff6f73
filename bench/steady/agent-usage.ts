/** CPU time, minor faults and peak RSS of another process, from its /proc/<pid>/stat and status. */
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
