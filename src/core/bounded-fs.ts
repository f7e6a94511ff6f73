/**
 * File system calls that cannot hang the agent. A path a user or a hostile tree hands us may be a FIFO
 * with no writer (open blocks), a directory, a device, or a file on a stuck network mount; and Node's
 * recursive mkdir loops forever on some pseudo file systems (mkdir under /proc answers ENOENT for a parent
 * that exists). Everything here either answers, or fails with the path and the reason, in bounded time.
 *
 * - Synchronous reads open with O_NONBLOCK and refuse anything but a regular file: sysfs, procfs, config
 *   and secret files are regular files, and a FIFO opened that way never blocks.
 * - Asynchronous reads (files read once at start: TLS and secret files) also accept a pipe, as a shell's
 *   `<(command)` hands over, and give up after a deadline instead of waiting for a writer forever.
 * - mkdirs creates one level at a time with plain mkdir(2), so any error ends it.
 */
import { closeSync, constants, fstatSync, mkdirSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

const NONBLOCK_READ = constants.O_RDONLY | constants.O_NONBLOCK;
/** Longest a file read at start may take before we name it and give up. */
export const DEFAULT_READ_TIMEOUT_MS = 5000;
/** Sysfs/procfs/config files are small: a larger read is a wrong path, not data. */
const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;

/** The path is not a regular file (a FIFO, socket, device or directory where a file was expected). */
export class NotRegularFileError extends Error {
  readonly code = 'EFTYPE';
  constructor(
    readonly path: string,
    readonly kind: string,
  ) {
    super(`${path} is ${kind}, not a regular file`);
    this.name = 'NotRegularFileError';
  }
}

/** A read did not finish within its deadline (a pipe nobody writes to, a hung mount). */
export class ReadTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(
    readonly path: string,
    readonly timeoutMs: number,
  ) {
    super(`reading ${path} did not finish within ${timeoutMs} ms (a pipe with no writer, or a hung mount?)`);
    this.name = 'ReadTimeoutError';
  }
}

/** A file, pipe or device that holds more than a read takes (/dev/zero given as a token file never ends). */
export class FileTooLargeError extends Error {
  readonly code = 'EFBIG';
  constructor(
    readonly path: string,
    readonly maxBytes: number,
  ) {
    super(`${path} holds more than ${maxBytes} bytes (a device or a wrong path?)`);
    this.name = 'FileTooLargeError';
  }
}

/** What a path is, in words for a message: "a FIFO", "a directory", … */
export function fileKind(stats: Stats): string {
  if (stats.isFile()) return 'a regular file';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  return 'a special file';
}

/**
 * Opens `path` for reading without ever blocking, and only if it is a regular file. Throws the open's
 * ErrnoException (ENOENT, EACCES, …) or NotRegularFileError. `onStats` gets the file's fstat (its inode
 * tells a file created again from the one read before).
 */
export function openRegularSync(path: string, onStats?: (stats: Stats) => void): number {
  const fd = openSync(path, NONBLOCK_READ);
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new NotRegularFileError(path, fileKind(stats));
    onStats?.(stats);
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** The whole of a small regular file, read without blocking (see openRegularSync for the errors and `onStats`). */
export function readRegularFileSync(path: string, maxBytes = DEFAULT_MAX_BYTES, onStats?: (stats: Stats) => void): Buffer {
  const fd = openRegularSync(path, onStats);
  try {
    let buf = Buffer.allocUnsafe(4096);
    let length = 0;
    for (;;) {
      if (length === buf.length) {
        if (buf.length >= maxBytes) throw new FileTooLargeError(path, maxBytes);
        const bigger = Buffer.allocUnsafe(Math.min(maxBytes, buf.length * 2));
        buf.copy(bigger, 0, 0, length);
        buf = bigger;
      }
      const n = readSync(fd, buf, length, buf.length - length, null);
      if (n === 0) return buf.subarray(0, length);
      length += n;
    }
  } finally {
    closeSync(fd);
  }
}

export interface ReadWithinOptions {
  /** Default DEFAULT_READ_TIMEOUT_MS. */
  readonly timeoutMs?: number;
  /** Also read a FIFO or character device, as a shell's `<(command)` hands over, until its writer closes it. */
  readonly pipes?: boolean;
  /** Most bytes read (FileTooLargeError beyond). Default 16 MiB. */
  readonly maxBytes?: number;
}

/** How often an idle pipe is polled while its writer has not written yet. */
const PIPE_POLL_MS = 20;

/**
 * Reads a whole file within a deadline: a regular file, or with `pipes` also a FIFO or device. Nothing here
 * ever blocks in open or read (a thread stuck in a blocking open of a FIFO would even keep the process from
 * exiting): a pipe is read non-blocking, polled until its writer has written and closed it, or the
 * deadline passes (ReadTimeoutError). Neither reads more than `maxBytes` (FileTooLargeError): a device that
 * never ends (/dev/zero, /dev/urandom) is refused instead of filling memory.
 */
export async function readFileWithin(path: string, options: ReadWithinOptions = {}): Promise<Buffer> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const handle: FileHandle = await within(open(path, NONBLOCK_READ), path, timeoutMs, (h) => void h.close());
  try {
    const stats = await handle.stat();
    if (stats.isFile()) {
      if (stats.size > maxBytes) throw new FileTooLargeError(path, maxBytes);
      return await within(handle.readFile(), path, timeoutMs);
    }
    if (!options.pipes || stats.isDirectory() || stats.isSocket() || stats.isBlockDevice()) throw new NotRegularFileError(path, fileKind(stats));
    return await readPipe(handle, path, { deadline: Date.now() + timeoutMs, timeoutMs, maxBytes });
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * A non-blocking pipe until EOF. Before anything arrived, EOF only means "no writer yet" (a FIFO nobody has
 * opened for writing): keep polling until the deadline. The deadline and the size hold while data flows too.
 */
async function readPipe(handle: FileHandle, path: string, limits: { readonly deadline: number; readonly timeoutMs: number; readonly maxBytes: number }): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  const chunk = Buffer.allocUnsafe(65_536);
  for (;;) {
    let n = -1;
    try {
      n = (await handle.read(chunk, 0, chunk.length, null)).bytesRead;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    }
    if (n > 0) {
      length += n;
      if (length > limits.maxBytes) throw new FileTooLargeError(path, limits.maxBytes);
      chunks.push(Buffer.from(chunk.subarray(0, n)));
    } else if (n === 0 && chunks.length > 0) return Buffer.concat(chunks);
    if (Date.now() >= limits.deadline) throw new ReadTimeoutError(path, limits.timeoutMs);
    if (n <= 0) await new Promise((r) => setTimeout(r, PIPE_POLL_MS));
  }
}

/**
 * The promise's value, or ReadTimeoutError after `timeoutMs`. When the promise settles late, `late`
 * gets its value (to release a handle).
 */
export function within<T>(promise: Promise<T>, path: string, timeoutMs: number, late?: (value: T) => void): Promise<T> {
  return new Promise<T>((resolveValue, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      reject(new ReadTimeoutError(path, timeoutMs));
    }, timeoutMs);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        if (timedOut) late?.(value);
        else resolveValue(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        if (!timedOut) reject(err);
      },
    );
  });
}

/**
 * `mkdir -p` that always ends: each missing level is created with one mkdir(2), and the first error
 * (ENOENT under /proc, EROFS, EACCES, ENOTDIR, …) is thrown with the level that failed as `path`.
 */
export function mkdirsSync(dir: string, mode = 0o777): void {
  const target = resolve(dir);
  const missing: string[] = [];
  for (let at = target; ; at = dirname(at)) {
    let stats: Stats | undefined;
    try {
      stats = statSync(at);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (stats) {
      if (!stats.isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${at}'`), { code: 'ENOTDIR', path: at });
      break;
    }
    missing.push(at);
    if (dirname(at) === at) break;
  }
  for (const level of missing.reverse()) {
    try {
      mkdirSync(level, { mode });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}
