/**
 * V8's memory reducer on the executable's Node.js (packaging/runtime.json): without a C++-heap allocation it
 * never starts (src/core/memory-reducer.ts says why); with keepMemoryReducerWorking() it compacts the heap
 * once the program is quiet, and the agent (dist/src/bin.js on that Node.js, the executable's V8 flags)
 * does so on its own. Seen in V8's own trace (--trace-memory-reducer, --trace-gc on stdout).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { executableExecArgv } from '../../../packaging/executable/node-flags.js';
import { nodeRuntime, runtimePins } from '../../../packaging/executable/node-runtime.js';
import { packageRoot } from '../../../src/core/package-file.js';

const ROOT = packageRoot();
const BIN = join(ROOT, 'dist', 'src', 'bin.js');
const MODULE = join(ROOT, 'dist', 'src', 'core', 'memory-reducer.js');
const TRACE = ['--trace-memory-reducer', '--trace-gc'];
const RUN_MS = 26_000;

/**
 * Start-up of a program of some 20 MB (kept), a burst of garbage, then quiet: a timer that allocates a
 * little each second, as the agent between its steps. With `nudge`, keepMemoryReducerWorking() first.
 */
const QUIET_PROGRAM = (nudge: boolean): string => `
  ${nudge ? `import(${JSON.stringify(MODULE)}).then((m) => console.log('nudge started: ' + m.keepMemoryReducerWorking()));` : ''}
  const kept = [];
  for (let i = 0; i < 200000; i++) kept.push({ i, s: 'x' + i });
  let garbage = [];
  for (let i = 0; i < 400000; i++) garbage.push({ i, s: 'y' + i });
  garbage = null;
  setInterval(() => { const a = []; for (let i = 0; i < 200; i++) a.push({ i }); }, 1000);
`;

/** Runs `args` on `binary` for RUN_MS, then stops it; its stdout (V8's traces go there). */
function traced(binary: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, [...args], { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, SCAPH_LOG_LEVEL: 'warn' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), RUN_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

const reduceGcs = (trace: string): string[] => trace.split('\n').filter((l) => /Mark-Compact \(reduce\)/.test(l));

/** Forces a collection, then makes V8 run one of its own; prints what watchOwnFullCollections() said after each. */
const WATCH_PROGRAM = `
  const { watchOwnFullCollections } = await import(${JSON.stringify(MODULE)});
  const collected = watchOwnFullCollections();
  const settle = () => new Promise((resolve) => setTimeout(resolve, 50));
  globalThis.gc();
  await settle();
  const afterForced = collected();
  const kept = [];
  for (let i = 0; i < 1e6; i++) kept.push({ i });
  await settle();
  console.log(JSON.stringify({ afterForced, afterOwn: collected(), again: collected(), kept: kept.length }));
`;

function runWatch(binary: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['--expose-gc', '--input-type=module', '-e', WATCH_PROGRAM], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('close', () => resolve(out));
  });
}

describe('memory reducer on the executable\'s Node.js', () => {
  it('tells V8\'s own full collections from forced ones, on this Node.js and the executable\'s', async () => {
    const runtime = await nodeRuntime(process.arch === 'arm64' ? 'arm64' : 'x64');
    for (const binary of [process.execPath, runtime.binary]) {
      expect(JSON.parse(await runWatch(binary)), binary).toEqual({ afterForced: false, afterOwn: true, again: false, kept: 1e6 });
    }
  }, 5 * 60_000);

  it('never starts in a quiet program without the nudge, starts with it, and the agent starts it itself', async () => {
    const runtime = await nodeRuntime(process.arch === 'arm64' ? 'arm64' : 'x64');
    const flags = executableExecArgv(join(ROOT, 'src', 'bin.ts'), runtimePins().version);
    const [without, withNudge, agent] = await Promise.all([
      traced(runtime.binary, [...flags, ...TRACE, '--input-type=module', '-e', QUIET_PROGRAM(false)]),
      traced(runtime.binary, [...flags, ...TRACE, '--input-type=module', '-e', QUIET_PROGRAM(true)]),
      traced(runtime.binary, [...flags, ...TRACE, BIN, '--no-header', '--sensor', 'estimate', 'json', '-s', '2']),
    ]);
    // V8 13.6 reads the C++ heap's allocation rate, zero since start, as high: the reducer waits on.
    expect(without).toMatch(/Memory reducer: high alloc/);
    expect(reduceGcs(without)).toEqual([]);
    expect(withNudge).toContain('nudge started: true');
    expect(withNudge).toMatch(/Memory reducer: low alloc/);
    expect(reduceGcs(withNudge).length).toBeGreaterThanOrEqual(1);
    expect(reduceGcs(agent).length, agent.split('\n').filter((l) => l.includes('Memory reducer')).join('\n')).toBeGreaterThanOrEqual(1);
  }, 10 * 60_000);
});
