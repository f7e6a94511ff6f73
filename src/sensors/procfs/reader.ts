/**
 * Reads a procfs tree (default /proc, `--procfs-path` for a host /proc mounted elsewhere).
 *
 * Per-process reads are synchronous into one reused buffer: for 300 processes on the 2-core dev box
 * that took 4-5 ms per pass, against 8-13 ms for callback reads 16 at a time, 30-65 ms for
 * fs.promises.readFile with bounded concurrency (4..64) and ~270 ms for sequential awaits. To keep
 * the event loop responsive with 10,000 processes, the pass yields to it every PIDS_PER_SLICE pids.
 *
 * The <pid>/stat file of each process stays open between passes (one fd per (pid, starttime)), and a
 * pass re-reads it at offset 0: one read() per process instead of open + read + close, which the
 * bench measured at 2x the C floor (each Node fs call costs about a syscall's worth of overhead).
 * This relies on procfs semantics: the fd is bound to the process, not to the pid number, and reading
 * it after the process ended fails (ESRCH), so a reused pid is reopened by path and gets a fresh
 * identity. The synthetic tree of the tests emulates that by emptying stat before removing a process.
 */
import { closeSync, constants, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { AgentMemorySample, MemorySample } from '../../core/sample.js';
import { readRegularFileSync } from '../../core/bounded-fs.js';
import { errorText, ScaphError } from '../../core/errors.js';
import { KeptFile } from './kept-file.js';
import {
  basename,
  cleanExePath,
  parseCmdline,
  parseLoadavg,
  parseMeminfo,
  newPidStatFields,
  parsePidStatInto,
  parseProcStat,
  parseStatm,
  parseUptimeTicks,
  type PidStatFields,
  type ProcStat,
} from './parse.js';

export { parseCmdline, parseLoadavg, parseMeminfo, parsePidStat, parseProcStat, parseStatm } from './parse.js';
export type { CpuTimes, PidStat, ProcStat } from './parse.js';

/** Linux USER_HZ: the unit of every tick count in /proc (fixed at 100 on all Linux ABIs). */
export const USER_HZ = 100;
const DEFAULT_PAGE_SIZE_BYTES = 4096;
const PIDS_PER_SLICE = 1000;
/** fds left to the rest of the agent (sockets, spool, files) when sizing the stat fd cache. */
const RESERVED_FDS = 1024;
/** procfs files are opened non-blocking: a FIFO planted in a tree given with --procfs-path reads as empty. */
const NONBLOCK_READ = constants.O_RDONLY | constants.O_NONBLOCK;

/** What does not change during a process's life: read once per (pid, starttime). */
export interface ProcessIdentity {
  readonly pid: number;
  readonly starttime: number;
  readonly exe: string;
  readonly exePath: string;
  readonly argv: readonly string[];
  readonly cmdline: string;
}

/**
 * One process in one snapshot. The reader's own, one per process while it lives: the next pass that reads
 * the process updates it in place (10,000 new entries a step lived through the step into the old space).
 * An entry of a process that ended keeps its last values.
 */
export interface ProcessEntry {
  readonly pid: number;
  readonly starttime: number;
  readonly ppid: number;
  readonly comm: string;
  readonly cpuTicksTotal: number;
  /** cutime + cstime: CPU time of the children it has waited for. */
  readonly childTicksTotal: number;
  readonly rssBytes: number;
  readonly vsizeBytes: number;
  readonly identity: ProcessIdentity;
}

type MutableEntry = { -readonly [K in keyof ProcessEntry]: ProcessEntry[K] };

/** What the reader keeps of a pid between passes. */
interface KnownProcess {
  /** Its entry as last read (comm: a pass that reads the same bytes reuses the string). */
  readonly entry: MutableEntry;
  /** The open fd of its stat file (bound to the process, not the pid), or -1. */
  fd: number;
  /** The last pass (readAll) that read it. */
  pass: number;
}

export class ProcfsUnreadableError extends ScaphError {
  constructor(path: string, cause: unknown) {
    const detail = errorText(cause);
    super(
      `cannot read ${path} (${detail}). scaph needs a Linux procfs: check --procfs-path ` +
        `(in a container, mount the host's /proc read-only and point --procfs-path at it).`,
    );
  }
}

export interface ProcfsReaderOptions {
  /** procfs root, default /proc. */
  readonly root?: string;
  /** Bytes per page for rss; detected from <root>/self/smaps when omitted, else 4096. */
  readonly pageSizeBytes?: number;
  /**
   * How many <pid>/stat files may stay open between passes (0: open, read and close each time).
   * Default: the soft RLIMIT_NOFILE minus 1024, at least half of it.
   */
  readonly maxOpenStatFiles?: number;
}

export class ProcfsReader {
  readonly root: string;
  readonly pageSizeBytes: number;
  private buf = Buffer.allocUnsafe(4096);
  /** What the reader keeps of each pid it has read: one lookup per process and pass. */
  private known = new Map<number, KnownProcess>();
  /** Records of `known` holding an open fd. */
  private openStatFiles = 0;
  /** The figures of the process being read (reused: no object per process and pass). */
  private readonly fields: PidStatFields = newPidStatFields();
  /** Length of the stat text readPidStat put in `buf`. */
  private statLength = 0;
  private pass = 0;
  private maxOpenStatFiles: number;
  private ended = 0;
  /** The machine-wide files read every step, each through an fd kept open (kept-file.ts). */
  private readonly statFile: KeptFile;
  private readonly uptimeFile: KeptFile;
  private readonly loadavgFile: KeptFile;
  private readonly meminfoFile: KeptFile;
  /** The agent's own memory: always the real /proc, whatever the root. */
  private readonly selfStatmFile = new KeptFile('/proc/self/statm');

  constructor(options: ProcfsReaderOptions = {}) {
    this.root = options.root ?? '/proc';
    this.pageSizeBytes = options.pageSizeBytes ?? detectPageSizeBytes(this.root);
    this.maxOpenStatFiles = options.maxOpenStatFiles ?? defaultMaxOpenStatFiles();
    this.statFile = new KeptFile(`${this.root}/stat`);
    this.uptimeFile = new KeptFile(`${this.root}/uptime`);
    this.loadavgFile = new KeptFile(`${this.root}/loadavg`);
    this.meminfoFile = new KeptFile(`${this.root}/meminfo`);
  }

  /** Closes the files kept open between passes. The reader stays usable (it reopens them). */
  close(): void {
    for (const k of this.known.values()) this.closeStatFd(k);
    for (const file of [this.statFile, this.uptimeFile, this.loadavgFile, this.meminfoFile, this.selfStatmFile]) file.close();
  }

  /** /proc/stat: aggregate CPU ticks and CPU count. Throws ProcfsUnreadableError when unreadable. */
  readStat(): ProcStat {
    try {
      return parseProcStat(this.statFile.readText());
    } catch (err) {
      throw new ProcfsUnreadableError(this.statFile.path, err);
    }
  }

  /**
   * Time since boot in USER_HZ ticks (the clock /proc/PID/stat's starttime counts in), or null when
   * <root>/uptime is missing or odd: then the sensor cannot tell which new processes were born after a
   * reading.
   */
  readUptimeTicks(): number | null {
    const text = readKept(this.uptimeFile);
    return text === null ? null : parseUptimeTicks(text, USER_HZ);
  }

  /** 1/5/15-minute load averages; zeros when the file is missing (not worth failing a sample). */
  readLoadavg(): readonly [number, number, number] {
    const text = readKept(this.loadavgFile);
    return text === null ? [0, 0, 0] : parseLoadavg(text);
  }

  readMeminfo(): MemorySample | null {
    const text = readKept(this.meminfoFile);
    return text === null ? null : parseMeminfo(text);
  }

  /** scaph's own memory (/proc/self/statm), or null where it cannot be read. */
  readAgentMemory(): AgentMemorySample | null {
    const text = readKept(this.selfStatmFile);
    return text === null ? null : parseStatm(text);
  }

  /** Numeric entries of the root: the pids alive now. */
  listPids(): number[] {
    const names = readdirSync(this.root);
    const pids: number[] = [];
    for (const name of names) {
      const c = name.charCodeAt(0);
      if (c < 0x30 || c > 0x39) continue;
      const pid = Number(name);
      if (Number.isInteger(pid)) pids.push(pid);
    }
    return pids;
  }

  /**
   * Every live process: one read of /proc/PID/stat each, plus cmdline and exe for processes not seen
   * before. Processes that vanish mid-read are skipped. Identities of processes not seen in this pass
   * are forgotten.
   */
  async snapshot(): Promise<Map<number, ProcessEntry>> {
    const list = await this.readAll();
    return new Map(list.map((e) => [e.pid, e]));
  }

  /** snapshot() as a list, in the order of the listing: what the sensor reads (no map per pass). */
  async readAll(): Promise<ProcessEntry[]> {
    this.ended = 0;
    const pass = ++this.pass;
    const pids = this.listPids();
    const entries: ProcessEntry[] = [];
    for (let i = 0; i < pids.length; i++) {
      if (i > 0 && i % PIDS_PER_SLICE === 0) await yieldToLoop();
      const entry = this.readProcess(pids[i] as number);
      if (entry) {
        entries.push(entry);
        (this.known.get(entry.pid) as KnownProcess).pass = pass;
      }
    }
    // Every entry has a record, so equal sizes mean nothing ended: skip the walk (the common step on a
    // quiet machine).
    if (this.known.size > entries.length) this.forgetEnded(pass);
    return entries;
  }

  /** Processes of the previous snapshot that are gone from the last one (pid reuse included). */
  get endedInLastSnapshot(): number {
    return this.ended;
  }

  /** Forgets the pids the pass `pass` did not read. */
  private forgetEnded(pass: number): void {
    // keys() + get(), not entries(): an entries() loop allocates a pair per process.
    for (const pid of this.known.keys()) {
      const k = this.known.get(pid) as KnownProcess;
      if (k.pass === pass) continue;
      this.closeStatFd(k);
      this.known.delete(pid);
      this.ended += 1;
    }
  }

  /** One process, or null when it is gone (or its stat is unreadable). */
  readProcess(pid: number): ProcessEntry | null {
    let k = this.known.get(pid);
    const fd = this.readPidStat(pid, k);
    if (fd < 0) return null;
    const f = this.fields;
    if (!parsePidStatInto(this.buf, this.statLength, this.pageSizeBytes, f)) {
      this.dropFd(fd, k);
      return null;
    }
    if (k === undefined || k.entry.starttime !== f.starttime) {
      if (k !== undefined) this.ended += 1; // the pid now names another process
      const comm = this.buf.toString('utf8', f.commStart, f.commEnd);
      const identity = this.readIdentity(pid, f.starttime, comm);
      if (!identity) {
        this.dropFd(fd, k);
        return null;
      }
      const previous = k;
      const entry: MutableEntry = { pid, starttime: f.starttime, ppid: f.ppid, comm, cpuTicksTotal: f.cpuTicksTotal, childTicksTotal: f.childTicksTotal, rssBytes: f.rssBytes, vsizeBytes: f.vsizeBytes, identity };
      k = { entry, fd: -1, pass: 0 };
      if (previous !== undefined) {
        // The fd just read stays with the pid's record; an older one, of the process that ended, closes.
        if (previous.fd === fd) {
          k.fd = fd;
          previous.fd = -1;
        } else this.closeStatFd(previous);
      }
      this.known.set(pid, k);
      this.keepFd(fd, k);
      return entry;
    }
    this.keepFd(fd, k);
    const e = k.entry;
    if (!sameText(this.buf, f.commStart, f.commEnd, e.comm)) e.comm = this.buf.toString('utf8', f.commStart, f.commEnd);
    e.ppid = f.ppid;
    e.cpuTicksTotal = f.cpuTicksTotal;
    e.childTicksTotal = f.childTicksTotal;
    e.rssBytes = f.rssBytes;
    e.vsizeBytes = f.vsizeBytes;
    return e;
  }

  /**
   * Reads /proc/PID/stat into the shared buffer (its length in `statLength`) through the fd kept open for
   * the pid, or a fresh one; returns the fd it read, or -1 when the process is gone (or its stat is
   * unreadable).
   */
  private readPidStat(pid: number, k: KnownProcess | undefined): number {
    if (k !== undefined && k.fd >= 0) {
      const length = this.readAt0(k.fd);
      if (length > 0) {
        this.statLength = length;
        return k.fd;
      }
      // ESRCH or empty: the process this fd was opened for has ended; the pid may name a new one.
      this.closeStatFd(k);
    }
    const fd = this.openStat(pid);
    if (fd < 0) return -1;
    const length = this.readAt0(fd);
    if (length <= 0) {
      closeQuietly(fd);
      return -1;
    }
    this.statLength = length;
    return fd;
  }

  /** Keeps `fd` open as the record's, room permitting (it is already when it came from the record). */
  private keepFd(fd: number, k: KnownProcess): void {
    if (k.fd === fd) return;
    if (this.openStatFiles < this.maxOpenStatFiles) {
      k.fd = fd;
      this.openStatFiles += 1;
    } else closeQuietly(fd);
  }

  /** Closes `fd`, the record's or one just opened. */
  private dropFd(fd: number, k: KnownProcess | undefined): void {
    if (k !== undefined && k.fd === fd) this.closeStatFd(k);
    else closeQuietly(fd);
  }

  private closeStatFd(k: KnownProcess): void {
    if (k.fd < 0) return;
    closeQuietly(k.fd);
    k.fd = -1;
    this.openStatFiles -= 1;
  }

  private openStat(pid: number): number {
    const path = `${this.root}/${pid}/stat`;
    try {
      return openSync(path, NONBLOCK_READ);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'EMFILE' && code !== 'ENFILE') || this.openStatFiles === 0) return -1; // ENOENT: ended since readdir.
    }
    this.shrinkStatFds();
    try {
      return openSync(path, NONBLOCK_READ);
    } catch {
      return -1;
    }
  }

  /** Out of fds: keep half of the stat files open from now on and close the rest. */
  private shrinkStatFds(): void {
    this.maxOpenStatFiles = Math.floor(this.openStatFiles / 2);
    for (const k of this.known.values()) {
      if (this.openStatFiles <= this.maxOpenStatFiles) break;
      this.closeStatFd(k);
    }
  }

  /** The whole file from offset 0 (procfs regenerates it on each read at 0); -1 on error. */
  private readAt0(fd: number): number {
    try {
      let length = readSync(fd, this.buf, 0, this.buf.length, 0);
      while (length === this.buf.length) {
        this.buf = Buffer.allocUnsafe(this.buf.length * 2);
        length = readSync(fd, this.buf, 0, this.buf.length, 0);
      }
      return length;
    } catch {
      return -1;
    }
  }

  private readIdentity(pid: number, starttime: number, comm: string): ProcessIdentity | null {
    let argv: readonly string[];
    try {
      argv = parseCmdline(readRegularFileSync(`${this.root}/${pid}/cmdline`));
    } catch (err) {
      if (isGone(err)) return null;
      argv = [];
    }
    let exePath = '';
    try {
      exePath = cleanExePath(readlinkSync(`${this.root}/${pid}/exe`));
    } catch {
      // EACCES (another user's process without CAP_SYS_PTRACE), ENOENT (kernel thread, zombie).
    }
    return {
      pid,
      starttime,
      exe: exePath ? basename(exePath) : comm,
      exePath,
      argv,
      cmdline: argv.join(' '),
    };
  }
}

/** Whether buf[start, end) holds `text` in ASCII (comm is short; anything else is decoded anew). */
function sameText(buf: Buffer, start: number, end: number, text: string): boolean {
  if (end - start !== text.length) return false;
  for (let i = 0; i < text.length; i++) {
    const c = buf[start + i] as number;
    if (c >= 0x80 || c !== text.charCodeAt(i)) return false;
  }
  return true;
}

function isGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ESRCH';
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed or invalid: nothing left to release.
  }
}

/** The agent's soft RLIMIT_NOFILE (Node raises it to the hard limit at start-up), from /proc/self/limits. */
export function defaultMaxOpenStatFiles(limitsText: string | null = readOptional('/proc/self/limits')): number {
  const line = limitsText?.split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line === undefined ? Number.NaN : Number.parseInt(line.slice('Max open files'.length).trim(), 10);
  if (!Number.isFinite(soft) || soft <= 0) {
    return line?.includes('unlimited') ? 1 << 20 : RESERVED_FDS / 2;
  }
  return Math.max(soft - RESERVED_FDS, Math.floor(soft / 2));
}

let ownPageSize = 0;

/** This machine's page size (the real /proc's, whatever tree --procfs-path names), found once. */
export function ownPageSizeBytes(): number {
  if (ownPageSize === 0) ownPageSize = detectPageSizeBytes('/proc');
  return ownPageSize;
}

function readKept(file: KeptFile): string | null {
  try {
    return file.readText();
  } catch {
    return null;
  }
}

function readOptional(path: string): string | null {
  try {
    return readRegularFileSync(path).toString('latin1');
  } catch {
    return null;
  }
}

/** Page size from the first mapping's KernelPageSize in <root>/self/smaps (64 KiB on some arm64). */
export function detectPageSizeBytes(root: string): number {
  const text = readHead(`${root}/self/smaps`);
  if (text === null) return DEFAULT_PAGE_SIZE_BYTES;
  const at = text.indexOf('KernelPageSize:');
  if (at < 0) return DEFAULT_PAGE_SIZE_BYTES;
  const kb = Number.parseInt(text.slice(at + 15).trim(), 10);
  return Number.isFinite(kb) && kb > 0 ? kb * 1024 : DEFAULT_PAGE_SIZE_BYTES;
}

function readHead(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, NONBLOCK_READ);
  } catch {
    return null;
  }
  try {
    const head = Buffer.allocUnsafe(4096);
    const length = readSync(fd, head, 0, head.length, 0);
    return head.toString('latin1', 0, length);
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}
