/**
 * A Node.js single executable application: the bundle, the files scaph reads at run time (as assets) and
 * the agent's V8 flags (execArgv) go into a preparation blob, which postject injects into a copy of the
 * node binary. https://nodejs.org/api/single-executable-applications.html
 *
 * - The blob is made by the host's node of the same version (a cross build reuses it as is): with neither
 *   a start-up snapshot nor a code cache it holds no architecture-specific data.
 * - execArgvExtension stays "env" (the default): NODE_OPTIONS is honoured as node honours it.
 * - The binary is stripped of its symbol table and debug sections first (127 -> 109 MB for x64); they are
 *   never mapped at run time, and the dynamic symbols node exports stay. A cross build needs that
 *   architecture's strip (Debian: binutils-aarch64-linux-gnu); without it the binary stays as shipped.
 */
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { NodeRuntime } from './node-runtime.js';

const run = promisify(execFile);
const requireHere = createRequire(import.meta.url);

/** The fuse every Node.js binary carries, flipped by the injection (Node's documented value). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** Files read at run time, keyed by their path relative to the package root (packageFileText reads them so). */
export const SEA_ASSETS = ['package.json', 'proto/riemann.proto'] as const;

export interface ExecutablePlan {
  readonly bundle: string;
  /** The node of the host: makes the blob. Same version as `target`. */
  readonly host: NodeRuntime;
  /** The node binary the executable is made from. */
  readonly target: NodeRuntime;
  readonly execArgv: readonly string[];
  readonly root: string;
  readonly workDir: string;
  readonly out: string;
}

export async function buildExecutable(plan: ExecutablePlan): Promise<void> {
  const blob = join(plan.workDir, `sea-${plan.target.arch}.blob`);
  const config = join(plan.workDir, `sea-config-${plan.target.arch}.json`);
  writeFileSync(
    config,
    `${JSON.stringify(
      {
        main: plan.bundle,
        output: blob,
        disableExperimentalSEAWarning: true,
        useSnapshot: false,
        useCodeCache: false,
        execArgv: plan.execArgv,
        execArgvExtension: 'env',
        assets: Object.fromEntries(SEA_ASSETS.map((a) => [a, join(plan.root, a)])),
      },
      null,
      2,
    )}\n`,
  );
  await run(plan.host.binary, ['--experimental-sea-config', config], { timeout: 120_000 });
  copyFileSync(plan.target.binary, plan.out);
  chmodSync(plan.out, 0o755);
  const strip = stripFor(plan.target.arch);
  if (strip !== null) await run(strip, ['--strip-all', '--remove-section=.comment', plan.out], { timeout: 120_000 });
  const postject = requireHere.resolve('postject/dist/cli.js');
  await run(process.execPath, [postject, plan.out, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE], { timeout: 300_000, maxBuffer: 16 << 20 });
}

const CROSS_STRIP: Readonly<Record<string, string>> = { arm64: 'aarch64-linux-gnu-strip', x64: 'x86_64-linux-gnu-strip' };

/** The strip that reads `arch`'s ELF files: the host's own, or a cross binutils' when installed (null: none). */
export function stripFor(arch: string): string | null {
  if (arch === process.arch) return 'strip';
  const cross = CROSS_STRIP[arch];
  return cross !== undefined && onPath(cross) ? cross : null;
}

function onPath(command: string): boolean {
  return (process.env['PATH'] ?? '').split(':').some((dir) => dir !== '' && existsSync(join(dir, command)));
}
