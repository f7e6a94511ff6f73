/**
 * Runs any argv to completion (the built CLI behind a wrapper: setpriv, a seccomp loader, strace) and
 * reports it the way runScaph does, so the bad-input assertions apply.
 */
import { spawn } from 'node:child_process';
import type { ScaphRun } from '../fixtures/run-scaph.js';

export interface CommandOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** SIGKILL after this long and report timedOut (default 30 s). */
  readonly timeoutMs?: number;
}

export function runCommand(argv: readonly string[], options: CommandOptions = {}): Promise<ScaphRun> {
  const [command, ...args] = argv;
  if (command === undefined) throw new Error('runCommand: empty argv');
  const started = performance.now();
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...(options.env ?? {}) } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.timeoutMs ?? 30_000);
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started, timedOut });
    }),
  );
}

/**
 * `argv` without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH: as root, setpriv drops them from the bounding
 * set so they are gone after exec, and file modes apply as they do to an unprivileged service user.
 */
export function withoutDacOverride(argv: readonly string[]): string[] {
  if (process.getuid?.() !== 0) return [...argv];
  return ['setpriv', '--inh-caps=-all', '--bounding-set=-dac_override,-dac_read_search', '--', ...argv];
}
