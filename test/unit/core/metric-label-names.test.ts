import { describe, expect, it } from 'vitest';
import { METRIC_LABEL_NAMES, POD_LABEL_PREFIX, sampleToMetrics } from '../../../src/core/metrics.js';
import { MetricsView } from '../../../src/core/metrics-view.js';
import type { ContainerInfo } from '../../../src/core/sample.js';
import { makeProcess, makeSample } from '../../support/fixtures/sample.js';

/** Every field a process's container can carry, pod labels included. */
const CONTAINER: ContainerInfo = {
  containerId: 'c0ffee',
  containerRuntime: 'containerd',
  containerName: 'web',
  containerImage: 'nginx:1',
  kubernetesPodUid: 'uid-1',
  kubernetesPodQosClass: 'Burstable',
  kubernetesPodName: 'web-0',
  kubernetesPodNamespace: 'shop',
  kubernetesNodeName: 'node-1',
  kubernetesContainerName: 'web',
  systemdUnit: 'kubelet.service',
  kubernetesPodLabels: { kubernetes_pod_label_app: 'web' },
};

describe('METRIC_LABEL_NAMES', () => {
  it('holds every label name the metrics view writes (a --label may take none of them)', () => {
    const base = makeSample();
    const sample = makeSample({
      host: { ...base.host, sensorFallback: 'rapl_missing', cpuStatsKept: 1, energyRecordsKept: 2 },
      sockets: base.sockets.map((s) => ({ ...s, energyRecordsKept: 1, domains: s.domains.map((d) => ({ ...d, energyRecordsKept: 1 })) })),
      processes: [makeProcess({ pid: 9, vmName: 'vm-a', container: CONTAINER })],
      groups: (['container', 'pod', 'namespace', 'systemd_unit'] as const).map((kind) => ({ kind, key: kind, container: CONTAINER, powerUw: 1, energyUj: 1, source: 'processes' as const })),
    });
    const names = new Set(sampleToMetrics(sample, { qemu: true, containers: true }, '1.0.0').flatMap((m) => Object.keys(m.labels)));
    expect(names.size).toBeGreaterThanOrEqual(20);
    const unlisted = [...names].filter((n) => !METRIC_LABEL_NAMES.has(n) && !n.startsWith(POD_LABEL_PREFIX));
    expect(unlisted).toEqual([]);
    expect(names.has('kubernetes_pod_label_app')).toBe(true);
  });

  it("holds the labels of the delivery core's self-metrics too (transport, reason)", () => {
    const figures = { sent: 1, retried: 0, dropped: { queue_full: 1 }, seriesSent: 0, queueDepth: 0, queueBytes: 0, nextAttemptInMs: null, spoolSamples: 0, spoolBytes: 0, spoolWriteFailures: 0, lastSuccessMs: 1 };
    const names = new Set(new MetricsView().deliveryMetrics('remote-write', figures).flatMap((m) => Object.keys(m.labels)));
    expect([...names].sort()).toEqual(['reason', 'transport']);
    expect([...names].filter((n) => !METRIC_LABEL_NAMES.has(n))).toEqual([]);
  });
});
