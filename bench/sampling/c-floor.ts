/**
 * The floor: bench/c/read-stats.c, compiled at bench time, reads every <pid>/stat of a procfs root
 * once per pass (open, read, close) and reports the median ns per pass.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_SRC_DIR } from '../paths.js';

export interface CFloor {
  readonly binary: string;
  readonly compiler: string;
}

export interface CFloorPass {
  readonly processes: number;
  readonly medianNsPerPass: number;
}

/** Compiles the reader with `cc` (or $CC); a string says why it is skipped. */
export function compileCFloor(outDir: string): CFloor | string {
  const compiler = process.env['CC'] ?? 'cc';
  mkdirSync(outDir, { recursive: true });
  const binary = join(outDir, 'read-stats');
  const result = spawnSync(compiler, ['-O2', '-o', binary, join(BENCH_SRC_DIR, 'c', 'read-stats.c')], {
    encoding: 'utf8',
  });
  if (result.error) {
    const code = (result.error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'skipped: no C compiler' : `skipped: ${compiler} failed (${result.error.message})`;
  }
  if (result.status !== 0) return `skipped: ${compiler} failed: ${result.stderr.trim().slice(0, 200)}`;
  return { binary, compiler };
}

/** Runs `passes` timed passes (after one warm-up pass) over `root`. */
export function runCFloor(floor: CFloor, root: string, passes: number): CFloorPass {
  const result = spawnSync(floor.binary, [root, String(passes)], { encoding: 'utf8' });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`read-stats ${root} exited ${result.status}: ${result.stderr.trim()}`);
  const [processes, medianNs] = result.stdout.trim().split(' ').map(Number);
  if (processes === undefined || medianNs === undefined || !Number.isFinite(medianNs)) {
    throw new Error(`read-stats printed an unexpected line: ${JSON.stringify(result.stdout)}`);
  }
  return { processes, medianNsPerPass: medianNs };
}
