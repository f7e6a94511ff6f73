/**
 * The install from a checkout of docs/install.md, as a fresh machine runs it: `npm pack`, then a global
 * install of the tarball (here into a temporary prefix), then `scaph` from that prefix's bin. `npm test` has built
 * dist/ already, so the pack skips `prepare` (a second tsc would rewrite dist/ under the tests running
 * beside this one). The install resolves the dependencies as any global install does: from the npm cache
 * when it has them (--prefer-offline), else from the registry.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPowercapTree, type PowercapTree } from '../../support/fixtures/powercap-tree.js';
import { packageRoot } from '../../../src/core/package-file.js';

const run = promisify(execFile);
const ROOT = packageRoot();
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; dependencies: Record<string, string>; devDependencies: Record<string, string> };

let dir: string;
let prefix: string;
let tarball: string;
/** PATH with this node first: the installed bin's shebang runs `env node`. */
const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}` };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'scaph-install-'));
  prefix = join(dir, 'prefix');
  const packed = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT, env, timeout: 60_000 });
  tarball = join(dir, packed.stdout.trim().split('\n').pop() ?? '');
  try {
    await run('npm', ['install', '--global', tarball, '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund'], { cwd: dir, env, timeout: 240_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`npm install -g ${tarball} failed (it needs the npm cache or the registry for the dependencies): ${e.stderr ?? e.message}`);
  }
}, 300_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('install from a checkout: npm pack, npm install -g the tarball', () => {
  it('ships the agent and its wire schemas, not the tests, the bench or the dev tools', () => {
    expect(tarball.endsWith(`${pkg.name}-${pkg.version}.tgz`)).toBe(true);
    const installed = join(prefix, 'lib', 'node_modules', pkg.name);
    expect(realpathSync(join(prefix, 'bin', 'scaph'))).toBe(join(realpathSync(installed), 'dist', 'src', 'bin.js'));
    expect(existsSync(join(installed, 'proto', 'remote.proto'))).toBe(true);
    expect(readdirSync(join(installed, 'dist'))).toEqual(['src']);
    // By path: a scoped package (@grpc/grpc-js) is a folder of its scope's.
    const installedModule = (name: string): boolean => existsSync(join(installed, 'node_modules', name, 'package.json'));
    for (const dep of Object.keys(pkg.dependencies)) expect(installedModule(dep), dep).toBe(true);
    // A dev tool is not shipped, unless a production dependency needs it itself (protobufjs 7, under
    // @grpc/grpc-js, lists @types/node among its dependencies): then it is that package's, named here.
    const neededByProduction = new Set(['@types/node']);
    for (const dev of Object.keys(pkg.devDependencies)) expect(installedModule(dev), dev).toBe(neededByProduction.has(dev));
  });

  it('scaph --version prints the package version', async () => {
    const { stdout, stderr } = await run(join(prefix, 'bin', 'scaph'), ['--version'], { env, timeout: 30_000 });
    expect(stderr).toBe('');
    expect(stdout.trim()).toBe(pkg.version);
  });

  it('scaph stdout -t 2 measures the RAPL tree and prints host, sockets and top consumers', async () => {
    const tree: PowercapTree = createPowercapTree('server2s', { clock: 'real' });
    try {
      const { stdout } = await run(join(prefix, 'bin', 'scaph'), ['stdout', '-t', '2'], {
        env: { ...env, SCAPHANDRE_POWERCAP_PATH: tree.powercapPath },
        timeout: 30_000,
      });
      const hostLines = stdout.split('\n').filter((l) => l.startsWith('Host:\t'));
      expect(hostLines.length).toBeGreaterThanOrEqual(1);
      // Packages 62 + 48 W and drams 11.25 + 9.5 W of the fixture: 130.75 W, a few % of real-clock noise.
      for (const line of hostLines) {
        expect(line).toContain('from powercap_rapl_pkg');
        expect(Math.abs(Number(/^Host:\t([\d.]+) W/.exec(line)?.[1]) - 130.75)).toBeLessThan(130.75 * 0.05);
      }
      expect(stdout).toMatch(/^Socket0\t/m);
      expect(stdout).toMatch(/^Socket1\t/m);
      expect(stdout).toContain('Top 5 consumers:');
    } finally {
      tree.close();
    }
  });
});
