/**
 * npm run bench: scaph against the floor and its peers, measured side by side in one run.
 * Prints a table to stdout, writes results.json (default bench/out/), and says which goals it meets.
 *
 *   node dist/bench/run.js [--quick] [--out DIR] [--only sampling,encoding,steady,executable,scale] [--scale-sizes N,N] [--help]
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
import { runScale } from './scale/section.js';
import { runExecutableSection, runSteadyState } from './steady/section.js';
import { round } from './stats.js';
import { renderTable } from './table.js';

const SECTIONS = ['sampling', 'encoding', 'steady', 'executable', 'scale'] as const;
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

const USAGE = `usage: npm run bench -- [--quick] [--out DIR] [--only SECTIONS] [--scale-sizes N,N,...]

Measures scaph against the floor and its peers in one run; prints a table, writes DIR/results.json and
says which goals it meets.

  --quick          tiny sizes and short windows: proves the bench runs end to end, not the goals
  --out DIR        where results.json (and the C reader, when compiled) go (default ${DEFAULT_OUT_DIR})
  --only SECTIONS  comma-separated: ${SECTIONS.join(', ')} (default: all)
  --scale-sizes N,N,...
                   the scale section's tree sizes, in processes (default 500,2000,5000,10000; --quick 20,60)
  -h, --help       this text
`;

/** A bad command line: said in one line with the usage, exit 2, no stack trace. */
class UsageError extends Error {}

interface BenchArgs {
  readonly quick: boolean;
  readonly outDir: string;
  readonly only: ReadonlySet<Section>;
  readonly scaleSizes: readonly number[] | undefined;
}

function parseBenchArgs(argv: readonly string[]): BenchArgs | 'help' {
  let values: { quick?: boolean; out?: string; only?: string; 'scale-sizes'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        quick: { type: 'boolean', default: false },
        out: { type: 'string' },
        only: { type: 'string' },
        'scale-sizes': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  if (values.help === true) return 'help';
  const names = (values.only ?? SECTIONS.join(',')).split(',').map((s) => s.trim()).filter((s) => s !== '');
  const unknown = names.filter((n) => !(SECTIONS as readonly string[]).includes(n));
  if (unknown.length > 0 || names.length === 0) {
    throw new UsageError(`--only: unknown section ${unknown.map((n) => `"${n}"`).join(', ') || '(none given)'}; choose from ${SECTIONS.join(', ')}`);
  }
  return { quick: values.quick === true, outDir: values.out ?? DEFAULT_OUT_DIR, only: new Set(names as Section[]), scaleSizes: scaleSizes(values['scale-sizes']) };
}

function scaleSizes(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  const sizes = text.split(',').map((s) => s.trim());
  const bad = sizes.filter((s) => !/^[1-9]\d{0,5}$/.test(s));
  if (bad.length > 0 || sizes.length === 0) throw new UsageError(`--scale-sizes: ${bad.map((b) => `"${b}"`).join(', ') || '(none given)'} is not a process count (1 to 999999)`);
  return [...new Set(sizes.map(Number))];
}

function skippedByFlag(section: Section): { skipped: string } {
  return { skipped: `skipped: not selected (--only without ${section})` };
}

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2));
  if (args === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const { quick, outDir, only, scaleSizes: sizes } = args;
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
  let executable: BenchResults['executable'] = skippedByFlag('executable');
  if (only.has('executable')) {
    const result = await runExecutableSection({ quick, outDir, log });
    executable = result.section;
    goals.push(...result.goals);
  }

  let scale: BenchResults['scale'] = skippedByFlag('scale');
  if (only.has('scale')) {
    const result = await runScale({ quick, log, ...(sizes === undefined ? {} : { sizes }) });
    scale = result.section;
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
    executable,
    scale,
    goals,
  };
  const outFile = join(outDir, 'results.json');
  writeFileSync(outFile, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(renderTable(results));
  process.stdout.write(`results: ${outFile}\n`);
}

main().catch((err: unknown) => {
  if (err instanceof UsageError) {
    log(`bench: ${err.message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  log(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
});
