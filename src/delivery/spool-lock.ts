/**
 * One agent per spool directory. Two agents appending to and acknowledging the same segments (a unit plus
 * a manual run of the same config) would delete each other's unsent records, so the spool holds a lock
 * file, `lock`, naming its owner as "<pid> <process start time>". The start time (field 22 of
 * /proc/<pid>/stat) tells a live owner from a pid reused after the owner was SIGKILLed: a stale lock is
 * taken over. The file is created with O_EXCL, so two agents starting at once cannot both win.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { readRegularFileSync } from '../core/bounded-fs.js';
import { errorCodeOrText, ScaphError } from '../core/errors.js';

export const LOCK_FILE = 'lock';

/** Another live agent owns the spool directory. */
export class SpoolLockedError extends ScaphError {
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(
      `spool directory "${dir}" is in use by another scaph agent (pid ${pid}): stop that agent first, or give this one ` +
        'its own spool_dir (two agents sharing a spool would delete each other\'s unsent samples)',
    );
  }
}

interface Owner {
  readonly pid: number;
  readonly starttime: string;
}

/** Takes the lock of `dir` for this process, or throws SpoolLockedError / ScaphError (not writable). */
export function acquireSpoolLock(dir: string): void {
  const path = join(dir, LOCK_FILE);
  const me = `${process.pid} ${startTimeOf(process.pid) ?? ''}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new ScaphError(`spool directory "${dir}" is not writable (${errorCodeOrText(err)}): make it writable for scaph's user (systemd: StateDirectory=scaph)`);
      const owner = readOwner(path);
      if (owner && owner.pid !== process.pid && isAlive(owner)) throw new SpoolLockedError(dir, owner.pid);
      // Left by an agent that is gone (SIGKILL, crash), or by this process: take it over.
      try {
        unlinkSync(path);
      } catch (unlinkErr) {
        if ((unlinkErr as NodeJS.ErrnoException).code !== 'ENOENT') {
          throw new ScaphError(`spool directory "${dir}" holds a stale "${LOCK_FILE}" that cannot be removed (${errorCodeOrText(unlinkErr)}): remove it by hand`);
        }
      }
      continue;
    }
    try {
      writeSync(fd, me);
    } catch (err) {
      closeSync(fd);
      unlinkQuietly(path);
      throw new ScaphError(`spool directory "${dir}" is not writable (${errorCodeOrText(err)}): free some space or choose another spool_dir`);
    }
    closeSync(fd);
    return;
  }
  throw new ScaphError(`spool directory "${dir}": could not take its "${LOCK_FILE}" file (another agent starting at the same moment?): try again`);
}

/** Removes the lock if this process holds it. */
export function releaseSpoolLock(dir: string): void {
  const path = join(dir, LOCK_FILE);
  if (readOwner(path)?.pid === process.pid) unlinkQuietly(path);
}

function readOwner(path: string): Owner | null {
  try {
    const [pid, starttime] = readRegularFileSync(path).toString('utf8').trim().split(' ');
    const n = Number(pid);
    return Number.isInteger(n) && n > 0 ? { pid: n, starttime: starttime ?? '' } : null;
  } catch {
    return null;
  }
}

function isAlive(owner: Owner): boolean {
  const now = startTimeOf(owner.pid);
  if (now !== null) return owner.starttime === '' || now === owner.starttime;
  // Its /proc entry is not visible (no procfs, hidepid): ask the kernel whether the pid exists.
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Field 22 of /proc/<pid>/stat (jiffies after boot): with the pid, names one process across pid reuse. */
function startTimeOf(pid: number): string | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return text.slice(text.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}
