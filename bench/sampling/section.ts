/**
 * Section 1: sampling cost per process — the C floor, scaph's per-step sampling and
 * prometheus-process-exporter over the same trees (the real /proc and synthetic trees). The C floor
 * and scaph run in interleaved rounds so load from other work on the box hits both alike; each
 * round gives one scaph/C ratio and the section reports the median ratio.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcfsTree, generateProcesses } from '../../test/support/fixtures/procfs-tree.js';
import type { Goal, SamplingRow, SamplingSection, Skipped, Timing } from '../results.js';
import { isSkipped } from '../results.js';
import { median, round } from '../stats.js';
import { compileCFloor, runCFloor, type CFloor } from './c-floor.js';
import { addPeerFiles } from './peer-tree.js';
import { ProcessExporterPeer } from './process-exporter.js';
import { ScaphSampler } from './scaph-sampling.js';

export interface SamplingPlan {
  /** Sizes of the synthetic trees, small then large (the linearity ratio compares the two). */
  readonly syntheticSizes: readonly [number, number];
  readonly rounds: number;
  /** Timed passes per round, by tree size (fewer for bigger trees). */
  readonly passesFor: (processes: number) => number;
  readonly peerScrapesFor: (processes: number) => number;
  readonly warmups: number;
  readonly outDir: string;
  readonly log: (line: string) => void;
}

interface TreeUnderTest {
  readonly label: string;
  readonly root: string;
  readonly expected: number | null;
}

export const GOAL_SAMPLING_RATIO = 1.3;

export async function runSampling(plan: SamplingPlan): Promise<{ section: SamplingSection; goals: Goal[]; cCompiler: string | null }> {
  const floor = compileCFloor(plan.outDir);
  if (typeof floor === 'string') plan.log(`sampling: C floor ${floor}`);
  const rows: SamplingRow[] = [];
  rows.push(await measureTree({ label: 'real /proc', root: '/proc', expected: null }, floor, plan));
  for (const size of plan.syntheticSizes) {
    const tree = ProcfsTree.create({ processes: generateProcesses(size), cpuCount: 2 });
    try {
      addPeerFiles(tree.root);
      rows.push(await measureTree({ label: `synthetic ${size}`, root: tree.root, expected: size }, floor, plan));
    } finally {
      tree.cleanup();
    }
  }
  const [small, large] = [rows[1] as SamplingRow, rows[2] as SamplingRow];
  const section: SamplingSection = {
    rows,
    linearity: {
      scaph: round(large.scaph.usPerProcess / small.scaph.usPerProcess),
      cFloor: perProcessRatio(large.cFloor, small.cFloor),
      peer: perProcessRatio(large.peer, small.peer),
    },
  };
  const goals = [small, large].map((row): Goal => ({
    id: `sampling-vs-c-${row.processes}`,
    description: `scaph sampling step per process at ${row.processes} processes vs the C floor`,
    measured: row.scaphToC,
    target: `<= ${GOAL_SAMPLING_RATIO}x`,
    met: row.scaphToC === null ? null : row.scaphToC <= GOAL_SAMPLING_RATIO,
    ...(row.scaphToC === null ? { note: (row.cFloor as Skipped).skipped } : {}),
  }));
  return { section, goals, cCompiler: typeof floor === 'string' ? null : floor.compiler };
}

async function measureTree(tree: TreeUnderTest, floor: CFloor | string, plan: SamplingPlan): Promise<SamplingRow> {
  const passes = plan.passesFor(tree.expected ?? 100);
  const sampler = new ScaphSampler(tree.root);
  await sampler.start(plan.warmups);
  const scaphNs: number[] = [];
  const cNs: number[] = [];
  const ratios: number[] = [];
  let cProcesses = 0;
  for (let r = 0; r < plan.rounds; r++) {
    if (typeof floor !== 'string') {
      const c = runCFloor(floor, tree.root, passes);
      cNs.push(c.medianNsPerPass);
      cProcesses = c.processes;
    }
    const s = await sampler.measure(passes);
    scaphNs.push(s);
    if (cNs.length > 0) ratios.push(s / (cNs[cNs.length - 1] as number));
  }
  await sampler.close();
  const processes = tree.expected ?? sampler.processes;
  if (tree.expected !== null && sampler.processes !== tree.expected) {
    throw new Error(`scaph sampled ${sampler.processes} processes in ${tree.label}, expected ${tree.expected}`);
  }
  const scaph = timing(median(scaphNs), processes, passes * plan.rounds);
  const cFloor: Timing | Skipped =
    typeof floor === 'string' ? { skipped: floor } : timing(median(cNs), cProcesses || processes, passes * plan.rounds);
  const peer = await measurePeer(tree, processes, plan);
  const row: SamplingRow = {
    tree: tree.label,
    processes,
    cFloor,
    scaph,
    peer,
    scaphToC: ratios.length > 0 ? round(median(ratios)) : null,
    peerToScaph: isSkipped(peer) ? null : round(peer.usPerProcess / scaph.usPerProcess),
  };
  plan.log(`sampling: ${tree.label}: scaph ${scaph.usPerProcess} µs/process, scaph/C ${row.scaphToC ?? 'n/a'}`);
  return row;
}

async function measurePeer(tree: TreeUnderTest, processes: number, plan: SamplingPlan): Promise<Timing | Skipped> {
  const workDir = mkdtempSync(join(tmpdir(), 'scaph-bench-peer-'));
  const peer = await ProcessExporterPeer.start(tree.root, workDir);
  try {
    if (typeof peer === 'string') return { skipped: peer };
    const scrapes = plan.peerScrapesFor(processes);
    const { medianNs, groups } = await peer.measure(1, scrapes);
    if (tree.expected !== null && groups !== tree.expected) {
      return { skipped: `skipped: process-exporter reported ${groups} processes of ${tree.expected}` };
    }
    return timing(medianNs, tree.expected ?? groups, scrapes);
  } finally {
    if (typeof peer !== 'string') peer.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

function timing(medianNsPerPass: number, processes: number, passes: number): Timing {
  return {
    usPerPass: round(medianNsPerPass / 1000),
    usPerProcess: round(medianNsPerPass / 1000 / Math.max(1, processes)),
    passes,
  };
}

function perProcessRatio(large: Timing | Skipped, small: Timing | Skipped): number | null {
  if (isSkipped(large) || isSkipped(small)) return null;
  return round(large.usPerProcess / small.usPerProcess);
}
