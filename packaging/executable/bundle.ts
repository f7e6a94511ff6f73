/**
 * The agent as one CommonJS file (esbuild), the main script of the single executable: dist/src/bin.js and
 * every production dependency it imports. Lazily loaded libraries (src/core/lazy-modules.cts) stay lazy:
 * esbuild wraps each CommonJS library in a function that runs at its first require().
 *
 * Refused, so the executable never needs a file beside it: a native addon (.node) among the inputs, any
 * esbuild warning, and a require() left to run time that does not name a Node.js built-in (a single
 * executable can load built-in modules only). bin.js's shebang is dropped: its flags are the executable's
 * execArgv (sea-config.json), and the line has no place in a script body.
 *
 * The bundle is whitespace-minified, which drops the comments: Node.js hands the executable's main script to
 * V8 as one string, and a single character above U+00FF anywhere in it (undici's comments hold a few
 * apostrophes U+2019) makes V8 store all of it two bytes a character, for as long as the agent runs (the
 * source stays for lazy compilation): 5.6 MB for the 2.8 MB script as written, 1.9 MB for the minified one,
 * pure ASCII (esbuild escapes what is left in strings and regular expressions). Names are kept, so
 * messages and `.name` are those of dist; only stack traces' line and column numbers differ.
 */
import { build, type BuildResult } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';

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
  let result: BuildResult<{ metafile: true }>;
  try {
    result = await esbuild(entry, outFile);
  } catch (err) {
    const errors = (err as { errors?: Array<{ text: string; location?: { file: string } | null }> }).errors ?? [];
    const native = errors.filter((e) => e.text.includes('.node')).map((e) => e.location?.file ?? e.text);
    if (native.length > 0) throw new BundleError(`native addons cannot go into the single executable (required from ${native.join(', ')}); use a pure JavaScript library`);
    throw new BundleError(`esbuild could not bundle ${entry}: ${errors.map((e) => e.text).join('; ') || (err as Error).message}`);
  }
  if (result.warnings.length > 0) {
    throw new BundleError(`esbuild warned, the executable could miss code at run time:\n${result.warnings.map((w) => `  ${w.location?.file ?? ''}:${w.location?.line ?? ''}: ${w.text}`).join('\n')}`);
  }
  const inputs = Object.keys(result.metafile.inputs);
  const native = inputs.filter((f) => f.endsWith('.node'));
  if (native.length > 0) throw new BundleError(`native addons cannot go into the single executable: ${native.join(', ')}; use a pure JavaScript library`);
  const text = readFileSync(outFile, 'utf8');
  const unresolved = runTimeRequires(text);
  if (unresolved.length > 0) {
    throw new BundleError(`require() calls left to run time that are not Node.js built-ins (a single executable can load nothing else): ${unresolved.join(', ')}`);
  }
  const wide = twoByteCharacters(text);
  if (wide.length > 0) {
    throw new BundleError(`the bundle holds characters above U+00FF (${wide.join(' ')}): V8 would keep the whole script two bytes a character; escape them in the source`);
  }
  if (text.startsWith('#!')) writeFileSync(outFile, text.slice(text.indexOf('\n') + 1));
  return { file: outFile, inputs };
}

/** The distinct characters of `text` above U+00FF (as U+XXXX), which make V8 store it as a two-byte string. */
export function twoByteCharacters(text: string): string[] {
  const found = new Set<string>();
  for (const m of text.matchAll(/[^\u0000-\u00ff]/gu)) found.add(`U+${(m[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`);
  return [...found];
}

/** A require() esbuild left in its output: an argument that is not a string, or a string naming no built-in module. */
const REQUIRE_CALL = /(?<![\w$.])require\(\s*(?:\/\*[^*]*\*\/\s*)?(?:(["'])([^"']*)\1\s*\)|([^)\s][^)]{0,40}))/g;
const BUILTINS = new Set(builtinModules);

function runTimeRequires(text: string): string[] {
  const found = new Set<string>();
  for (const m of text.matchAll(REQUIRE_CALL)) {
    const name = m[2];
    if (name === undefined) found.add(`require(${(m[3] ?? '').trim()}...)`);
    else if (!BUILTINS.has(name.replace(/^node:/, '')) && !name.startsWith('node:')) found.add(`require("${name}")`);
  }
  return [...found];
}

function esbuild(entry: string, outFile: string): Promise<BuildResult<{ metafile: true }>> {
  return build({
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
    // See the top of this file: no comments, one-byte text.
    minifyWhitespace: true,
    charset: 'ascii',
  });
}
