/**
 * The executable row of the steady section: the single executable of `npm run package` (Node.js 24 with the
 * bundle in it) against `node dist/src/bin.js` on this bench's node, and against dist on the executable's
 * own Node.js with the executable's V8 flags (node 24 + dist: tells the runtime's share from the
 * packaging's, i.e. the bundle's). Same config, tree and
 * backends as the steady run; the three are measured in turn, the order rotating each round, several
 * rounds (min / median / max). The window is 150 s after the 15 s warm-up: Node.js 24's heap and malloc
 * arena grew for minutes where Node.js 20's settled within 20 s (a 40 s window showed the executable at
 * 1.03x node + dist's peak RSS, 1.07-1.09x by 100-130 s), so a short window would miss where its peak is.
 * Three rounds of three 165 s runs make the row ~25 minutes; fewer rounds would lose the spread that
 * shows a machine getting busier. Then start-up, the three in turn again: the time from spawn to the first
 * sample on stdout (json exporter, 0.5 s step: its first sample comes 0.5 s after start) and of `--version`.
 *
 * Each program runs from a copy of its binary written the same way (64 KiB writes), this bench's node
 * included. On Linux 6.x the page cache keeps a file in folios whose size follows how it was written, and
 * a fault on a mapped file maps its whole folio into the process's RSS: the executable as postject wrote
 * it (one 106 MB write) showed 13 MB more RSS than the same bytes copied with cp. A copy puts the three
 * on the same footing, as a package manager's extraction would.
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { executableExecArgv } from '../../packaging/executable/node-flags.js';
import { nodeRuntime } from '../../packaging/executable/node-runtime.js';
import { REPO_ROOT } from '../paths.js';
import type { ExecutableComparison, ExecutableVariant, Skipped } from '../results.js';
import { round, spread } from '../stats.js';
import { shebangNodeFlags } from './agent-command.js';
import { AGENT_SCRIPT, measureProgram, type NodeUsage } from './measure-node.js';

const run = promisify(execFile);
const FIRST_SAMPLE_STEP_S = 0.5;
const START_TIMEOUT_MS = 60_000;

export interface ExecutableRowPlan {
  readonly quick: boolean;
  /** The steady run's config (the four push transports). */
  readonly configPath: string;
  readonly procfsRoot: string;
  readonly warmupMs: number;
  readonly outDir: string;
  readonly log: (line: string) => void;
}

interface Variant {
  readonly label: string;
  readonly runtime: string;
  readonly command: string;
  /** argv before scaph's own arguments. */
  readonly prefix: readonly string[];
}

/** Builds the executable (`npm run package -- --executable-only`, into the bench's out dir), then measures. */
export async function runExecutableRow(plan: ExecutableRowPlan): Promise<ExecutableComparison | Skipped> {
  let variants: Variant[];
  const binDir = join(plan.outDir, 'pkg', 'run');
  try {
    const executable = await buildExecutable(join(plan.outDir, 'pkg'));
    const node24 = await nodeRuntime(process.arch === 'arm64' ? 'arm64' : 'x64');
    mkdirSync(binDir, { recursive: true });
    variants = [
      { label: 'node + dist', runtime: `node ${process.version}`, command: copyInChunks(process.execPath, join(binDir, 'node')), prefix: [...shebangNodeFlags(AGENT_SCRIPT), AGENT_SCRIPT] },
      {
        label: 'node 24 + dist',
        runtime: `node v${node24.version} (the executable's V8 flags)`,
        command: copyInChunks(node24.binary, join(binDir, 'node24')),
        prefix: [...executableExecArgv(AGENT_SCRIPT, node24.version), AGENT_SCRIPT],
      },
      { label: 'executable', runtime: `node v${node24.version} (single executable)`, command: copyInChunks(executable, join(binDir, 'scaph')), prefix: [] },
    ];
  } catch (err) {
    return { skipped: `skipped: the executable could not be built (${err instanceof Error ? err.message.split('\n')[0] : String(err)})` };
  }
  const rounds = plan.quick ? 1 : 3;
  const windowMs = plan.quick ? 3000 : 150_000;
  const startupRuns = plan.quick ? 2 : 7;

  const steady = new Map<string, NodeUsage[]>(variants.map((v) => [v.label, []]));
  for (let r = 0; r < rounds; r++) {
    for (const v of rotated(variants, r)) {
      const usage = await measureProgram(`${v.label} (round ${r + 1})`, v.command, [...v.prefix, 'run', '-c', plan.configPath], plan.warmupMs, windowMs);
      steady.get(v.label)?.push(usage);
      plan.log(`steady: executable row, round ${r + 1}: ${v.label} ${usage.percentOfOneCore.toFixed(2)} % of one core, peak RSS ${usage.peakRssMb.toFixed(1)} MB`);
    }
  }
  const firstSample = new Map<string, number[]>(variants.map((v) => [v.label, []]));
  const version = new Map<string, number[]>(variants.map((v) => [v.label, []]));
  for (let i = 0; i < startupRuns; i++) {
    for (const v of rotated(variants, i)) {
      firstSample.get(v.label)?.push(await msToFirstSample(v, plan.procfsRoot));
      version.get(v.label)?.push(await msToVersion(v));
    }
  }

  const rows: ExecutableVariant[] = variants.map((v) => {
    const u = steady.get(v.label) ?? [];
    return {
      label: v.label,
      runtime: v.runtime,
      percentOfOneCore: spread(u.map((x) => x.percentOfOneCore)),
      peakRssMb: spread(u.map((x) => x.peakRssMb)),
      windowRssMaxMb: spread(u.map((x) => x.windowRssMaxMb)),
      firstSampleMs: spread(firstSample.get(v.label) ?? []),
      versionMs: spread(version.get(v.label) ?? []),
    };
  });
  const [node, node24, exe] = rows as [ExecutableVariant, ExecutableVariant, ExecutableVariant];
  return {
    rounds,
    warmupMs: plan.warmupMs,
    windowMs,
    startupRuns,
    firstSampleStepMs: FIRST_SAMPLE_STEP_S * 1000,
    variants: rows,
    cpuVsNode: ratio(exe.percentOfOneCore.median, node.percentOfOneCore.median),
    rssVsNode: ratio(exe.peakRssMb.median, node.peakRssMb.median),
    cpuVsNode24: ratio(exe.percentOfOneCore.median, node24.percentOfOneCore.median),
    rssVsNode24: ratio(exe.peakRssMb.median, node24.peakRssMb.median),
  };
}

/** `src` written to `dest` 64 KiB at a time (see the top of this file), executable. */
function copyInChunks(src: string, dest: string): string {
  const buffer = Buffer.allocUnsafe(64 * 1024);
  const from = openSync(src, 'r');
  const to = openSync(dest, 'w', 0o755);
  try {
    for (let n = readSync(from, buffer); n > 0; n = readSync(from, buffer)) writeSync(to, buffer, 0, n);
  } finally {
    closeSync(from);
    closeSync(to);
  }
  return dest;
}

async function buildExecutable(outDir: string): Promise<string> {
  const { stderr } = await run(process.execPath, [join(REPO_ROOT, 'dist', 'packaging', 'package.js'), '--executable-only', '--out', outDir], { timeout: 900_000, maxBuffer: 16 << 20 });
  const built = /^package: (\S+): [\d.]+ MB \(Node\.js/m.exec(stderr)?.[1];
  if (built === undefined) throw new Error(`npm run package named no executable: ${stderr}`);
  return built;
}

function rotated<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

function ratio(a: number, b: number): number | null {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? round(a / b) : null;
}

/** Wall time from spawn to the first json report on stdout; the run is stopped there. */
function msToFirstSample(v: Variant, procfsRoot: string): Promise<number> {
  const args = [...v.prefix, '--no-header', '--sensor', 'estimate', '--procfs-path', procfsRoot, 'json', '-s', String(FIRST_SAMPLE_STEP_S), '-t', '-1'];
  return timed(v, args, (out) => out.includes('"host"'));
}

/** Wall time of `--version`, spawn to exit. */
function msToVersion(v: Variant): Promise<number> {
  return timed(v, [...v.prefix, '--version'], () => false);
}

/** Spawns the variant; resolves with the ms until `done(stdout)` holds or the program exits 0, whichever first. */
function timed(v: Variant, args: readonly string[], done: (stdout: string) => boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(v.command, [...args], { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, SCAPH_LOG_LEVEL: 'warn' } });
    let out = '';
    let settled = false;
    const finish = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const ms = performance.now() - started;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (err) reject(err);
      else resolve(ms);
    };
    const timer = setTimeout(() => finish(new Error(`${v.label} ${args.join(' ')}: nothing after ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (done(out)) finish(null);
    });
    child.once('error', (err) => finish(err));
    child.once('exit', (code) => finish(code === 0 ? null : new Error(`${v.label} ${args.join(' ')} exited ${code}`)));
  });
}
