/** A program the steady section starts and measures: its pid, the tail of its stderr, a check that it still runs, and its stop. */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

const STDERR_KEPT = 8000;
const STOP_GRACE_MS = 10_000;

export class WatchedChild {
  private text = '';
  private spawnError: Error | null = null;

  private constructor(
    /** For messages: "scaph run", "node_exporter". */
    readonly what: string,
    private readonly child: ChildProcess,
  ) {
    child.stderr?.on('data', (chunk: Buffer) => {
      if (this.text.length < STDERR_KEPT) this.text += chunk.toString();
    });
    child.once('error', (err) => (this.spawnError = err));
  }

  /** Starts `command args` with stdout ignored and stderr kept. */
  static start(what: string, command: string, args: readonly string[], options: SpawnOptions = {}): WatchedChild {
    return new WatchedChild(what, spawn(command, [...args], { ...options, stdio: ['ignore', 'ignore', 'pipe'] }));
  }

  get pid(): number {
    if (this.child.pid === undefined) throw this.failure();
    return this.child.pid;
  }

  /** The tail of what it wrote to stderr. */
  stderr(): string {
    return this.text.trim().slice(-2000);
  }

  /** Throws when it has exited (or never started), with its stderr. */
  check(): void {
    if (this.spawnError !== null || this.child.exitCode !== null || this.child.signalCode !== null) throw this.failure();
  }

  private failure(): Error {
    const how = this.spawnError ? `did not start (${this.spawnError.message})` : `exited ${this.child.exitCode ?? this.child.signalCode}`;
    return new Error(`${this.what} ${how}: ${this.stderr()}`);
  }

  /** SIGTERM, then SIGKILL if it has not exited within 10 s; returns once its stderr is closed too. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exit = once(child, 'close');
    child.kill('SIGTERM');
    // Unref'd: once the child has closed, the fallback must not hold the bench open for 10 s.
    const stopped = await Promise.race([exit.then(() => true), sleep(STOP_GRACE_MS, false, { ref: false })]);
    if (!stopped) {
      child.kill('SIGKILL');
      await exit;
    }
  }
}
