import { FileTooLargeError, NotRegularFileError, ReadTimeoutError, readFileWithin } from '../core/bounded-fs.js';
import { ScaphError } from '../core/errors.js';

/** A secret file (token, password) we cannot use; the message names the file, never its content. */
export class SecretFileError extends ScaphError {
  constructor(what: string, path: string, why: string) {
    super(`${what} file "${path}" ${why}`);
  }
}

/** A token or password is one line: far less than this. */
const MAX_SECRET_BYTES = 64 * 1024;

/**
 * Reads a secret from a file (bearer token, password), trimming the trailing newline editors add.
 * Secrets live in files so they stay out of `ps` and shell history; they are never logged.
 */
export async function readSecretFile(what: string, path: string): Promise<string> {
  let text: string;
  try {
    // A pipe is fine too (`--bearer-token-file <(pass show token)`), if it delivers within the deadline.
    text = (await readFileWithin(path, { pipes: true, maxBytes: MAX_SECRET_BYTES })).toString('utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SecretFileError(what, path, 'does not exist: check the path');
    if (err instanceof NotRegularFileError || err instanceof ReadTimeoutError || err instanceof FileTooLargeError) throw new SecretFileError(what, path, `cannot be read: ${err.message}`);
    throw new SecretFileError(what, path, `cannot be read (${code ?? (err as Error).message}): check its permissions`);
  }
  const secret = text.replace(/\r?\n$/, '');
  if (secret === '') throw new SecretFileError(what, path, 'is empty');
  if (/[\r\n]/.test(secret)) throw new SecretFileError(what, path, 'holds more than one line: put the secret alone on one line');
  return secret;
}
