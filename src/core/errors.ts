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
