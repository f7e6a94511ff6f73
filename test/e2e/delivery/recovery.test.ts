/**
 * Recovery latency, measured per transport kind against real or protocol-faithful backends: remote-write
 * to a real Prometheus and a real VictoriaMetrics, Riemann and Warp 10 to the test servers, the real
 * Pushgateway. Each kind runs outages of 3 s, 12 s and 45 s at once (one backend each), with the
 * exporter built by its command from the command line a user would type (default backoff, 1 s step), and
 * asserts the documented bound: the first sample taken during the outage is stored within max(5 s, step)
 * of the backend's return (the jitter only shortens waits), plus the measurement's own slack; then the
 * backlog goes out back to back (faster than one request per step), every sample once, in order. The
 * five kinds run concurrently: the file takes about as long as its longest outage (~1 minute).
 */
import { describe, expect, it } from 'vitest';
import { PUSH_DEFAULTS, type PushExporter } from '../../../src/delivery/push-exporter.js';
import { prometheusPushCommand } from '../../../src/exporters/pushgateway/command.js';
import { remoteWriteCommand } from '../../../src/exporters/remote-write/command.js';
import { riemannCommand } from '../../../src/exporters/riemann/command.js';
import { warp10Command } from '../../../src/exporters/warp10/command.js';
import type { CommandPlan } from '../../support/fixtures/command-plan.js';
import type { ManagedServer } from '../../support/servers/managed-server.js';
import { promRawSamples, startPrometheus } from '../../support/servers/prometheus.js';
import { pushgatewayGroups, startPushgateway } from '../../support/servers/pushgateway.js';
import { FakeRiemannServer } from '../../support/servers/riemann.js';
import { startVictoriaMetrics, vmExport } from '../../support/servers/victoria-metrics.js';
import { Warp10TestServer } from '../../support/servers/warp10.js';
import {
  AGENT_HOST,
  describeRecovery,
  HOST_SERIES,
  hostPowerUw,
  measureRecovery,
  planFor,
  rankOf,
  type Recovery,
  type RecoveryBackend,
  type StoredPoint,
} from '../../support/harness/recovery.js';

const OUTAGES_MS = [3_000, 12_000, 45_000] as const;
const STEP_MS = 1000;
/** The documented bound: max(5 s, step). */
const BOUND_MS = Math.max(5_000, STEP_MS);
/** What the measurement adds: the 100 ms poll of the backend, the query, the request itself on a busy box. */
const MEASURE_SLACK_MS = 1_000;
const TEST_MS = 180_000;

function managedBackend(server: ManagedServer, stored: RecoveryBackend['stored']): RecoveryBackend {
  return { stop: () => server.stop(), start: () => server.start(), stored };
}

/** Runs the three outages at once, one backend each, prints the figures and checks them. */
async function threeOutages(what: string, one: (outageMs: number) => Promise<Recovery>, opts: { latestOnly?: boolean } = {}): Promise<void> {
  const results = await Promise.all(OUTAGES_MS.map(one));
  for (const r of results) console.info(describeRecovery(what, r, BOUND_MS));
  for (const r of results) {
    const outage = `${what}, ${r.outageMs / 1000} s outage`;
    expect(r.firstMs, `${outage}: first stored sample vs max(5 s, step)`).toBeLessThanOrEqual(BOUND_MS + MEASURE_SLACK_MS);
    expect(r.firstAckMs, `${outage}: first acknowledged request vs max(5 s, step)`).toBeLessThanOrEqual(BOUND_MS + MEASURE_SLACK_MS);
    // While down, the self-metric said when the next attempt would come, never beyond the bound.
    expect(r.gaugeMaxS).toBeGreaterThan(0);
    expect(r.gaugeMaxS).toBeLessThanOrEqual(BOUND_MS / 1000);
    if (opts.latestOnly) continue;
    // The backlog at the transport's full rate: one request after the other, not one per step.
    const requests = Math.ceil(r.backlog / PUSH_DEFAULTS.maxSamplesPerSend);
    const onePerStepMs = Math.max(1, requests - 1) * STEP_MS;
    expect(r.drainAckMs, `${outage}: ${r.backlog} samples in ${requests} requests, acknowledged`).toBeLessThan(onePerStepMs);
    expect(r.fullMs - r.firstMs, `${outage}: ${r.backlog} samples in ${requests} requests, stored`).toBeLessThan(onePerStepMs);
    expect(r.backlog).toBeGreaterThanOrEqual(Math.floor(r.outageMs / STEP_MS) - 1);
    // Every sample once, in the order taken, with its own value.
    expect(r.finalStored.map((p) => p.timestampMs)).toEqual(r.exportedMs);
    expect(r.finalStored.map((p) => p.powerUw)).toEqual(r.exportedMs.map((_, i) => hostPowerUw(i)));
  }
}

/** Starts the plan's exporter, measures one outage, and checks nothing was given up on (latest wins: only replaced). */
async function pushRun(backend: RecoveryBackend, plan: CommandPlan, push: PushExporter, outageMs: number, latestOnly = false): Promise<Recovery> {
  await plan.exporter.start();
  const r = await measureRecovery({ backend, exporter: plan.exporter, push, stepMs: STEP_MS, outageMs, latestOnly });
  const { dropped } = push.stats.snapshot();
  expect(latestOnly ? { ...dropped, queue_full: 0 } : dropped).toEqual(latestOnly ? { queue_full: 0 } : {});
  return r;
}

async function remoteWriteRun(server: ManagedServer, stored: RecoveryBackend['stored'], outageMs: number): Promise<Recovery> {
  try {
    const plan = await planFor(remoteWriteCommand, ['-u', `${server.baseUrl}/api/v1/write`, '-S', String(STEP_MS / 1000)]);
    return await pushRun(managedBackend(server, stored), plan, plan.exporter as PushExporter, outageMs);
  } finally {
    await server.dispose();
  }
}

describe.concurrent('recovery after an outage of 3, 12 and 45 s: first send within max(5 s, step), then the backlog at full rate', () => {
  it('remote-write to a real Prometheus', async () => {
    await threeOutages('remote-write → Prometheus', async (outageMs) => {
      const prom = await startPrometheus();
      const stored = async (): Promise<StoredPoint[]> =>
        (await promRawSamples(prom, HOST_SERIES, Date.now() + 1000, 900)).flatMap((s) => s.points.map((p) => ({ timestampMs: p.timestampMs, powerUw: p.value })));
      return remoteWriteRun(prom, stored, outageMs);
    });
  }, TEST_MS);

  it('remote-write to a real VictoriaMetrics', async () => {
    await threeOutages('remote-write → VictoriaMetrics', async (outageMs) => {
      const vm = await startVictoriaMetrics();
      const stored = async (): Promise<StoredPoint[]> =>
        (await vmExport(vm, HOST_SERIES)).flatMap((s) => s.points.map((p) => ({ timestampMs: p.timestampMs, powerUw: p.value })));
      return remoteWriteRun(vm, stored, outageMs);
    });
  }, TEST_MS);

  it('riemann to the test server (reconnects)', async () => {
    await threeOutages('riemann → test server', async (outageMs) => {
      const server = await FakeRiemannServer.start();
      try {
        const plan = await planFor(riemannCommand, ['-a', '127.0.0.1', '-p', String(server.port), '-d', String(STEP_MS / 1000)]);
        const backend: RecoveryBackend = {
          stop: () => server.stop(),
          start: () => server.restart(),
          stored: async () =>
            server.events.filter((e) => e.service === HOST_SERIES).map((e) => ({ timestampMs: Math.round((e.timeMicros ?? 0) / 1000), powerUw: e.metric ?? Number.NaN })),
        };
        const r = await pushRun(backend, plan, plan.exporter as PushExporter, outageMs);
        // One connection before the outage, one after: reconnected on the first attempt that found the server.
        expect(server.counts.connections).toBe(2);
        return r;
      } finally {
        await server.stop();
      }
    });
  }, TEST_MS);

  it('warp10 to the test server', async () => {
    await threeOutages('warp10 → test server', async (outageMs) => {
      const server = await Warp10TestServer.start({ writeTokens: ['recovery-token'] });
      try {
        const plan = await planFor(warp10Command, ['-H', '127.0.0.1', '-p', String(server.port), '-S', String(STEP_MS / 1000), '-t', 'recovery-token']);
        const backend: RecoveryBackend = {
          stop: () => server.stop(),
          start: () => server.restart(),
          stored: async () => server.series(HOST_SERIES).map((p) => ({ timestampMs: Math.round(p.timestampUs / 1000), powerUw: Number(p.value) })),
        };
        return await pushRun(backend, plan, plan.exporter as PushExporter, outageMs);
      } finally {
        await server.stop();
      }
    });
  }, TEST_MS);

  it('prometheus-push to a real Pushgateway (latest wins: the newest sample, within the bound)', async () => {
    await threeOutages(
      'prometheus-push → Pushgateway',
      async (outageMs) => {
        const pg = await startPushgateway();
        try {
          const plan = await planFor(prometheusPushCommand, ['-H', '127.0.0.1', '-p', String(pg.port), '-s', String(STEP_MS / 1000)]);
          const stored = async (exportedMs: readonly number[]): Promise<StoredPoint[]> => {
            const group = (await pushgatewayGroups(pg)).find((g) => g.labels['job'] === 'scaphandre' && g.labels['instance'] === AGENT_HOST);
            const powerUw = Number(group?.families.get(HOST_SERIES)?.[0]?.value ?? Number.NaN);
            const t = exportedMs[rankOf(powerUw)];
            return t === undefined ? [] : [{ timestampMs: t, powerUw }];
          };
          return await pushRun(managedBackend(pg, stored), plan, plan.exporter as PushExporter, outageMs, true);
        } finally {
          await pg.dispose();
        }
      },
      { latestOnly: true },
    );
  }, TEST_MS);
});
