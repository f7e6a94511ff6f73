/**
 * Runs a command where Node.js cannot be reached: in a new mount namespace (unshare -m, root only), every
 * node binary on PATH (and this one, and the packaging cache's) has /dev/null bound over it, and an empty
 * tmpfs covers every node_modules the agent could find (the checkout's, the global ones). What runs there
 * runs on what it carries.
 */
import { spawn } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { cacheDir } from '../../../packaging/executable/node-runtime.js';
import { packageRoot } from '../../../src/core/package-file.js';

export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The node binaries (resolved, deduplicated) this machine could run, and the directories of node modules. */
function hiddenPaths(): { readonly binaries: string[]; readonly moduleDirs: string[] } {
  const candidates = [process.execPath, ...(process.env['PATH'] ?? '').split(delimiter).filter((d) => d !== '').map((d) => join(d, 'node'))];
  const binaries = [...new Set(candidates.filter((p) => existsSync(p)).map((p) => realpathSync(p)))];
  const moduleDirs = [join(packageRoot(), 'node_modules'), '/usr/lib/node_modules', '/usr/local/lib/node_modules', '/usr/share/nodejs', cacheDir()].filter((d) => existsSync(d));
  return { binaries, moduleDirs };
}

/** argv for spawn: `command args` inside the namespace, after the masking mounts. */
export function withoutNode(command: string, args: readonly string[]): string[] {
  const { binaries, moduleDirs } = hiddenPaths();
  const mounts = [
    ...binaries.map((b) => `mount --bind /dev/null '${b}'`),
    ...moduleDirs.map((d) => `mount -t tmpfs -o size=1m scaph-no-modules '${d}'`),
  ];
  const script = `set -e; ${mounts.join('; ')}; exec "$@"`;
  return ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', command, ...args];
}

/** Runs argv (argv[0] the program) to its end, without blocking this process's timers; SIGKILL after `timeoutMs`. */
export function runCommand(argv: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const [program, ...args] = argv;
    if (program === undefined) throw new Error('runCommand: empty argv');
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...(options.env ?? {}) }, ...(options.cwd ? { cwd: options.cwd } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
