/**
 * Pure parsers for procfs text. No I/O here, so every edge case (comm with ')' and spaces, guest
 * time, lenient cmdline decoding) is testable from strings and buffers.
 */
import type { AgentMemorySample, MemorySample } from '../../core/sample.js';

/** Aggregate CPU time from the `cpu` line of /proc/stat, in USER_HZ ticks. */
export interface CpuTimes {
  /**
   * user + nice + system + irq + softirq: time the machine spent doing something. idle and iowait are
   * waiting; steal is time the hypervisor gave to other guests. guest/guest_nice are inside user/nice.
   */
  readonly busyTicks: number;
  /** user + nice + system + idle + iowait + irq + softirq + steal (guest is inside user/nice). */
  readonly totalTicks: number;
}

export interface ProcStat {
  readonly cpu: CpuTimes;
  /** Number of `cpuN` lines: logical CPUs online. */
  readonly cpuCount: number;
}

/** Figures from /proc/PID/stat. */
export interface PidStat {
  readonly comm: string;
  /** Parent pid (field 4): who reaps this process when it ends, unless it is reparented first. */
  readonly ppid: number;
  /** utime + stime, USER_HZ ticks, all threads. */
  readonly cpuTicksTotal: number;
  /** cutime + cstime: CPU time of the children this process has waited for, USER_HZ ticks. */
  readonly childTicksTotal: number;
  /** Jiffies since boot at process start. */
  readonly starttime: number;
  readonly vsizeBytes: number;
  readonly rssBytes: number;
}

const CHAR_SPACE = 0x20;
const CHAR_NEWLINE = 0x0a;
const CHAR_ZERO = 0x30;
const CHAR_NINE = 0x39;
const CHAR_OPEN = 0x28; // (
const CHAR_CLOSE = 0x29; // )
const CHAR_MINUS = 0x2d;

export function parseProcStat(text: string): ProcStat {
  let cpu: CpuTimes | null = null;
  let cpuCount = 0;
  let lineStart = 0;
  while (lineStart < text.length) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd < 0) lineEnd = text.length;
    if (text.startsWith('cpu', lineStart)) {
      const next = text.charCodeAt(lineStart + 3);
      if (next === CHAR_SPACE) cpu = parseCpuLine(text.slice(lineStart + 3, lineEnd));
      else if (next >= CHAR_ZERO && next <= CHAR_NINE) cpuCount++;
    }
    lineStart = lineEnd + 1;
  }
  if (!cpu) throw new Error('no aggregate "cpu" line in /proc/stat');
  return { cpu, cpuCount: Math.max(cpuCount, 1) };
}

function parseCpuLine(rest: string): CpuTimes {
  const f = rest.trim().split(/\s+/).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  // guest (f[8]) and guest_nice (f[9]) are already counted in user and nice.
  const totalTicks = user + nice + system + idle + iowait + irq + softirq + steal;
  return { busyTicks: user + nice + system + irq + softirq, totalTicks };
}

/** What parsePidStatInto fills in: PidStat's figures, and where comm lies in the buffer (bytes [commStart, commEnd)). */
export interface PidStatFields {
  commStart: number;
  commEnd: number;
  ppid: number;
  cpuTicksTotal: number;
  childTicksTotal: number;
  starttime: number;
  vsizeBytes: number;
  rssBytes: number;
}

export function newPidStatFields(): PidStatFields {
  return { commStart: 0, commEnd: 0, ppid: 0, cpuTicksTotal: 0, childTicksTotal: 0, starttime: 0, vsizeBytes: 0, rssBytes: 0 };
}

/**
 * Parses /proc/PID/stat from bytes. Fields are counted from the LAST ')' because comm may contain
 * spaces and ')'. Returns null when the content is not a stat line (truncated or garbage).
 */
export function parsePidStat(buf: Buffer, length: number, pageSizeBytes: number): PidStat | null {
  const f = newPidStatFields();
  if (!parsePidStatInto(buf, length, pageSizeBytes, f)) return null;
  return {
    comm: buf.toString('utf8', f.commStart, f.commEnd),
    ppid: f.ppid,
    cpuTicksTotal: f.cpuTicksTotal,
    childTicksTotal: f.childTicksTotal,
    starttime: f.starttime,
    vsizeBytes: f.vsizeBytes,
    rssBytes: f.rssBytes,
  };
}

/**
 * parsePidStat into `out`, which the reader keeps for every process of a pass: no object and no comm
 * string per process and step (the reader makes comm a string only when its bytes changed). False when the
 * content is not a stat line; `out` is then partly written.
 */
export function parsePidStatInto(buf: Buffer, length: number, pageSizeBytes: number, out: PidStatFields): boolean {
  let close = length - 1;
  while (close >= 0 && buf[close] !== CHAR_CLOSE) close--;
  let open = 0;
  while (open < close && buf[open] !== CHAR_OPEN) open++;
  if (close <= open) return false;
  // After ") " comes field 3 (state). Walk space-separated fields, parsing only the ones we need.
  let field = 3;
  let ppid = -1;
  let utime = -1;
  let stime = -1;
  let cutime = -1;
  let cstime = -1;
  let starttime = -1;
  let vsize = -1;
  let rss = -1;
  let i = close + 2;
  while (i < length && field <= 24) {
    if (field !== 4 && (field < 14 || field > 17) && field < 22) {
      // A field we do not read (state, pgrp, flags, faults, priority, …): skip to the next space.
      while (i < length && buf[i] !== CHAR_SPACE) i++;
      field++;
      i++;
      continue;
    }
    let value = 0;
    let negative = false;
    let c = buf[i] ?? CHAR_SPACE;
    while (c !== CHAR_SPACE && c !== CHAR_NEWLINE) {
      if (c >= CHAR_ZERO && c <= CHAR_NINE) value = value * 10 + (c - CHAR_ZERO);
      else if (c === CHAR_MINUS) negative = true;
      i++;
      if (i >= length) break;
      c = buf[i] ?? CHAR_SPACE;
    }
    if (field === 4) ppid = value;
    else if (field === 14) utime = value;
    else if (field === 15) stime = value;
    else if (field === 16) cutime = negative ? 0 : value;
    else if (field === 17) cstime = negative ? 0 : value;
    else if (field === 22) starttime = value;
    else if (field === 23) vsize = value;
    else if (field === 24) rss = negative ? 0 : value;
    field++;
    i++;
  }
  if (rss < 0 || utime < 0 || stime < 0 || starttime < 0 || vsize < 0 || ppid < 0 || cutime < 0 || cstime < 0) return false;
  out.commStart = open + 1;
  out.commEnd = close;
  out.ppid = ppid;
  out.cpuTicksTotal = utime + stime;
  out.childTicksTotal = cutime + cstime;
  out.starttime = starttime;
  out.vsizeBytes = vsize;
  out.rssBytes = rss * pageSizeBytes;
  return true;
}

/**
 * NUL-separated argv. A trailing NUL ends the last argument; invalid UTF-8 becomes U+FFFD rather
 * than failing, because processes may put arbitrary bytes there.
 */
export function parseCmdline(buf: Buffer): readonly string[] {
  let end = buf.length;
  while (end > 0 && buf[end - 1] === 0) end--;
  if (end === 0) return [];
  return buf.toString('utf8', 0, end).split('\0');
}

/** Link target of /proc/PID/exe without the " (deleted)" the kernel appends for replaced binaries. */
export function cleanExePath(target: string): string {
  const suffix = ' (deleted)';
  return target.endsWith(suffix) ? target.slice(0, -suffix.length) : target;
}

export function basename(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? path : path.slice(slash + 1);
}

/**
 * /proc/uptime's first figure (seconds since boot with two decimals, CLOCK_BOOTTIME, the clock starttime
 * counts in) in USER_HZ ticks; null if unparsable. Parsed from its digits: 12345.67 * 100 in floating
 * point is 1234566.99…, one tick short.
 */
export function parseUptimeTicks(text: string, userHz: number): number | null {
  const m = UPTIME_RE.exec(text);
  if (!m) return null;
  const fraction = (m[2] ?? '').padEnd(2, '0').slice(0, 2);
  return Number(m[1]) * userHz + Math.floor((Number(fraction) * userHz) / 100);
}

const UPTIME_RE = /^\s*(\d+)(?:\.(\d+))?(?:\s|$)/;

export function parseLoadavg(text: string): readonly [number, number, number] {
  const [one = '0', five = '0', fifteen = '0'] = text.trim().split(' ');
  return [Number(one), Number(five), Number(fifteen)];
}

/** The first three fields of /proc/PID/statm (size, resident, shared), in pages; null when malformed. */
export function parseStatm(text: string): AgentMemorySample | null {
  const [size, resident, shared] = text.trim().split(' ').map(Number);
  if (!isCount(size) || !isCount(resident) || !isCount(shared)) return null;
  return { totalProgramPages: size, residentPages: resident, sharedPages: shared };
}

function isCount(n: number | undefined): n is number {
  return n !== undefined && Number.isSafeInteger(n) && n >= 0;
}

/** MemTotal, MemFree, MemAvailable, SwapTotal, SwapFree in bytes; null when MemTotal is missing. */
export function parseMeminfo(text: string): MemorySample | null {
  const kb = new Map<string, number>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const value = Number.parseInt(line.slice(colon + 1).trim(), 10);
    if (Number.isFinite(value)) kb.set(line.slice(0, colon), value);
  }
  const total = kb.get('MemTotal');
  if (total === undefined) return null;
  const bytes = (key: string): number => (kb.get(key) ?? 0) * 1024;
  return {
    totalBytes: total * 1024,
    freeBytes: bytes('MemFree'),
    // Kernels before 3.14 have no MemAvailable: free is the closest lower bound.
    availableBytes: kb.has('MemAvailable') ? bytes('MemAvailable') : bytes('MemFree'),
    swapTotalBytes: bytes('SwapTotal'),
    swapFreeBytes: bytes('SwapFree'),
  };
}
