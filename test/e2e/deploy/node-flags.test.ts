import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, copyFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { agentArgv } from '../../../bench/steady/agent-command.js';
import { executableExecArgv, RUNTIME_V8_FLAGS, RuntimeFlagsError, shebangNodeFlags } from '../../../packaging/executable/node-flags.js';
import { nodeRuntime, runtimePins } from '../../../packaging/executable/node-runtime.js';
import { packageRoot } from '../../../src/core/package-file.js';
import { builtPackages } from '../../support/harness/packages.js';

const ROOT = packageRoot();
const BIN = join(ROOT, 'dist', 'src', 'bin.js');
// A copy beside bin.js (it imports ./cli.js), executable, so the kernel runs it through its shebang.
const EXEC_COPY = join(ROOT, 'dist', 'src', `bin-shebang-test-${process.pid}.js`);

const FLAGS = ['--min-semi-space-size=3', '--max-semi-space-size=3', '--no-allocation-site-pretenuring', '--single-threaded', '--heap-growing-percent=50'];
const EXE_EXTRA = [
  '--max-opt=2',
  '--no-sparkplug',
  '--invocation-count-for-feedback-allocation=100',
  '--invocation-count-for-maglev=2000',
  '--invocation-count-for-maglev-osr=1000',
  '--gc-memory-reducer-start-delay-ms=2000',
  '--bytecode-old-age=1',
  '--memory-reducer-gc-count=3',
  '--expose-gc',
];

afterAll(() => rmSync(EXEC_COPY, { force: true }));

describe('node flags of the installed agent', () => {
  it('bin.js runs node with a fixed 3 MB young generation, no pretenuring, no V8 background threads and a 50 % heap growth, and the image passes the same flags', () => {
    expect(shebangNodeFlags(BIN)).toEqual(FLAGS);
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
    const argv = JSON.parse(entrypoint?.[1] ?? '[]') as string[];
    expect(argv).toEqual(['node', ...shebangNodeFlags(BIN), '/opt/scaph/dist/src/bin.js']);
  });

  it('the shebang works when the file is executed directly (as /usr/bin/scaph and npx run it)', () => {
    copyFileSync(BIN, EXEC_COPY);
    chmodSync(EXEC_COPY, 0o755);
    let run: SpawnSyncReturns<string>;
    try {
      run = spawnSync(EXEC_COPY, ['--version'], { encoding: 'utf8' });
    } finally {
      // Gone before the next test: dist/src is an input of the packages (harness/packages.ts), and a stray file
      // there changes their digest, so the next builtPackages() would rebuild them under the other package tests.
      rmSync(EXEC_COPY, { force: true });
    }
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(run.status).toBe(0);
  });

  it('the single executable adds the flags tuned for its own Node.js (runtime.json), and refuses another major version', async () => {
    expect(RUNTIME_V8_FLAGS.flags).toEqual(EXE_EXTRA);
    expect(Number(runtimePins().version.split('.')[0])).toBe(RUNTIME_V8_FLAGS.nodeMajor);
    expect(executableExecArgv(join(ROOT, 'src', 'bin.ts'), runtimePins().version)).toEqual([...FLAGS, ...EXE_EXTRA]);
    expect(() => executableExecArgv(join(ROOT, 'src', 'bin.ts'), '26.1.0')).toThrow(RuntimeFlagsError);
    expect(() => executableExecArgv(join(ROOT, 'src', 'bin.ts'), 'v22.23.5')).toThrow(/pins Node\.js v22\.23\.5, but .* tuned for Node\.js 24: measure them again/);
    // The runtime knows every one of them (V8 warns on stderr about a flag it does not know, and runs on).
    const runtime = await nodeRuntime(process.arch === 'arm64' ? 'arm64' : 'x64');
    const run = spawnSync(runtime.binary, [...FLAGS, ...EXE_EXTRA, '-p', 'JSON.stringify(process.execArgv)'], { encoding: 'utf8', timeout: 60_000 });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual([...FLAGS, ...EXE_EXTRA, '-p', 'JSON.stringify(process.execArgv)']);
    expect(run.status).toBe(0);
    // Node 20 has no Maglev: there --max-opt=2 would leave only the baseline compiler. They stay out of the shebang.
    expect(shebangNodeFlags(BIN).some((f) => EXE_EXTRA.includes(f))).toBe(false);
  }, 10 * 60_000);

  it('the single executable (npm run package) runs with the flags of src/bin.ts, then those of its runtime', async () => {
    expect(shebangNodeFlags(join(ROOT, 'src', 'bin.ts'))).toEqual(FLAGS);
    const { executable } = await builtPackages();
    const run = spawnSync(executable, ['-vv', '--no-header', '--sensor', 'estimate', 'stdout', '-t', '1'], {
      encoding: 'utf8',
      env: { ...process.env, SCAPH_LOG_FORMAT: 'json', SCAPH_LOG_LEVEL: 'debug' },
      timeout: 60_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const line = run.stderr.split('\n').find((l) => l.includes('"msg":"runtime"')) ?? '{}';
    expect(JSON.parse(line)).toMatchObject({ execArgv: [...FLAGS, ...EXE_EXTRA], singleExecutable: true });
  }, 30 * 60_000);

  it('the bench starts the agent with those flags, and a shebang without flags gives none', () => {
    expect(agentArgv(BIN, ['run', '-c', 'x.toml'])).toEqual([...FLAGS, BIN, 'run', '-c', 'x.toml']);
    expect(shebangNodeFlags(join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'))).toEqual([]);
    expect(() => shebangNodeFlags(join(ROOT, 'package.json'))).toThrow(/not a node shebang/);
  });
});
