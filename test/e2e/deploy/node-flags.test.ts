import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { agentArgv, shebangNodeFlags } from '../../../bench/steady/agent-command.js';
import { packageRoot } from '../../../src/core/package-file.js';

const ROOT = packageRoot();
const BIN = join(ROOT, 'dist', 'src', 'bin.js');
// A copy beside bin.js (it imports ./cli.js), executable, so the kernel runs it through its shebang.
const EXEC_COPY = join(ROOT, 'dist', 'src', `bin-shebang-test-${process.pid}.js`);

const FLAGS = ['--min-semi-space-size=3', '--max-semi-space-size=3', '--no-allocation-site-pretenuring', '--single-threaded'];

afterAll(() => rmSync(EXEC_COPY, { force: true }));

describe('node flags of the installed agent', () => {
  it('bin.js runs node with a fixed 3 MB young generation, no pretenuring and no V8 background threads, and the image passes the same flags', () => {
    expect(shebangNodeFlags(BIN)).toEqual(FLAGS);
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
    const argv = JSON.parse(entrypoint?.[1] ?? '[]') as string[];
    expect(argv).toEqual(['node', ...shebangNodeFlags(BIN), '/opt/scaph/dist/src/bin.js']);
  });

  it('the shebang works when the file is executed directly (as /usr/bin/scaph and npx run it)', () => {
    copyFileSync(BIN, EXEC_COPY);
    chmodSync(EXEC_COPY, 0o755);
    const run = spawnSync(EXEC_COPY, ['--version'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(run.status).toBe(0);
  });

  it('bin.js keeps the young generation committed (V8\'s predictable mode, set at run time) and Math.random stays random per process', () => {
    expect(readFileSync(BIN, 'utf8')).toMatch(/^keepYoungGenerationCommitted\(\);$/m);
    expect(readFileSync(join(ROOT, 'dist', 'src', 'core', 'young-generation.js'), 'utf8')).toContain("setFlagsFromString('--predictable')");
    // The bench's baseline is started the same way.
    expect(readFileSync(join(ROOT, 'dist', 'bench', 'steady', 'io-floor.js'), 'utf8')).toMatch(/^keepYoungGenerationCommitted\(\);$/m);
    // What bin.js relies on: set after start-up, the flag leaves the random seed drawn at start-up alone,
    // so two agents do not draw the same backoff jitter (on the command line it would fix the seed).
    const draw = (): string =>
      spawnSync(process.execPath, [...FLAGS, '-e', "require('node:v8').setFlagsFromString('--predictable'); console.log(Math.random(), Math.random())"], { encoding: 'utf8' }).stdout;
    const first = draw();
    expect(first).toMatch(/^0\.\d+ 0\.\d+\n$/);
    expect(draw()).not.toBe(first);
    const fixed = (): string => spawnSync(process.execPath, ['--predictable', '-e', 'console.log(Math.random())'], { encoding: 'utf8' }).stdout;
    expect(fixed()).toBe(fixed());
  });

  it('the bench starts the agent with those flags, and a shebang without flags gives none', () => {
    expect(agentArgv(BIN, ['run', '-c', 'x.toml'])).toEqual([...FLAGS, BIN, 'run', '-c', 'x.toml']);
    expect(shebangNodeFlags(join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'))).toEqual([]);
    expect(() => shebangNodeFlags(join(ROOT, 'package.json'))).toThrow(/not a node shebang/);
  });
});
