import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Every regular file under `dir` (symlinks not followed), sorted. */
export function walkFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...walkFiles(path));
    else if (e.isFile()) out.push(path);
  }
  return out.sort();
}
