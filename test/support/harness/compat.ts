/**
 * What the compatibility suites share: the built CLI started as a user types it (plus, where a test must,
 * a loopback address and a free port), a synthetic 2-socket RAPL tree handed over the way Scaphandre's
 * docs say (SCAPHANDRE_POWERCAP_PATH), a process that burns CPU under a marker command line, and a reader
 * for the Prometheus text format.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { samplingPhaseMs } from '../../../src/agent/splay.js';
import { HOSTNAME_ENV } from '../../../src/core/hostname.js';
import { MACHINE_ID_FILE_ENV } from '../../../src/core/machine-id.js';
import { createPowercapTree, type PowercapTree } from '../fixtures/powercap-tree.js';
import { SCAPH_BIN } from '../fixtures/run-scaph.js';

export interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The CLI running in the background: its output so far, and a way to stop it as Ctrl-C would. */
export class RunningScaph {
  readonly child: ChildProcess;
  readonly startedAt = performance.now();
  readonly exited: Promise<Finished>;
  stdout = '';
  stderr = '';

  constructor(args: readonly string[], env: NodeJS.ProcessEnv = {}, cwd?: string) {
    this.child = spawn(process.execPath, [SCAPH_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }, ...(cwd ? { cwd } : {}) });
    this.child.stdout?.on('data', (d: Buffer) => (this.stdout += d.toString()));
    this.child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve({ code, stdout: this.stdout, stderr: this.stderr })));
  }

  /** Waits until `done(stdout)` holds; fails with the output if the CLI exits or the time runs out first. */
  waitForStdout(done: (stdout: string) => boolean, timeoutMs = 15_000): Promise<number> {
    return this.until(() => done(this.stdout), timeoutMs);
  }

  /** The same on stderr (the banner, log lines). */
  waitForStderr(done: (stderr: string) => boolean, timeoutMs = 15_000): Promise<number> {
    return this.until(() => done(this.stderr), timeoutMs);
  }

  /** Resolves with the time (performance.now()) the condition was first seen to hold. */
  private async until(done: () => boolean, timeoutMs: number): Promise<number> {
    const until = Date.now() + timeoutMs;
    while (!done()) {
      if (this.child.exitCode !== null || Date.now() > until) throw new Error(`scaph did not print what was expected (exit ${this.child.exitCode}):\n${this.stdout.slice(-2000)}\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return performance.now();
  }

  /** SIGINT (Ctrl-C), then the end. */
  async stop(): Promise<Finished> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGINT');
    return this.exited;
  }
}

export function startScaph(args: readonly string[], env: NodeJS.ProcessEnv = {}, cwd?: string): RunningScaph {
  return new RunningScaph(args, env, cwd);
}

/** A Xeon-like 2-socket tree whose counters move in real time; its path is SCAPHANDRE_POWERCAP_PATH in `env`. */
export function realTimeServerTree(): { readonly tree: PowercapTree; readonly env: NodeJS.ProcessEnv } {
  const tree = createPowercapTree('server2s', { clock: 'real' });
  return { tree, env: { SCAPHANDRE_POWERCAP_PATH: tree.powercapPath } };
}

/** Host power of the server2s tree: packages 62 + 48 W, drams 11.25 + 9.5 W (the mmio twin is not counted). */
export const SERVER2S_HOST_W = 62 + 48 + 11.25 + 9.5;

export interface Marker {
  readonly pid: number;
  /** basename of /proc/PID/exe: what scaph puts in the exe label. */
  readonly exe: string;
  /** A word only this process's command line holds. */
  readonly word: string;
  stop(): void;
}

/** A node process that keeps one core partly busy, its command line carrying `word`. */
export function spawnMarker(word: string): Marker {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => { let x = 0; for (let i = 0; i < 3e6; i++) x += i; }, 20)', word], { stdio: 'ignore' });
  return { pid: child.pid as number, exe: 'node', word, stop: () => child.kill('SIGKILL') };
}

export interface ExpositionSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** The samples of a Prometheus text exposition (0.0.4), labels unescaped. */
export function parseExposition(text: string): ExpositionSample[] {
  const samples: ExpositionSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE_LINE.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return samples;
}

/**
 * The environment of a host whose splay puts a lone push subcommand's first write soon: the sampling loop's
 * first point on its grid (the subcommand's step) comes at least half a step after start (scheduler.ts,
 * gridStartMs), so a point 5 to 9 s after that (node's start under load included): a machine id in a file of `dir` and the first host name
 * whose phase lands there. A command line can then be run exactly as typed (no --no-splay) without waiting
 * up to 1.5 steps for its first write.
 */
export function splaySoonEnv(dir: string, stepMs: number): NodeJS.ProcessEnv {
  const fromMs = stepMs / 2 + 5_000;
  const toMs = stepMs / 2 + 9_000;
  const machineId = '5c3a9e0d7b214f6a8e1c2b3d4f5a6b7c';
  const file = join(dir, 'machine-id');
  writeFileSync(file, `${machineId}\n`);
  const now = performance.timeOrigin + performance.now();
  for (let i = 0; i < 100_000; i++) {
    const host = `compat-host-${i}`;
    const waitMs = (((samplingPhaseMs(`${machineId} ${host}`, stepMs) - now) % stepMs) + stepMs) % stepMs;
    if (waitMs >= fromMs && waitMs <= toMs) return { [MACHINE_ID_FILE_ENV]: file, [HOSTNAME_ENV]: host };
  }
  throw new Error(`no host name puts the first write ${fromMs}-${toMs} ms from now`);
}
