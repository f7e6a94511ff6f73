import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** Repository root: this file runs from dist/bench/, two levels below it. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BENCH_SRC_DIR = join(REPO_ROOT, 'bench');
export const DEFAULT_OUT_DIR = join(REPO_ROOT, 'bench', 'out');
