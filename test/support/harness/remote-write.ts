import { silentLogger } from '../../../src/core/log.js';
import type { Sample } from '../../../src/core/sample.js';
import { createPushExporter, type PushExporter, type PushExporterOptions } from '../../../src/delivery/push-exporter.js';
import { RemoteWriteTransport, type RemoteWriteOptions } from '../../../src/exporters/remote-write/transport.js';
import { syntheticSample } from '../fixtures/synthetic-sample.js';

export const HOSTNAME = 'scaph-test-host';

/** Host power of step i: two sockets whose powers change every step, so each point is recognisable. */
export function socketPowersUw(i: number): [number, number] {
  return [20_000_000 + i * 1_111, 19_000_000 + i * 7];
}

export function hostPowerUw(i: number): number {
  const [a, b] = socketPowersUw(i);
  return a + b;
}

export function makeExporter(url: string, delivery: Partial<PushExporterOptions> = {}, rw: Partial<RemoteWriteOptions> = {}): PushExporter {
  return createPushExporter(
    new RemoteWriteTransport({ url, version: '0.0.0-test', timeoutMs: 3000, job: 'scaph', instance: HOSTNAME, extraLabels: { dc: 'test-dc' }, ...rw }),
    { logger: silentLogger(), backoff: { minDelayMs: 100, maxDelayMs: 1500 }, timeoutMs: 3000, maxAgeMs: 3_600_000, ...delivery },
  );
}

export interface RunResult {
  /** Timestamps of the samples exported, in order. */
  readonly timestampsMs: number[];
}

/**
 * Exports `steps` synthetic samples, one every stepMs in real time (timestamps from the wall clock,
 * aligned to the step), calling `during(i)` before step i is exported (to stop/start the server).
 * A process (pid 4242) lives for the first `processSteps` steps then ends.
 */
export async function runSteps(
  exporter: PushExporter,
  steps: number,
  stepMs: number,
  during: (i: number) => Promise<void> = async () => {},
  processSteps = Number.POSITIVE_INFINITY,
): Promise<RunResult> {
  const t0 = Math.ceil(Date.now() / stepMs) * stepMs;
  const timestampsMs: number[] = [];
  for (let i = 0; i < steps; i++) {
    await during(i);
    const ts = t0 + i * stepMs;
    const wait = ts - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    exporter.export(stepSample(i, ts, i < processSteps));
    timestampsMs.push(ts);
  }
  return { timestampsMs };
}

function stepSample(i: number, timestampMs: number, withProcess: boolean): Sample {
  return syntheticSample({
    timestampMs,
    hostname: HOSTNAME,
    socketPowersUw: socketPowersUw(i),
    processes: withProcess ? [{ pid: 4242, exe: 'burner', powerUw: 3_000_000 + i }] : [],
    ended: withProcess ? [] : [{ pid: 4242, starttime: 42420, exe: 'burner', cmdline: 'burner --run' }],
  });
}
