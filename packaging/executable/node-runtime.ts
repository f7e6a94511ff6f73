/**
 * The Node.js binary the executable is built from: npm's node-linux-<arch> package at the version and
 * integrity pinned in packaging/runtime.json, fetched once with `npm pack` into a cache outside the
 * repository (the npm cache serves it offline afterwards), checked, and unpacked there.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { packageFile } from '../../src/core/package-file.js';

const run = promisify(execFile);

export const ARCHES = ['x64', 'arm64'] as const;
export type Arch = (typeof ARCHES)[number];

interface RuntimePins {
  readonly version: string;
  readonly packages: Readonly<Record<Arch, { readonly name: string; readonly integrity: string }>>;
}

export interface NodeRuntime {
  readonly arch: Arch;
  readonly version: string;
  /** The unpacked `node` binary. */
  readonly binary: string;
  /** Node.js's LICENSE (its own and that of every library it embeds). */
  readonly licenceFile: string;
}

export function runtimePins(): RuntimePins {
  return JSON.parse(readFileSync(packageFile('packaging/runtime.json'), 'utf8')) as RuntimePins;
}

/** $SCAPH_PACKAGE_CACHE, else $XDG_CACHE_HOME/scaph-package, else ~/.cache/scaph-package. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['SCAPH_PACKAGE_CACHE'] ?? join(env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'scaph-package');
}

export class RuntimeIntegrityError extends Error {
  constructor(file: string, expected: string, actual: string) {
    super(`${file}: integrity ${actual} is not the ${expected} pinned in packaging/runtime.json; the file was removed, run again to fetch it anew`);
    this.name = 'RuntimeIntegrityError';
  }
}

/** The runtime for `arch`, fetched and unpacked when the cache does not hold it yet. */
export async function nodeRuntime(arch: Arch, cache = cacheDir()): Promise<NodeRuntime> {
  const pins = runtimePins();
  const pin = pins.packages[arch];
  const base = `${pin.name}-${pins.version}`;
  const dir = join(cache, base);
  const runtime: NodeRuntime = { arch, version: pins.version, binary: join(dir, 'bin', 'node'), licenceFile: join(dir, 'LICENSE') };
  if (existsSync(runtime.binary) && existsSync(runtime.licenceFile)) return runtime;

  mkdirSync(cache, { recursive: true });
  const tarball = join(cache, `${base}.tgz`);
  if (!existsSync(tarball)) {
    await run('npm', ['pack', `${pin.name}@${pins.version}`, '--pack-destination', cache, '--prefer-offline', '--silent'], { timeout: 600_000, maxBuffer: 16 << 20 });
  }
  const actual = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
  if (actual !== pin.integrity) {
    rmSync(tarball, { force: true });
    throw new RuntimeIntegrityError(tarball, pin.integrity, actual);
  }
  // Unpacked beside, then renamed: an interrupted build never leaves a half-written binary in place.
  const partial = `${dir}.partial-${process.pid}`;
  mkdirSync(partial, { recursive: true });
  try {
    await run('tar', ['-xzf', tarball, '-C', partial, '--strip-components=1', 'package/bin/node', 'package/LICENSE'], { timeout: 300_000 });
    rmSync(dir, { recursive: true, force: true });
    renameSync(partial, dir);
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
  return runtime;
}
