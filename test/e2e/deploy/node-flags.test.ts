import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { agentArgv } from '../../../bench/steady/agent-command.js';
import { shebangNodeFlags } from '../../../packaging/executable/node-flags.js';
import { packageRoot } from '../../../src/core/package-file.js';
import { builtPackages } from '../../support/harness/packages.js';

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

  it('the single executable (npm run package) runs with the flags of src/bin.ts, the one place they are written', async () => {
    expect(shebangNodeFlags(join(ROOT, 'src', 'bin.ts'))).toEqual(FLAGS);
    const { executable } = await builtPackages();
    const run = spawnSync(executable, ['-vv', '--no-header', '--sensor', 'estimate', 'stdout', '-t', '1'], {
      encoding: 'utf8',
      env: { ...process.env, SCAPH_LOG_FORMAT: 'json', SCAPH_LOG_LEVEL: 'debug' },
      timeout: 60_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const line = run.stderr.split('\n').find((l) => l.includes('"msg":"runtime"')) ?? '{}';
    expect(JSON.parse(line)).toMatchObject({ execArgv: FLAGS, singleExecutable: true });
  }, 30 * 60_000);

  it('the bench starts the agent with those flags, and a shebang without flags gives none', () => {
    expect(agentArgv(BIN, ['run', '-c', 'x.toml'])).toEqual([...FLAGS, BIN, 'run', '-c', 'x.toml']);
    expect(shebangNodeFlags(join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'))).toEqual([]);
    expect(() => shebangNodeFlags(join(ROOT, 'package.json'))).toThrow(/not a node shebang/);
  });
});
