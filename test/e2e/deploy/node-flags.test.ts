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

  it('the bench starts the agent with those flags, and a shebang without flags gives none', () => {
    expect(agentArgv(BIN, ['run', '-c', 'x.toml'])).toEqual([...FLAGS, BIN, 'run', '-c', 'x.toml']);
    expect(shebangNodeFlags(join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'))).toEqual([]);
    expect(() => shebangNodeFlags(join(ROOT, 'package.json'))).toThrow(/not a node shebang/);
  });
});
