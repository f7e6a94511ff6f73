/**
 * Errors a user can act on. Their messages say what is wrong and what to do; the CLI prints the
 * message alone (no stack) and exits with `exitCode`.
 */
export class ScaphError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** Bad flags, bad config values: exit 2 like commander's own usage errors. */
export class UsageError extends ScaphError {
  constructor(message: string) {
    super(message, 2);
  }
}

/**
 * What was thrown, as one line of text for a log or a message: an Error's message, anything else as a
 * string. The one helper for it: a thrown value is `unknown` in TypeScript, and code that reads
 * `.message` off it directly breaks on the first string or object a library throws.
 */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Most errors looked at along a `cause` chain: undici and TLS wrap the socket error at most three deep. */
const MAX_CAUSE_DEPTH = 4;

/**
 * `err` and the errors it wraps (`cause`), outermost first, up to MAX_CAUSE_DEPTH of them; only objects
 * (a thrown string has no code, name or cause).
 */
export function causeChain(err: unknown): object[] {
  const chain: object[] = [];
  let e: unknown = err;
  while (chain.length < MAX_CAUSE_DEPTH && e !== null && typeof e === 'object') {
    chain.push(e);
    e = (e as { cause?: unknown }).cause;
  }
  return chain;
}

/**
 * The errno-style code of an error (ECONNREFUSED, ENOENT, ERR_TLS_…), or of the first error it wraps
 * that has one: undici puts the socket error in `cause` of a TypeError('fetch failed').
 */
export function errorCode(err: unknown): string | undefined {
  for (const e of causeChain(err)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** An error's code (ENOENT, EFTYPE, ETIMEDOUT, …) or, without one, its text: the short cause in a message. */
export function errorCodeOrText(err: unknown): string {
  return errorCode(err) ?? errorText(err);
}
