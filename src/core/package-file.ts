import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getAsset, isSea } from 'node:sea';

let rootDir: string | null = null;

/**
 * The directory holding scaph's package.json. Found by walking up from this module, because the
 * depth differs between the sources (src/core) and the build (dist/src/core).
 */
export function packageRoot(): string {
  if (rootDir !== null) return rootDir;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate) && (JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string }).name === 'scaph') {
      rootDir = dir;
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find scaph package.json above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/** A file shipped with the package (proto/remote.proto, …), by its path relative to the package root. */
export function packageFile(relative: string): string {
  return join(packageRoot(), relative);
}

/**
 * The text of a file scaph reads at run time (package.json, proto/riemann.proto), by its path relative
 * to the package root. In the single executable (`npm run package`) the file is one of its assets, keyed
 * by that same path (packaging/executable/sea-assets.ts lists them); otherwise it is read from the package
 * root. Callers never know which.
 */
export function packageFileText(relative: string): string {
  if (isSea()) {
    try {
      return getAsset(relative, 'utf8');
    } catch {
      throw new Error(`${relative} is not in this executable; it is incomplete: rebuild it (npm run package)`);
    }
  }
  const path = packageFile(relative);
  if (!existsSync(path)) throw new Error(`${relative} not found at ${path}; the package is incomplete: reinstall scaph`);
  return readFileSync(path, 'utf8');
}
