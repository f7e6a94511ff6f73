/**
 * Is stderr the systemd journal, and at which priority does a line go there?
 *
 * systemd.exec(5), "Environment variables set or propagated by the service manager", $JOURNAL_STREAM:
 * when a service's stdout or stderr is connected to the journal, the service manager sets
 * JOURNAL_STREAM to "<device>:<inode>" (decimal) of that stream; a program checks that the numbers match
 * an fstat() of its own stderr before relying on it (the variable is inherited by children whose stderr
 * may be redirected elsewhere). https://www.freedesktop.org/software/systemd/man/latest/systemd.exec.html
 *
 * sd-daemon(3): a line written to a journal stream may start with "<N>", N the syslog priority (SD_CRIT
 * "<2>", SD_ERR "<3>", SD_WARNING "<4>", SD_NOTICE "<5>", SD_INFO "<6>", SD_DEBUG "<7>"); journald strips
 * the prefix and files the line at that priority (SyslogLevelPrefix=, on by default, systemd.exec(5)), so
 * `journalctl -p warning` shows warnings and worse. Without a prefix a line is filed at SyslogLevel=
 * (info). https://www.freedesktop.org/software/systemd/man/latest/sd-daemon.html
 */
import { fstatSync } from 'node:fs';

/** Syslog priorities, as sd-daemon(3) names them. */
export const JOURNAL_PRIORITY = { crit: 2, err: 3, warning: 4, notice: 5, info: 6, debug: 7 } as const;
export type JournalPriority = (typeof JOURNAL_PRIORITY)[keyof typeof JOURNAL_PRIORITY];

/** Device and inode of a file descriptor, as fstat gives them (bigint: inode numbers may exceed 2^53). */
export interface StreamId {
  readonly dev: bigint;
  readonly ino: bigint;
}

function fdId(fd: number): StreamId | null {
  try {
    const s = fstatSync(fd, { bigint: true });
    return { dev: s.dev, ino: s.ino };
  } catch {
    return null;
  }
}

/**
 * True when JOURNAL_STREAM names the stream behind `fd` (stderr by default). A malformed value, or one
 * naming another stream (stderr redirected by a wrapper), is false: lines then go out without a prefix.
 */
export function isJournalStream(env: NodeJS.ProcessEnv, fd = 2, statFd: (fd: number) => StreamId | null = fdId): boolean {
  const value = env['JOURNAL_STREAM'];
  if (value === undefined) return false;
  const m = /^(\d+):(\d+)$/.exec(value.trim());
  if (!m) return false;
  const id = statFd(fd);
  return id !== null && id.dev === BigInt(m[1] as string) && id.ino === BigInt(m[2] as string);
}

/** The journal priority of a pino level number (fatal 60, error 50, warn 40, info 30, debug 20, trace 10). */
export function priorityOfLevel(level: number): JournalPriority {
  if (level >= 60) return JOURNAL_PRIORITY.crit;
  if (level >= 50) return JOURNAL_PRIORITY.err;
  if (level >= 40) return JOURNAL_PRIORITY.warning;
  if (level >= 30) return JOURNAL_PRIORITY.info;
  return JOURNAL_PRIORITY.debug;
}

/** `line` with the sd-daemon prefix when it goes to the journal. */
export function withPriority(line: string, priority: JournalPriority, journal: boolean): string {
  return journal ? `<${priority}>${line}` : line;
}
