import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../../src/core/package-file.js';

const BIN = join(packageRoot(), 'dist', 'src', 'bin.js');

/** The start-up debug line of `scaph -vv`, parsed (JSON logs: SCAPH_LOG_FORMAT=json once the text format exists). */
function runtimeLine(nodeArgs: readonly string[], env: NodeJS.ProcessEnv = {}): Record<string, unknown> {
  const run = spawnSync(process.execPath, [...nodeArgs, BIN, '-vv', '-s', 'estimate', 'stdout', '-t', '1'], {
    encoding: 'utf8',
    env: { ...process.env, SCAPH_LOG_FORMAT: 'json', ...env },
    timeout: 30_000,
  });
  const line = run.stderr.split('\n').find((l) => l.includes('"msg":"runtime"'));
  if (line === undefined) throw new Error(`no runtime line in: ${run.stderr}`);
  return JSON.parse(line) as Record<string, unknown>;
}

describe('the runtime line of -vv', () => {
  it('names the node version, the V8 flags in effect and the heap limit NODE_OPTIONS set', () => {
    const line = runtimeLine(['--max-semi-space-size=3', '--single-threaded'], { NODE_OPTIONS: '--max-old-space-size=100' });
    expect(line['node']).toBe(process.version);
    expect(line['execArgv']).toEqual(['--max-semi-space-size=3', '--single-threaded']);
    expect(line['singleExecutable']).toBe(false);
    // 100 MB of old space plus the young generation's share.
    expect(line['heapLimitMb']).toBeGreaterThanOrEqual(100);
    expect(line['heapLimitMb']).toBeLessThan(140);
    expect(runtimeLine([])['execArgv']).toEqual([]);
  });
});
