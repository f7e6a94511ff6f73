/** The steady section's programs (the agent, the I/O floor, the single executable): started, measured over the window, stopped. */
import { join } from 'node:path';
import { REPO_ROOT } from '../paths.js';
import { WatchedChild } from './child.js';
import { measureWindow, percentOfOneCore, type ProcessUsage } from './usage-window.js';

/** The agent as installed: dist/src/bin.js (run with the node flags of its shebang, see agent-command.ts). */
export const AGENT_SCRIPT = join(REPO_ROOT, 'dist', 'src', 'bin.js');

export interface NodeUsage extends ProcessUsage {
  readonly percentOfOneCore: number;
  /** What the program wrote to stderr (the tail), read after it stopped. */
  readonly stderr: string;
}

/** `node argv` with this bench's node, measured as measureProgram does. */
export function measureNode(what: string, argv: readonly string[], warmupMs: number, windowMs: number, options: MeasureOptions = {}): Promise<NodeUsage> {
  return measureProgram(what, process.execPath, argv, warmupMs, windowMs, options);
}

export interface MeasureOptions {
  /** Awaited after the window, before the program is stopped (outside the measurement). */
  readonly beforeStop?: () => Promise<void>;
}

/**
 * Starts `command args` (warn-level logs), lets it warm up, measures it over the window (usage-window.ts),
 * then stops it. An early exit is an error that carries its stderr.
 */
export async function measureProgram(what: string, command: string, args: readonly string[], warmupMs: number, windowMs: number, options: MeasureOptions = {}): Promise<NodeUsage> {
  const child = WatchedChild.start(what, command, args, { env: { ...process.env, SCAPH_LOG_LEVEL: 'warn' } });
  try {
    const [usage] = await measureWindow([child.pid], warmupMs, windowMs, () => child.check());
    const u = usage as ProcessUsage;
    await options.beforeStop?.();
    await child.stop();
    return { ...u, percentOfOneCore: percentOfOneCore(u.cpuSeconds, windowMs), stderr: child.stderr() };
  } finally {
    await child.stop();
  }
}
