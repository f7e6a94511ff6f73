import { join } from 'node:path';
import { packageRoot } from '../src/core/package-file.js';

/** Repository root (where scaph's package.json is). */
export const REPO_ROOT = packageRoot();
export const BENCH_SRC_DIR = join(REPO_ROOT, 'bench');
export const DEFAULT_OUT_DIR = join(REPO_ROOT, 'bench', 'out');
