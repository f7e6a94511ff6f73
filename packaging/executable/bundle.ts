/**
 * The agent as one CommonJS file (esbuild), the main script of the single executable: dist/src/bin.js and
 * every production dependency it imports. Lazily loaded libraries (src/core/lazy-modules.cts) stay lazy:
 * esbuild wraps each CommonJS library in a function that runs at its first require().
 *
 * Refused, so the executable never needs a file beside it: a native addon (.node) among the inputs, and
 * any esbuild warning (a require() it could not follow would be left to run time, where a single
 * executable can load built-in modules only).
 */
import { build, type Metafile } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';

export interface Bundle {
  /** The bundled script. */
  readonly file: string;
  /** The files it was built from (repository-relative, as esbuild names them). */
  readonly inputs: readonly string[];
}

export class BundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BundleError';
  }
}

/**
 * import.meta.url has no CommonJS equivalent in esbuild's output: it becomes the executable's own path
 * (only packageRoot() reads it, which the executable never calls: its files are assets).
 */
const IMPORT_META_URL = 'const __scaphImportMetaUrl = require("node:url").pathToFileURL(__filename).href;';

export async function bundleAgent(entry: string, outFile: string): Promise<Bundle> {
  const result = await build({
    entryPoints: [entry],
    outfile: outFile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    metafile: true,
    logLevel: 'silent',
    banner: { js: IMPORT_META_URL },
    define: { 'import.meta.url': '__scaphImportMetaUrl' },
    // The licences go to the packages' notices file (licences.ts), not into the script.
    legalComments: 'none',
  });
  if (result.warnings.length > 0) {
    throw new BundleError(`esbuild warned, the executable could miss code at run time:\n${result.warnings.map((w) => `  ${w.location?.file ?? ''}:${w.location?.line ?? ''}: ${w.text}`).join('\n')}`);
  }
  const inputs = Object.keys((result.metafile as Metafile).inputs);
  const native = inputs.filter((f) => f.endsWith('.node'));
  if (native.length > 0) throw new BundleError(`native addons cannot go into the single executable: ${native.join(', ')}; use a pure JavaScript library`);
  stripHashbang(outFile);
  return { file: outFile, inputs };
}

/** bin.js's shebang line: the executable carries its flags in sea-config.json; the line has no place in a script body. */
function stripHashbang(file: string): void {
  const text = readFileSync(file, 'utf8');
  if (text.startsWith('#!')) writeFileSync(file, text.slice(text.indexOf('\n') + 1));
}
