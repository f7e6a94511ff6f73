/** One Sample of n processes (2 sockets, plausible figures) and its metrics, as a queued sample. */
import { sampleToMetrics } from '../../src/core/metrics.js';
import type { QueuedSample } from '../../src/delivery/transport.js';
import { makeProcess, makeSample } from '../../test/support/fixtures/sample.js';

export function syntheticQueuedSample(processes: number): QueuedSample {
  const list = [];
  for (let i = 0; i < processes; i++) {
    const pid = 1000 + i;
    const exe = `worker-${i % 97}`;
    list.push(
      makeProcess({
        pid,
        exe,
        comm: exe,
        exePath: `/usr/bin/${exe}`,
        cmdline: `/usr/bin/${exe} --id ${i} --config /etc/${exe}.conf`,
        cpuTicks: (i * 7) % 50,
        cpuUsagePercent: ((i * 7) % 50) / 4,
        powerUw: 10_000_000 - i * 9_000,
        energyUj: 1_000_000_000 + i * 12_345,
        memoryBytes: 4096 * (1000 + i),
        virtualMemoryBytes: 10_000_000 + i * 4096,
      }),
    );
  }
  const sample = makeSample({ processes: list });
  return { timestampMs: sample.timestampMs, startMs: sample.timestampMs - sample.intervalMs, metrics: sampleToMetrics(sample, {}, 'bench'), vanished: [], endedProcesses: [] };
}
