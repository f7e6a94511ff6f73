/**
 * The sed list for Scaphandre unit files (docs/coming-from-scaphandre.md), as an operator runs
 * it: the IMAGE assignment and the `-e` expressions of the block after "Unit files:", applied with the real
 * GNU sed (`sed -i -E`).
 */
import { execFileSync } from 'node:child_process';

export interface MigrationSedList {
  readonly image: string;
  readonly expressions: readonly string[];
}

export function migrationSedList(doc: string): MigrationSedList {
  const at = doc.indexOf('Unit files: ');
  const block = /```sh\n([\s\S]*?)```/.exec(doc.slice(at))?.[1] ?? '';
  const image = /^IMAGE=(\S+)$/m.exec(block)?.[1] ?? '';
  // '…' is taken as written; "…" (the image's) has $IMAGE expanded, as the shell does.
  const expressions = [...block.matchAll(/-e (['"])(.*?)\1 \\$/gm)].map((m) => (m[1] === '"' ? (m[2] ?? '').replaceAll('$IMAGE', image) : (m[2] ?? '')));
  return { image, expressions };
}

/** Runs the list on `files` in place, as `sed -i -E -e … files` does. */
export function runSedList(list: MigrationSedList, files: readonly string[]): void {
  execFileSync('sed', ['-i', '-E', ...list.expressions.flatMap((e) => ['-e', e]), ...files]);
}
