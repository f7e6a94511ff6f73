import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

/** SHA256SUMS as sha256sum(1) writes it (and `sha256sum -c` reads it, from the directory of the files). */
export function sha256sums(files: readonly string[]): string {
  return files.map((f) => `${createHash('sha256').update(readFileSync(f)).digest('hex')}  ${basename(f)}\n`).join('');
}
