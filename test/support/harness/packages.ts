/**
 * The artefacts of `npm run package`, built once for all the test files that need them: the first file
 * to ask builds them (node dist/packaging/package.js, as npm run package does after tsc), under a lock the
 * others wait on. A vitest run builds at most once (its workers share the runner's pid), and a later run
 * reuses the build while its inputs are unchanged (a digest of dist/src, dist/packaging, the packaging
 * templates, systemd/, proto/, package.json, package-lock.json, LICENSE): an edit in the middle of a run
 * never rebuilds what its other files are using.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../../../src/core/package-file.js';

const run = promisify(execFile);
const ROOT = packageRoot();
export const PKG_DIR = join(ROOT, 'dist', 'pkg');
const STAMP = join(PKG_DIR, '.built-from');
const LOCK = join(ROOT, 'dist', '.package-build.lock');
/** Executables for both architectures: the arm64 one is run under qemu (arm64.test.ts). */
const ARCHES = 'x64,arm64';
const BUILD_TIMEOUT_MS = 25 * 60_000;

export interface BuiltPackages {
  readonly version: string;
  readonly executable: string;
  readonly arm64Executable: string;
  readonly deb: string;
  readonly rpm: string;
  readonly notices: string;
  readonly sums: string;
  /** What the build printed (sizes, times), or that it was reused. */
  readonly log: string;
}

const INPUTS = ['dist/src', 'dist/packaging', 'packaging', 'systemd', 'proto', 'package.json', 'package-lock.json', 'LICENSE'];

function inputsDigest(): string {
  const hash = createHash('sha256');
  const add = (path: string): void => {
    const full = join(ROOT, path);
    if (!existsSync(full)) return;
    if (statSync(full).isDirectory()) {
      for (const name of readdirSync(full).sort()) add(join(path, name));
      return;
    }
    hash.update(`${path}\0`).update(readFileSync(full)).update('\0');
  };
  for (const input of INPUTS) add(input);
  return hash.digest('hex');
}

function artefacts(version: string, log: string): BuiltPackages {
  return {
    version,
    executable: join(PKG_DIR, `scaph-${version}-linux-x64`),
    arm64Executable: join(PKG_DIR, `scaph-${version}-linux-arm64`),
    deb: join(PKG_DIR, `scaph_${version}_amd64.deb`),
    rpm: join(PKG_DIR, `scaph-${version}-1.x86_64.rpm`),
    notices: join(PKG_DIR, 'THIRD-PARTY-NOTICES'),
    sums: join(PKG_DIR, 'SHA256SUMS'),
    log,
  };
}

function complete(p: BuiltPackages): boolean {
  return [p.executable, p.arm64Executable, p.deb, p.rpm, p.notices, p.sums].every((f) => existsSync(f));
}

/** What was built from what, and by which vitest run (the parent of its worker processes). */
interface Stamp {
  readonly digest: string;
  readonly runner: number;
}

function readStamp(): Stamp | null {
  try {
    return JSON.parse(readFileSync(STAMP, 'utf8')) as Stamp;
  } catch {
    return null;
  }
}

let built: Promise<BuiltPackages> | null = null;

/** The packages of the current sources, built now if they are not yet (several minutes). */
export function builtPackages(): Promise<BuiltPackages> {
  built ??= buildOnce();
  return built;
}

async function buildOnce(): Promise<BuiltPackages> {
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  await acquireLock();
  try {
    const digest = inputsDigest();
    const existing = artefacts(version, 'reused: built from the same inputs, or by this vitest run');
    const stamp = readStamp();
    if (stamp !== null && (stamp.runner === process.ppid || stamp.digest === digest) && complete(existing)) return existing;
    rmSync(STAMP, { force: true });
    let log: string;
    try {
      const out = await run(process.execPath, [join(ROOT, 'dist', 'packaging', 'package.js'), '--arch', ARCHES], { cwd: ROOT, timeout: BUILD_TIMEOUT_MS, maxBuffer: 16 << 20 });
      log = out.stderr;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`npm run package failed: ${e.stderr ?? e.message}`);
    }
    const result = artefacts(version, log);
    if (!complete(result)) throw new Error(`npm run package did not write every artefact:\n${log}`);
    writeFileSync(STAMP, JSON.stringify({ digest, runner: process.ppid } satisfies Stamp));
    return result;
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/** mkdir is atomic: the test file that creates the directory builds; the others wait for it to go. */
async function acquireLock(): Promise<void> {
  const deadline = Date.now() + BUILD_TIMEOUT_MS;
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      return;
    } catch {
      if (lockHolderGone()) {
        rmSync(LOCK, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`${relative(ROOT, LOCK)} held for more than ${BUILD_TIMEOUT_MS / 60_000} min`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

function lockHolderGone(): boolean {
  try {
    const pid = Number(readFileSync(join(LOCK, 'pid'), 'utf8'));
    process.kill(pid, 0);
    return false;
  } catch (err) {
    // No pid file yet (the holder is between mkdir and write): not gone. ESRCH: gone.
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
