/**
 * npm run soak: `scaph run` for a long while (10 minutes by default) with three push transports whose
 * backends are killed and restarted at random moments, and the agent itself SIGKILLed and restarted twice
 * (every exporter with a disk spool). At the end every backend is up; once the backlog has drained the
 * agent is stopped, and the soak reports, per backend, what was sampled against what arrived (lost must be
 * 0), how soon each backend got data again after each of its restarts (median and max; bound max(5 s,
 * step)), and the agent's RSS over time (flat). Not part of `npm test`: it takes minutes.
 *
 *   node dist/bench/soak/soak.js [--minutes 10] [--step 1] [--seed N] [--out DIR]
 *
 * Exit 0 when nothing was lost and every recovery came within the bound, 1 otherwise.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { DEFAULT_OUT_DIR } from '../paths.js';
import { SoakAgent } from './agent.js';
import { startBackends, type SoakBackend } from './backends.js';
import { makePlan, type SoakPlan } from './plan.js';
import { summarizeRecoveries, watchRecovery, type RecoveryMeasure } from './recovery.js';
import { deliveryRows, recoveryBoundMs, renderReport, rssSummary, type SoakReport } from './report.js';

const log = (line: string): void => void process.stderr.write(`soak: ${line}\n`);

/** What measuring adds to a recovery figure: the 200 ms poll and one read of the backend (VictoriaMetrics: flush + export). */
const RECOVERY_SLACK_MS = 1_000;

interface SoakArgs {
  readonly minutes: number;
  readonly stepS: number;
  readonly seed: number;
  readonly outDir: string;
}

function parse(argv: readonly string[]): SoakArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: { minutes: { type: 'string', default: '10' }, step: { type: 'string', default: '1' }, seed: { type: 'string' }, out: { type: 'string', default: DEFAULT_OUT_DIR } },
  });
  const minutes = Number(values.minutes);
  const stepS = Number(values.step);
  if (!(minutes > 0) || !(stepS > 0)) throw new Error('--minutes and --step take positive numbers');
  return { minutes, stepS, seed: values.seed === undefined ? Date.now() % 1_000_000 : Number(values.seed), outDir: values.out };
}

/**
 * Runs the plan's kills and restarts at their times, probing the agent's RSS every 5 s meanwhile. Each
 * restart starts a watch of the backend's recovery; their measures come back once all are done.
 */
async function runPlan(plan: SoakPlan, backends: readonly SoakBackend[], agent: SoakAgent, t0: number): Promise<() => Promise<RecoveryMeasure[]>> {
  const events: Array<{ atMs: number; what: string; run: () => Promise<void> }> = [];
  const recoveries: Array<Promise<RecoveryMeasure>> = [];
  for (const b of backends) {
    let downAt = 0;
    for (const o of plan.outages[b.name] ?? []) {
      events.push({ atMs: o.startMs, what: `kill ${b.name}`, run: async () => {
        await setUp(b, false);
        downAt = Date.now();
      } });
      events.push({ atMs: o.endMs, what: `restart ${b.name}`, run: async () => {
        await setUp(b, true);
        recoveries.push(watchRecovery(b, agent, t0, downAt, Date.now(), plan.agentKills));
      } });
    }
  }
  for (const k of plan.agentKills) {
    events.push({ atMs: k.startMs, what: 'SIGKILL the agent', run: () => agent.kill() });
    events.push({ atMs: k.endMs, what: 'restart the agent', run: async () => agent.start() });
  }
  events.sort((a, b) => a.atMs - b.atMs);
  const probe = setInterval(() => agent.probeRss(), 5000);
  try {
    for (const e of events) {
      const wait = t0 + e.atMs - Date.now();
      if (wait > 0) await sleep(wait);
      log(`${((Date.now() - t0) / 1000).toFixed(0)} s: ${e.what}`);
      await e.run();
    }
    await sleep(Math.max(0, t0 + plan.durationMs - Date.now()));
  } finally {
    clearInterval(probe);
  }
  return () => Promise.all(recoveries);
}

async function setUp(b: SoakBackend, up: boolean): Promise<void> {
  if (b.up === up) return;
  if (up) await b.restart();
  else await b.kill();
  b.up = up;
}

/** Waits (up to 3 minutes) until every backend holds every sample. */
async function drain(agent: SoakAgent, backends: readonly SoakBackend[]): Promise<void> {
  const until = Date.now() + 180_000;
  for (;;) {
    const sampled = agent.sampled();
    const held = await Promise.all(
      backends.map(async (b) => {
        const delivered = await b.delivered();
        return sampled.filter((t) => delivered.has(t)).length;
      }),
    );
    log(`draining: ${held.map((n, i) => `${backends[i]?.name} ${n}/${sampled.length}`).join(', ')}`);
    if (held.every((n) => n === sampled.length) || Date.now() > until) return;
    await sleep(5000);
  }
}

async function main(): Promise<number> {
  const args = parse(process.argv.slice(2));
  const workDir = mkdtempSync(join(tmpdir(), 'scaph-soak-'));
  const backends = await startBackends();
  const plan = makePlan(args.minutes * 60_000, args.seed, backends.map((b) => b.name));
  log(`${args.minutes} min, step ${args.stepS} s, seed ${plan.seed}; work dir ${workDir}`);
  const t0 = Date.now();
  const agent = new SoakAgent(workDir, backends, args.stepS, t0);
  try {
    agent.start();
    const recoveries = await runPlan(plan, backends, agent, t0);
    for (const b of backends) await setUp(b, true);
    await drain(agent, backends);
    const recoveryMeasures = await recoveries();
    agent.probeRss();
    const exitCode = await agent.stop();
    const sampled = agent.sampled();
    const delivered = await Promise.all(backends.map((b) => b.delivered()));
    const report: SoakReport = {
      minutes: args.minutes,
      stepS: args.stepS,
      seed: plan.seed,
      plan,
      agentExitCode: exitCode,
      delivery: deliveryRows(sampled, backends.map((b, i) => ({ name: b.name, delivered: delivered[i] ?? new Map() })), plan, t0),
      rss: rssSummary(agent.rss, args.minutes),
      recovery: summarizeRecoveries(recoveryMeasures, backends.map((b) => b.name)),
      agentLog: agent.logSummary(),
    };
    mkdirSync(args.outDir, { recursive: true });
    writeFileSync(join(args.outDir, 'soak.json'), `${JSON.stringify({ ...report, rssPoints: agent.rss, recoveryMeasures }, null, 1)}\n`);
    process.stdout.write(renderReport(report));
    const lost = report.delivery.reduce((n, r) => n + r.lost, 0);
    const late = report.recovery.filter((r) => r.restarts > 0 && !(r.firstMaxMs <= recoveryBoundMs(args.stepS) + RECOVERY_SLACK_MS)).length;
    return lost === 0 && late === 0 && exitCode === 0 ? 0 : 1;
  } finally {
    await agent.kill();
    await Promise.all(backends.map((b) => b.dispose()));
    rmSync(workDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`soak: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
