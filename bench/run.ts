/**
 * npm run bench: scaph against the floor and its peers, measured side by side in one run.
 * Prints a table to stdout, writes results.json (default bench/out/), and says which goals it meets.
 *
 *   node dist/bench/run.js [--quick] [--out DIR] [--only sampling,encoding,steady]
 *
 * --quick uses tiny sizes and short windows: it proves the bench runs end to end, not the goals.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runEncoding } from './encoding/section.js';
import { DEFAULT_OUT_DIR } from './paths.js';
import type { BenchResults, Goal } from './results.js';
import { runSampling, type SamplingPlan } from './sampling/section.js';
import { runSteadyState } from './steady/section.js';
import { round } from './stats.js';
import { renderTable } from './table.js';

const SECTIONS = ['sampling', 'encoding', 'steady'] as const;
type Section = (typeof SECTIONS)[number];

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function samplingPlan(quick: boolean, outDir: string): SamplingPlan {
  if (quick) {
    return {
      syntheticSizes: [20, 60], rounds: 2, warmups: 1, outDir, log,
      passesFor: () => 3, peerScrapesFor: () => 1,
    };
  }
  return {
    syntheticSizes: [1000, 10_000], rounds: 5, warmups: 3, outDir, log,
    passesFor: (n) => (n >= 10_000 ? 5 : n >= 1000 ? 20 : 40),
    peerScrapesFor: (n) => (n >= 10_000 ? 3 : n >= 1000 ? 5 : 10),
  };
}

function skippedByFlag(section: Section): { skipped: string } {
  return { skipped: `skipped: not selected (--only without ${section})` };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, out: { type: 'string' }, only: { type: 'string' } },
  });
  const quick = values.quick === true;
  const outDir = values.out ?? DEFAULT_OUT_DIR;
  const only = new Set((values.only ?? SECTIONS.join(',')).split(',').map((s) => s.trim()));
  mkdirSync(outDir, { recursive: true });
  const startedAt = new Date();
  const loadavgAtStart = loadavg().map((l) => round(l, 2));
  const goals: Goal[] = [];

  let cCompiler: string | null = null;
  let sampling: BenchResults['sampling'] = skippedByFlag('sampling');
  if (only.has('sampling')) {
    const result = await runSampling(samplingPlan(quick, outDir));
    sampling = result.section;
    cCompiler = result.cCompiler;
    goals.push(...result.goals);
  }
  let encoding: BenchResults['encoding'] = skippedByFlag('encoding');
  if (only.has('encoding')) {
    const result = await runEncoding({ quick, log });
    encoding = result.section;
    goals.push(...result.goals);
  }
  let steadyState: BenchResults['steadyState'] = skippedByFlag('steady');
  if (only.has('steady')) {
    const result = await runSteadyState({ quick, outDir, log });
    steadyState = result.section;
    goals.push(...result.goals);
  }

  const results: BenchResults = {
    version: 1,
    quick,
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    environment: { node: process.version, cpus: cpus().length, loadavgAtStart, cCompiler },
    sampling,
    encoding,
    steadyState,
    goals,
  };
  const outFile = join(outDir, 'results.json');
  writeFileSync(outFile, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(renderTable(results));
  process.stdout.write(`results: ${outFile}\n`);
}

main().catch((err: unknown) => {
  log(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
});
