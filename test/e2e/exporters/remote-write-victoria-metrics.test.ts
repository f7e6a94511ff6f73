import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/core/log.js';
import { MetricsView } from '../../../src/core/metrics-view.js';
import { DEFAULT_HOLD_STEPS } from '../../../src/core/process-selection.js';
import type { Sample } from '../../../src/core/sample.js';
import { createPushExporter } from '../../../src/delivery/push-exporter.js';
import { RemoteWriteTransport } from '../../../src/exporters/remote-write/transport.js';
import { selectionOptions } from '../../support/fixtures/selection.js';
import { syntheticSample } from '../../support/fixtures/synthetic-sample.js';
import type { ManagedServer } from '../../support/servers/managed-server.js';
import { startVictoriaMetrics, vmExport, type VmSeries } from '../../support/servers/victoria-metrics.js';
import { HOSTNAME, hostPowerUw, makeExporter, runSteps } from '../../support/harness/remote-write.js';

let vm: ManagedServer;

beforeAll(async () => {
  vm = await startVictoriaMetrics();
}, 90_000);

afterAll(async () => {
  await vm?.dispose();
});

const writeUrl = () => `${vm.baseUrl}/api/v1/write`;

describe('remote-write to a real VictoriaMetrics', () => {
  it('stores every step: series, labels and exact host power', async () => {
    const ex = makeExporter(writeUrl(), {}, { job: 'scaph-basic' });
    await ex.start();
    const steps = 6;
    const { timestampsMs } = await runSteps(ex, steps, 500);
    await ex.idle();
    await ex.stop(5000);
    const host = await vmExport(vm, 'scaph_host_power_microwatts{job="scaph-basic"}', steps);
    expect(host.length).toBe(1);
    expect(host[0]?.labels).toEqual({
      __name__: 'scaph_host_power_microwatts',
      dc: 'test-dc',
      instance: HOSTNAME,
      job: 'scaph-basic',
      value_source: 'powercap_rapl_pkg',
    });
    expect(host[0]?.points).toEqual(timestampsMs.map((t, i) => ({ timestampMs: t, value: hostPowerUw(i) })));
    const domains = await vmExport(vm, 'scaph_domain_power_microwatts{job="scaph-basic"}');
    expect(domains.map((d) => `${d.labels['socket_id']}/${d.labels['domain_name']}`).sort()).toEqual(['0/dram', '1/dram']);
    const sent = await vmExport(vm, 'scaph_delivery_samples_sent_total{job="scaph-basic",transport="remote-write"}');
    expect(sent.length).toBe(1);
    expect(ex.stats.sent).toBe(steps);
  });
});

/*
 * Process selection against a real VictoriaMetrics: two processes trade the N-th rank every two steps
 * for 30 steps. With the default hold (5 steps) each keeps one series from start to end; with no hold, or
 * one shorter than their turns, every turn starts series again (the churn that makes a TSDB slow and
 * expensive). Series starts are counted from what VictoriaMetrics stored. And on what it stored, the
 * selected processes' power plus the others power is every process's power, exactly, at every step.
 */
const STEPS = 30;
const STEP_MS = 2000;
/** Recent enough for VictoriaMetrics to keep, written at once (it accepts any order). */
const T0 = Math.floor((Date.now() - 10 * 60_000) / STEP_MS) * STEP_MS;

/**
 * Processes of step i: pid 100 leads, pids 201 and 202 take turns at the 2nd rank every 2 steps, 20 idle
 * ones below. Each energy counter grows by its power × the step.
 */
function processesAt(i: number): { pid: number; exe: string; powerUw: number; energyUj: number }[] {
  const energyUj = new Map<number, number>();
  for (let k = 0; k <= i; k++) for (const p of powersAt(k)) energyUj.set(p.pid, (energyUj.get(p.pid) ?? 0) + (p.powerUw * STEP_MS) / 1000);
  return powersAt(i).map((p) => ({ ...p, energyUj: energyUj.get(p.pid) as number }));
}

function powersAt(i: number): { pid: number; exe: string; powerUw: number }[] {
  const aLeads = Math.floor(i / 2) % 2 === 0;
  return [
    { pid: 100, exe: 'leader', powerUw: 20_000_000 },
    { pid: 201, exe: 'duel-a', powerUw: aLeads ? 3_000_000 + i : 2_000_000 + i },
    { pid: 202, exe: 'duel-b', powerUw: aLeads ? 2_000_000 + i : 3_000_000 + i },
    ...Array.from({ length: 20 }, (_, k) => ({ pid: 300 + k, exe: `idle-${k}`, powerUw: 1_000 * k + i })),
  ];
}

function sampleAt(i: number): Sample {
  return syntheticSample({ timestampMs: T0 + i * STEP_MS, intervalMs: STEP_MS, processes: processesAt(i) });
}

/** Sends the 30 steps through remote-write with top 2 and the given hold; the job label tells the runs apart. */
async function pushRun(job: string, holdSteps: number): Promise<void> {
  const ex = createPushExporter(new RemoteWriteTransport({ url: `${vm.baseUrl}/api/v1/write`, version: 't', timeoutMs: 5000, job, instance: 'h', extraLabels: {} }), {
    logger: silentLogger(),
    view: new MetricsView({ selection: selectionOptions({ maxTopConsumers: 2, holdSteps }) }),
    backoff: { minDelayMs: 100, maxDelayMs: 1000 },
  });
  await ex.start();
  for (let i = 0; i < STEPS; i++) ex.export(sampleAt(i));
  await ex.idle();
  await ex.stop(5000);
  expect(ex.stats.sent).toBe(STEPS);
}

/** Step indexes at which a series has a (non-stale) value. */
function steps(series: VmSeries): number[] {
  return series.points.filter((p) => Number.isFinite(p.value)).map((p) => (p.timestampMs - T0) / STEP_MS);
}

/** How many times a series starts: its first point, and every point after a step without one. */
function seriesStarts(series: VmSeries): number {
  return steps(series).filter((s, k, all) => k === 0 || all[k - 1] !== s - 1).length;
}

interface RunFigures {
  readonly series: number;
  readonly starts: number;
  readonly startsByPid: Record<string, number>;
  /** Staleness markers stored: one per time a series ended. */
  readonly ends: number;
}

async function figures(job: string): Promise<RunFigures> {
  const rows = await vmExport(vm, `scaph_process_power_consumption_microwatts{job="${job}"}`);
  const startsByPid: Record<string, number> = {};
  for (const r of rows) startsByPid[r.labels['pid'] ?? '?'] = seriesStarts(r);
  const ends = rows.reduce((n, r) => n + r.points.filter((p) => Number.isNaN(p.value)).length, 0);
  return { series: rows.length, starts: Object.values(startsByPid).reduce((a, b) => a + b, 0), startsByPid, ends };
}

describe('process selection on a real VictoriaMetrics (30 steps, top 2, two processes trading the 2nd rank)', () => {
  it('the default hold keeps one series per process; without a hold (or a short one) the turns make series flap', async () => {
    const hold = DEFAULT_HOLD_STEPS;
    await Promise.all([pushRun('sel-hold-0', 0), pushRun('sel-hold-1', 1), pushRun(`sel-hold-${hold}`, hold)]);
    // Wait until VictoriaMetrics has made every step searchable.
    await vmExport(vm, `scaph_process_others_count{job="sel-hold-${hold}"}`, STEPS);
    await vmExport(vm, 'scaph_process_others_count{job="sel-hold-0"}', STEPS);
    await vmExport(vm, 'scaph_process_others_count{job="sel-hold-1"}', STEPS);
    const stable = await figures(`sel-hold-${hold}`);
    const none = await figures('sel-hold-0');
    const short = await figures('sel-hold-1');
    console.log(`series starts over ${STEPS} steps: hold ${hold} ${stable.starts}, hold 1 ${short.starts}, hold 0 ${none.starts}`);
    // Held: the leader and both duelists, each started once and sent to the end, never ended.
    expect(stable).toEqual({ series: 3, starts: 3, startsByPid: { '100': 1, '201': 1, '202': 1 }, ends: 0 });
    // Each turn of 2 steps starts the duelist's series again (8 + 7 turns, plus the leader), and each
    // leave stored a staleness marker (7 + 7): the series flap.
    expect(none).toEqual({ series: 3, starts: 16, startsByPid: { '100': 1, '201': 8, '202': 7 }, ends: 14 });
    expect(short).toEqual({ series: 3, starts: 16, startsByPid: { '100': 1, '201': 8, '202': 7 }, ends: 14 });
  });

  it('stores selected + others = every process, exactly, at every step', async () => {
    const job = `sel-hold-${DEFAULT_HOLD_STEPS}`;
    const processes = await vmExport(vm, `scaph_process_power_consumption_microwatts{job="${job}"}`);
    const [others] = await vmExport(vm, `scaph_process_others_power_microwatts{job="${job}"}`, STEPS);
    const [count] = await vmExport(vm, `scaph_process_others_count{job="${job}"}`, STEPS);
    expect(others?.points).toHaveLength(STEPS);
    for (let i = 0; i < STEPS; i++) {
      const t = T0 + i * STEP_MS;
      const selected = processes.flatMap((s) => s.points.filter((p) => p.timestampMs === t && Number.isFinite(p.value)));
      const all = processesAt(i).reduce((sum, p) => sum + p.powerUw, 0);
      expect(selected.reduce((sum, p) => sum + p.value, 0) + (others?.points[i]?.value ?? Number.NaN)).toBe(all);
      expect(selected.length + (count?.points[i]?.value ?? Number.NaN)).toBe(23);
    }
    // Energy, as stored: the last value of each process's series (from the first step, the baseline, for
    // one not sent yet) + the others counter = every process's counter, exactly, at every step. pid 202
    // was out at step 1, so its series holds its counter less that step's 4 J.
    const [energy] = await vmExport(vm, `scaph_process_others_energy_microjoules{job="${job}"}`, STEPS);
    const series = await vmExport(vm, `scaph_process_energy_microjoules{job="${job}"}`);
    const last = new Map(processesAt(0).map((p) => [String(p.pid), p.energyUj]));
    for (let i = 0; i < STEPS; i++) {
      const t = T0 + i * STEP_MS;
      for (const s of series) for (const p of s.points) if (p.timestampMs === t && Number.isFinite(p.value)) last.set(s.labels['pid'] ?? '?', p.value);
      const all = processesAt(i).reduce((sum, p) => sum + p.energyUj, 0);
      expect([...last.values()].reduce((a, b) => a + b, energy?.points[i]?.value ?? Number.NaN)).toBe(all);
    }
    const duelB = processesAt(STEPS - 1).find((p) => p.pid === 202)?.energyUj as number;
    expect(last.get('202')).toBe(duelB - (2_000_000 + 1) * 2);
  });
});
