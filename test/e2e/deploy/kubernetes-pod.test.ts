/**
 * The agent as the DaemonSet runs it, against the protocol-faithful Kubernetes API server: the service
 * account's token and CA in a directory laid out as the kubelet mounts it, KUBERNETES_SERVICE_HOST/PORT
 * and NODE_NAME in the environment, the node's processes read from a procfs whose cgroup paths are what
 * a pod with its own cgroup namespace sees (`/../../kubepods-…`), Docker off (`--no-docker`), and a
 * /metrics + /healthz exporter with --containers, all driven by the real scheduler; then the remote-write
 * overlay's config run by `scaph run`'s assembly into a real Prometheus, queried with the PromQL of docs/kubernetes.md.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runFromConfig } from '../../../src/agent/run-command.js';
import type { Logger } from '../../../src/core/log.js';
import { MetricsView } from '../../../src/core/metrics-view.js';
import { Scheduler } from '../../../src/agent/scheduler.js';
import { PrometheusExporter } from '../../../src/exporters/prometheus/exporter.js';
import { ContainerResolver } from '../../../src/sensors/containers/resolver.js';
import { createSensor } from '../../../src/sensors/factory.js';
import { POD_READ_RULE } from '../../../src/sensors/containers/kubernetes.js';
import * as F from '../../support/fixtures/cgroups.js';
import { ProcfsTree, type FakeProcess } from '../../support/fixtures/procfs-tree.js';
import { estimateSensorOptions, RUN_GLOBALS } from '../../support/fixtures/run-globals.js';
import { freePort, waitFor } from '../../support/servers/free-port.js';
import { startKubeApi, type FakeKubeApi } from '../../support/servers/kube-api.js';
import { startPrometheus } from '../../support/servers/prometheus.js';
import { makeTestPki, type TestPki } from '../../support/servers/test-ca.js';
import { captureLogger, type LogLine } from '../../support/fakes/log-capture.js';
import { CgroupfsTree } from '../../support/fixtures/cgroupfs-tree.js';
import { packageRoot } from '../../../src/core/package-file.js';
import { docSection } from '../../support/harness/markdown-docs.js';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.scaph-daemonset-token';
const NODE = 'node-a';
const DB_CONTAINER_ID = 'e'.repeat(64);

let dir: string;
let pki: TestPki;
let serviceAccountDir: string;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'scaph-kube-pod-'));
  pki = makeTestPki(dir);
  // What the kubelet projects into every pod with automountServiceAccountToken (the DaemonSet's default).
  serviceAccountDir = join(dir, 'serviceaccount');
  mkdirSync(serviceAccountDir);
  writeFileSync(join(serviceAccountDir, 'token'), TOKEN);
  copyFileSync(pki.caPath, join(serviceAccountDir, 'ca.crt'));
  writeFileSync(join(serviceAccountDir, 'namespace'), 'scaph');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  vi.unstubAllEnvs();
});

const us = (uid: string): string => uid.replace(/-/g, '_');
/** /proc/PID/cgroup of other pods' processes as read from inside scaph's pod (private cgroup namespace). */
const WEB_CGROUP = `0::/../../kubepods-burstable.slice/kubepods-burstable-pod${us(F.POD_UID)}.slice/cri-containerd-${F.CONTAINERD_ID}.scope\n`;
const DB_CGROUP = `0::/../../kubepods-besteffort.slice/kubepods-besteffort-pod${us(F.POD_UID_2)}.slice/cri-containerd-${DB_CONTAINER_ID}.scope\n`;
const KUBELET_CGROUP = '0::/../../../../system.slice/kubelet.service\n';

async function kubeApi(): Promise<FakeKubeApi> {
  const api = await startKubeApi(pki, TOKEN, [
    { uid: F.POD_UID, name: 'web-7d9f', namespace: 'shop', nodeName: NODE, containers: { nginx: `containerd://${F.CONTAINERD_ID}` } },
    { uid: F.POD_UID_2, name: 'db-0', namespace: 'data', nodeName: NODE, containers: { postgres: `containerd://${DB_CONTAINER_ID}` } },
    { uid: F.STATIC_POD_UID, name: 'elsewhere', namespace: 'shop', nodeName: 'node-b', containers: {} },
  ]);
  cleanups.push(() => api.close());
  return api;
}

interface RunningAgent {
  readonly exporter: PrometheusExporter;
  readonly scheduler: Scheduler;
  metrics(): Promise<string>;
  health(): Promise<number>;
}

/** Where those paths are under the node's cgroup2 mount (the systemd driver's slices). */
const WEB_POD_DIR = `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${us(F.POD_UID)}.slice`;
const DB_POD_DIR = `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${us(F.POD_UID_2)}.slice`;
const CGROUP_DIRS: ReadonlyArray<readonly [string, number]> = [
  [WEB_POD_DIR, 30],
  [`${WEB_POD_DIR}/cri-containerd-${F.CONTAINERD_ID}.scope`, 30],
  [DB_POD_DIR, 20],
  [`${DB_POD_DIR}/cri-containerd-${DB_CONTAINER_ID}.scope`, 20],
  ['/system.slice/kubelet.service', 10],
];
let cgroupfs: CgroupfsTree;

/**
 * The node's processes: nginx in web-7d9f, postgres in db-0, the kubelet in a systemd unit; CPU time
 * advancing in /proc and in their cgroups alike (`cgroupfs`, the node's mount the DaemonSet passes).
 */
function nodeProcfs(): string {
  const web: FakeProcess = { pid: 101, comm: 'nginx', utime: 0, stime: 0, starttime: 10 };
  const db: FakeProcess = { pid: 102, comm: 'postgres', utime: 0, stime: 0, starttime: 11 };
  const kubelet: FakeProcess = { pid: 201, comm: 'kubelet', utime: 0, stime: 0, starttime: 12 };
  const tree = ProcfsTree.create({ cpuCount: 2, processes: [web, db, kubelet] });
  cleanups.push(() => tree.cleanup());
  writeFileSync(join(tree.root, '101', 'cgroup'), WEB_CGROUP);
  writeFileSync(join(tree.root, '102', 'cgroup'), DB_CGROUP);
  writeFileSync(join(tree.root, '201', 'cgroup'), KUBELET_CGROUP);
  cgroupfs = new CgroupfsTree();
  cleanups.push(() => cgroupfs.cleanup());
  const advanceCgroups = (): void => {
    for (const [d, ticks] of CGROUP_DIRS) cgroupfs.advance(d, ticks * 10_000);
  };
  advanceCgroups();
  cleanups.push(tree.runCpu({ user: 60, idle: 140 }, [[web, 30], [db, 20], [kubelet, 10]], 20, advanceCgroups));
  return tree.root;
}

/**
 * The container lookup `scaph --no-docker … --containers` builds in the pod: the kubelet's service-account
 * mount, KUBERNETES_SERVICE_HOST/PORT and NODE_NAME as the kubelet and the DaemonSet set them.
 */
async function podResolver(api: FakeKubeApi, procfsRoot: string, logger: Logger, refreshIntervalMs = 30_000): Promise<ContainerResolver> {
  vi.stubEnv('NODE_NAME', NODE);
  const { port } = new URL(api.url);
  const resolver = new ContainerResolver(
    {
      procfsRoot,
      docker: false,
      kubernetes: { serviceAccountDir, refreshIntervalMs },
      env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: port },
    },
    logger,
  );
  cleanups.push(() => resolver.stop());
  await resolver.start();
  return resolver;
}

/** Starts resolver, sensor, exporter and scheduler the way `scaph --no-docker run` assembles them. */
async function startAgent(api: FakeKubeApi, logger: Logger, refreshIntervalMs = 30_000): Promise<RunningAgent> {
  const procfsRoot = nodeProcfs();
  const resolver = await podResolver(api, procfsRoot, logger, refreshIntervalMs);
  const sensor = await createSensor(
    estimateSensorOptions(procfsRoot, NODE, { powercapPath: join(dir, 'none'), cgroupfsPath: cgroupfs.root, containers: resolver }),
    logger,
  );
  const exporter = new PrometheusExporter({
    address: '127.0.0.1',
    port: 0,
    suffix: 'metrics',
    view: new MetricsView({ containers: true, maxCmdlineLength: 256 }),
    logger,
    healthMaxAgeMs: 5_000,
  });
  await exporter.start();
  cleanups.push(() => exporter.stop(1000));
  const scheduler = new Scheduler(sensor, [exporter], { stepMs: 100, durationMs: null, logger });
  scheduler.start();
  cleanups.push(async () => {
    scheduler.stop();
    await scheduler.done;
  });
  const base = `http://127.0.0.1:${exporter.port}`;
  return {
    exporter,
    scheduler,
    metrics: async () => (await fetch(`${base}/metrics`)).text(),
    health: async () => {
      const res = await fetch(`${base}/healthz`);
      await res.text();
      return res.status;
    },
  };
}

/** The label sets of every series of one family in an exposition text. */
function series(text: string, name: string): Array<Record<string, string>> {
  const out: Array<Record<string, string>> = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labels: Record<string, string> = {};
    for (const m of line.slice(name.length, line.lastIndexOf('}') + 1).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[m[1] ?? ''] = m[2] ?? '';
    out.push(labels);
  }
  return out;
}

/**
 * Warnings and errors, less the scheduler's "skipping ticks" (a 100 ms step on a loaded 2-core box
 * overruns now and then: that is the machine's load, not the pod's metadata).
 */
function loud(lines: readonly LogLine[]): string[] {
  return lines.filter((l) => l.level >= 40 && !l.msg.startsWith('sampling overran its step')).map((l) => l.msg);
}

function processLabels(text: string, pid: number): Record<string, string> | undefined {
  return series(text, 'scaph_process_power_consumption_microwatts').find((l) => l['pid'] === String(pid));
}

describe('scaph in its DaemonSet pod, with the Kubernetes API', () => {
  it("labels other pods' processes with pod name, namespace and node, and adds pod and namespace series", async () => {
    const api = await kubeApi();
    const { logger, lines } = captureLogger();
    const agent = await startAgent(api, logger);
    const text = await waitFor(async () => {
      const t = await agent.metrics();
      return processLabels(t, 101)?.['kubernetes_pod_name'] && processLabels(t, 102) ? t : null;
    }, 10_000, 'pod labels on /metrics', 50);

    // Only this node's pods, with the mounted token (the server answers 401 to anything else).
    expect(api.requests[0]).toBe(`GET /api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${NODE}`)}`);
    expect(processLabels(text, 101)).toMatchObject({
      exe: 'nginx',
      container_id: F.CONTAINERD_ID,
      container_runtime: 'containerd',
      kubernetes_container_name: 'nginx',
      kubernetes_pod_uid: F.POD_UID,
      kubernetes_pod_name: 'web-7d9f',
      kubernetes_pod_namespace: 'shop',
      kubernetes_node_name: NODE,
    });
    expect(processLabels(text, 102)).toMatchObject({ kubernetes_pod_name: 'db-0', kubernetes_pod_namespace: 'data', kubernetes_node_name: NODE });
    expect(processLabels(text, 201)).toMatchObject({ systemd_unit: 'kubelet.service' });
    expect(processLabels(text, 201)).not.toHaveProperty('kubernetes_pod_name');

    const pods = series(text, 'scaph_pod_power_microwatts').map((l) => `${l['kubernetes_pod_namespace']}/${l['kubernetes_pod_name']}@${l['kubernetes_node_name']}`);
    expect(pods.sort()).toEqual([`data/db-0@${NODE}`, `shop/web-7d9f@${NODE}`]);
    const containers = series(text, 'scaph_container_power_microwatts').map((l) => `${l['kubernetes_pod_name']}/${l['container_name']}`);
    expect(containers.sort()).toEqual(['db-0/postgres', 'web-7d9f/nginx']);
    const namespaces = series(text, 'scaph_namespace_power_microwatts').map((l) => l['kubernetes_pod_namespace']);
    expect(namespaces.sort()).toEqual(['data', 'shop']);
    expect(await agent.health()).toBe(200);
    expect(loud(lines)).toEqual([]);
  });

  it('a 403 from RBAC is one log line naming the rule to add; the agent runs on with cgroup labels, then picks names up once granted', async () => {
    const api = await kubeApi();
    api.failWithStatus = 403;
    const { logger, lines } = captureLogger();
    const agent = await startAgent(api, logger, 100);
    // Several refused reloads and several samples later...
    await waitFor(async () => (api.requests.length >= 4 && agent.scheduler.samples >= 5 ? true : null), 10_000, 'reloads and samples', 20);
    const text = await agent.metrics();

    const rule = `{apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"]}`;
    expect(loud(lines)).toEqual([
      'The Kubernetes API refused to list pods (HTTP 403: pods is forbidden: User "system:serviceaccount:scaph:scaph" cannot list ' +
        'resource "pods" in API group "" at the cluster scope): pod names, namespaces, node and container names will be missing ' +
        "(the cgroup labels remain). Bind scaph's service account (ClusterRoleBinding) to a ClusterRole with the rule " +
        `${rule}, as deploy/kubernetes/base/rbac.yaml does`,
    ]);
    expect(POD_READ_RULE).toEqual({ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] });
    // The later refusals are debug lines, not more warnings.
    expect(lines.filter((l) => l.msg === 'metadata load failed again').length).toBeGreaterThanOrEqual(2);

    expect(processLabels(text, 101)).toMatchObject({ container_id: F.CONTAINERD_ID, container_runtime: 'containerd', kubernetes_pod_uid: F.POD_UID, kubernetes_pod_qos_class: 'burstable' });
    expect(processLabels(text, 101)).not.toHaveProperty('kubernetes_pod_name');
    expect(series(text, 'scaph_pod_power_microwatts').map((l) => l['kubernetes_pod_uid']).sort()).toEqual([F.POD_UID, F.POD_UID_2].sort());
    expect(await agent.health()).toBe(200);

    // Granting the rule needs no restart: the next reload brings the names.
    api.failWithStatus = null;
    await waitFor(async () => (processLabels(await agent.metrics(), 101)?.['kubernetes_pod_name'] === 'web-7d9f' ? true : null), 10_000, 'pod names after the grant', 50);
    expect(lines.filter((l) => l.msg === 'Kubernetes API reachable again')).toHaveLength(1);
    expect(loud(lines)).toHaveLength(1);
  });

  it("pushes pod power with the remote-write overlay's config; the PromQL of docs/kubernetes.md gives power per namespace and per pod", async () => {
    const prom = await startPrometheus();
    cleanups.push(() => prom.dispose());
    const api = await kubeApi();
    const { logger, lines } = captureLogger();
    const procfsRoot = nodeProcfs();

    // The overlay's config as the ConfigMap carries it, aimed at this test's Prometheus, port and spool.
    const repo = packageRoot();
    const config = parseToml(readFileSync(join(repo, 'deploy/kubernetes/overlays/remote-write/scaph.toml'), 'utf8')) as {
      sensor: Record<string, unknown>;
      exporter: Array<Record<string, unknown>>;
    };
    config.sensor['step'] = '200ms';
    for (const e of config.exporter) {
      if (e['type'] === 'prometheus') Object.assign(e, { address: '127.0.0.1', port: await freePort() });
      if (e['type'] === 'remote-write') Object.assign(e, { url: `${prom.baseUrl}/api/v1/write`, spool_dir: join(dir, 'spool') });
    }
    const file = join(dir, 'remote-write.toml');
    writeFileSync(file, stringifyToml(config));

    const globals = { ...RUN_GLOBALS, sensor: { ...RUN_GLOBALS.sensor, powercapPath: join(dir, 'none'), procfsPath: procfsRoot } };
    const running = runFromConfig(file, false, globals, logger, {
      env: { ...process.env, SCAPH_HOSTNAME: NODE },
      // What cli.ts does for `scaph --no-docker run`: the container lookup, then the sensor (no RAPL here).
      createSensor: async (setup, l) => createSensor({ ...setup, kind: 'estimate', cgroupfsPath: cgroupfs.root, containers: await podResolver(api, procfsRoot, l) }, l),
    }, { durationMs: 30_000, stopDeadlineMs: 2_000 });
    let finished = false;
    const done = running.finally(() => {
      finished = true;
    });
    // Stops it the way the kubelet does (runPipeline's SIGTERM handler), also when an assertion fails first.
    cleanups.push(async () => {
      if (!finished) process.emit('SIGTERM');
      await done;
    });

    const section = docSection('docs/kubernetes.md', '# Kubernetes');
    const block = /```promql\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
    const queries = block.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter((l) => l !== '');
    expect(queries).toHaveLength(5);
    const query = async (q: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> => {
      const url = new URL('/api/v1/query', prom.baseUrl);
      url.searchParams.set('query', q);
      const body = (await (await fetch(url)).json()) as { status: string; error?: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
      if (body.status !== 'success') throw new Error(`${q}: ${body.error}`);
      return body.data.result;
    };
    // Wait for both pods and a few deliveries to be stored.
    await waitFor(async () => {
      if (finished) throw new Error('scaph run ended early');
      const pods = await query(queries[3] ?? '');
      const sent = await query(queries[0] ?? '');
      return pods.length === 2 && Number(sent[0]?.value[1]) > 0 ? true : null;
    }, 20_000, 'pod power and delivery counters in Prometheus', 200);

    const [sent, late, perNamespace, perPod, wh] = await Promise.all(queries.map(query));
    expect(sent?.map((r) => r.metric)).toEqual([{ instance: NODE, transport: 'remote-write' }]);
    expect(late).toEqual([]);
    expect(perNamespace?.map((r) => r.metric['kubernetes_pod_namespace']).sort()).toEqual(['data', 'shop']);
    for (const r of perNamespace ?? []) expect(Number(r.value[1])).toBeGreaterThan(0);
    expect(perPod?.map((r) => `${r.metric['kubernetes_pod_namespace']}/${r.metric['kubernetes_pod_name']}`).sort()).toEqual(['data/db-0', 'shop/web-7d9f']);
    // nginx gets 30 of every 60 process ticks, postgres 20: the watts follow.
    const watts = (ns: string): number => Number(perNamespace?.find((r) => r.metric['kubernetes_pod_namespace'] === ns)?.value[1]);
    expect(watts('shop') / watts('data')).toBeCloseTo(1.5, 0);
    expect(wh?.map((r) => r.metric['kubernetes_pod_namespace']).sort()).toEqual(['data', 'shop']);
    expect(loud(lines)).toEqual([]);
  });
});
