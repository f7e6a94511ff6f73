import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../../../src/core/log.js';
import type { KubernetesMetadataOptions } from '../../../../src/sensors/containers/kubernetes.js';
import { ContainerResolver } from '../../../../src/sensors/containers/resolver.js';
import * as F from '../../../support/fixtures/cgroups.js';
import { containerSummary, startDockerApi, type FakeDockerApi } from '../../../support/servers/docker-api.js';
import { startKubeApi, type FakeKubeApi, type PodFixture } from '../../../support/servers/kube-api.js';
import { makeTestPki, type TestPki } from '../../../support/servers/test-ca.js';
import { captureLogger } from '../../../support/fakes/log-capture.js';

let dir: string;
let pki: TestPki;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'scaph-containers-'));
  pki = makeTestPki(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let seq = 0;
/** A synthetic procfs holding only `<pid>/cgroup` files. */
function procfs(cgroups: Record<number, string>): string {
  const root = join(dir, `proc-${seq++}`);
  for (const [pid, text] of Object.entries(cgroups)) {
    mkdirSync(join(root, pid), { recursive: true });
    writeFileSync(join(root, pid, 'cgroup'), text);
  }
  return root;
}

async function docker(containers = [containerSummary(F.DOCKER_ID, 'web', 'nginx:1.25')]): Promise<FakeDockerApi> {
  const api = await startDockerApi(join(dir, `docker-${seq++}.sock`), containers);
  cleanups.push(() => api.close());
  return api;
}

function listRequests(api: FakeDockerApi): number {
  return api.requests.filter((r) => r === 'GET /containers/json').length;
}

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Polls until check() holds (generous deadline for a loaded box). */
async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await wait(10);
  }
}

/** A started resolver whose first metadata loads have ended (start() itself never waits for them). */
async function resolver(...args: ConstructorParameters<typeof ContainerResolver>): Promise<ContainerResolver> {
  const r = new ContainerResolver(...args);
  cleanups.push(() => r.stop());
  r.start();
  await r.settled();
  return r;
}

describe('ContainerResolver with the Docker Engine API', () => {
  it('merges names and image into the cgroup facts; reads each cgroup file once and lists containers once', async () => {
    const api = await docker();
    const root = procfs({ 100: F.DOCKER_V2_SYSTEMD, 200: F.SYSTEMD_SERVICE_V2, 300: F.KERNEL_THREAD_V2, 400: F.PODMAN_ROOTFUL_V2 });
    const { logger, warnings } = captureLogger();
    const r = await resolver({ procfsRoot: root, docker: { socketPath: api.socketPath }, kubernetes: false }, logger);
    for (let i = 0; i < 3; i++) {
      expect(await r.resolve(100, 5)).toEqual({
        containerId: F.DOCKER_ID,
        containerRuntime: 'docker',
        containerName: 'web',
        containerImage: 'nginx:1.25',
      });
      expect(await r.resolve(200, 5)).toEqual({ systemdUnit: 'nginx.service' });
      expect(await r.resolve(300, 5)).toBeNull();
      // podman containers are not asked of Docker.
      expect(await r.resolve(400, 5)).toEqual({ containerId: F.PODMAN_ID, containerRuntime: 'podman' });
    }
    expect(listRequests(api)).toBe(1);
    expect(warnings()).toEqual([]);

    // Same (pid, starttime): cached, the file is not read again; a new starttime (pid reuse) re-reads it.
    writeFileSync(join(root, '200', 'cgroup'), F.USER_SESSION_V2);
    expect(await r.resolve(200, 5)).toEqual({ systemdUnit: 'nginx.service' });
    expect(await r.resolve(200, 6)).toEqual({ systemdUnit: 'session-3.scope' });
    // A process that is gone is null and not cached.
    expect(await r.resolve(999, 1)).toBeNull();
  });

  it('an unknown container triggers one early reload, and the next resolve has its name', async () => {
    const api = await docker([]);
    const root = procfs({ 100: F.DOCKER_V2_SYSTEMD });
    const { logger } = captureLogger();
    const r = await resolver(
      { procfsRoot: root, docker: { socketPath: api.socketPath, minRefreshGapMs: 0 }, kubernetes: false },
      logger,
    );
    api.containers = [containerSummary(F.DOCKER_ID, 'late', 'redis:7')];
    expect(await r.resolve(100, 1)).toEqual({ containerId: F.DOCKER_ID, containerRuntime: 'docker' });
    await r.docker?.settled();
    expect(await r.resolve(100, 1)).toMatchObject({ containerName: 'late', containerImage: 'redis:7' });
    expect(listRequests(api)).toBe(2);
    // An id Docker does not know (e.g. dind inner container) asks once, not on every resolve.
    const root2 = procfs({ 1: F.DOCKER_V2_CGROUPFS.replace(F.DOCKER_ID, F.DOCKER_ID_2) });
    const r2 = await resolver(
      { procfsRoot: root2, docker: { socketPath: api.socketPath, minRefreshGapMs: 0 }, kubernetes: false },
      logger,
    );
    for (let i = 0; i < 5; i++) {
      await r2.resolve(1, 1);
      await r2.docker?.settled();
    }
    expect(listRequests(api)).toBe(4);
  });

  it('follows /events: a rename or a new container reloads the list without waiting for the interval', async () => {
    const web = containerSummary(F.DOCKER_ID, 'web', 'nginx:1.25');
    const api = await docker([web]);
    const root = procfs({ 100: F.DOCKER_V2_SYSTEMD, 101: F.DOCKER_V2_CGROUPFS.replace(F.DOCKER_ID, F.DOCKER_ID_2) });
    const r = await resolver(
      // An hour between interval reloads and no early reload on a miss: only events can refresh.
      { procfsRoot: root, docker: { socketPath: api.socketPath, refreshIntervalMs: 3_600_000, minRefreshGapMs: 3_600_000 }, kubernetes: false },
      captureLogger().logger,
    );
    await until(() => api.openEventStreams() === 1);
    expect(api.requests).toContain('GET /events?filters=%7B%22type%22%3A%5B%22container%22%5D%7D');
    expect(await r.resolve(101, 1)).toEqual({ containerId: F.DOCKER_ID_2, containerRuntime: 'docker' });
    const renamed = containerSummary(F.DOCKER_ID, 'web-renamed', 'nginx:1.25');
    const started = containerSummary(F.DOCKER_ID_2, 'cache', 'redis:7');
    api.containers = [renamed, started];
    // A burst (exec_start changes nothing listed and is ignored).
    api.emitContainerEvents([
      ['exec_start: sh', renamed],
      ['rename', renamed],
      ['start', started],
    ]);
    await until(async () => (await r.resolve(100, 1))?.containerName === 'web-renamed');
    expect(await r.resolve(101, 1)).toMatchObject({ containerName: 'cache', containerImage: 'redis:7' });
    // The burst caused one reload, not one per event.
    expect(listRequests(api)).toBe(2);
  });

  it('dockershim containers get pod and container names from Docker labels', async () => {
    const api = await docker([
      containerSummary(F.DOCKER_ID, 'k8s_app_web-0_shop_' + F.POD_UID + '_0', 'shop/app:3', {
        'io.kubernetes.pod.name': 'web-0',
        'io.kubernetes.pod.namespace': 'shop',
        'io.kubernetes.container.name': 'app',
      }),
    ]);
    const root = procfs({ 7: F.K8S_V1_CGROUPFS });
    const r = await resolver({ procfsRoot: root, docker: { socketPath: api.socketPath }, kubernetes: false }, captureLogger().logger);
    expect(await r.resolve(7, 1)).toEqual({
      containerId: F.DOCKER_ID,
      containerRuntime: 'docker',
      containerName: `k8s_app_web-0_shop_${F.POD_UID}_0`,
      containerImage: 'shop/app:3',
      kubernetesPodUid: F.POD_UID,
      kubernetesPodQosClass: 'besteffort',
      kubernetesPodName: 'web-0',
      kubernetesPodNamespace: 'shop',
      kubernetesContainerName: 'app',
    });
  });

  it('says once that cgroup paths seen from a private namespace cannot be placed (cgroupfs driver)', async () => {
    const namespaced = `0::/../../pod${F.POD_UID}/${F.CONTAINERD_ID}\n`;
    const root = procfs({ 1: namespaced, 2: namespaced.replace(F.CONTAINERD_ID, F.DOCKER_ID) });
    const log = captureLogger();
    const r = await resolver({ procfsRoot: root, docker: false, kubernetes: false }, log.logger);
    r.resolveSync(1, 1);
    r.resolveSync(2, 1);
    expect(r.cgroupDirsSync(1, 1)).toBeNull();
    expect(log.warnings().filter((l) => /cgroup namespace/.test(l.msg))).toHaveLength(1);
  });

  it('sweep forgets processes not resolved since the previous sweep', async () => {
    const root = procfs({ 1: F.SYSTEMD_SERVICE_V2, 2: F.USER_SESSION_V2 });
    const r = await resolver({ procfsRoot: root, docker: false, kubernetes: false }, captureLogger().logger);
    expect(r.resolveSync(1, 1)).toEqual({ systemdUnit: 'nginx.service' });
    expect(r.resolveSync(2, 1)).toEqual({ systemdUnit: 'session-3.scope' });
    // The unit's cgroup v2 directory (for its cpu.stat), from the same read; nothing for another starttime.
    expect(r.cgroupDirsSync(1, 1)).toEqual({ unit: '/system.slice/nginx.service' });
    expect(r.cgroupDirsSync(1, 2)).toBeNull();
    expect(r.sweep()).toBe(0);
    r.resolveSync(1, 1);
    expect(r.sweep()).toBe(1);
    expect(r.cachedProcesses).toBe(1);
    // Forgotten means re-read: the file changed meanwhile (pid reused with the same starttime cannot
    // happen, but a forgotten pid is read afresh).
    writeFileSync(join(root, '2', 'cgroup'), F.SYSTEMD_SERVICE_V2);
    expect(r.resolveSync(2, 1)).toEqual({ systemdUnit: 'nginx.service' });
  });
});

describe('ContainerResolver with the Kubernetes API', () => {
  const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.test-token';
  const CONTAINERD_ID_2 = 'e'.repeat(64);

  async function kube(): Promise<FakeKubeApi> {
    const api = await startKubeApi(pki, TOKEN, [
      {
        uid: F.POD_UID,
        name: 'web-7d9f',
        namespace: 'shop',
        nodeName: 'node-a',
        labels: { app: 'web', 'app.kubernetes.io/part-of': 'shop', ignored: 'x' },
        containers: { nginx: `containerd://${F.CONTAINERD_ID}` },
      },
      {
        uid: F.POD_UID_2,
        name: 'db-0',
        namespace: 'data',
        nodeName: 'node-a',
        containers: { postgres: `containerd://${CONTAINERD_ID_2}` },
      },
      { uid: F.STATIC_POD_UID, name: 'elsewhere', namespace: 'x', nodeName: 'node-b', containers: {} },
    ]);
    cleanups.push(() => api.close());
    return api;
  }

  function tokenFile(token: string): string {
    const path = join(dir, `token-${seq++}`);
    writeFileSync(path, `${token}\n`);
    return path;
  }

  it('lists only this node\'s pods with the bearer token and merges pod, namespace, node, container and labels', async () => {
    const api = await kube();
    // One pod's container, the pause process of the other pod (sandbox id not in containerStatuses),
    // and a v1 cgroupfs container whose runtime only the API tells.
    const pause = F.K8S_V2_GUARANTEED.replace(F.CONTAINERD_ID, F.DOCKER_ID_2);
    const v1 = F.K8S_V1_CGROUPFS.replaceAll(F.DOCKER_ID, CONTAINERD_ID_2).replaceAll(F.POD_UID, F.POD_UID_2);
    const root = procfs({ 10: F.K8S_V2_BURSTABLE, 11: pause, 12: v1 });
    const { logger, warnings } = captureLogger();
    const r = await resolver(
      {
        procfsRoot: root,
        docker: false,
        kubernetes: {
          apiUrl: api.url,
          caPath: pki.caPath,
          tokenPath: tokenFile(TOKEN),
          nodeName: 'node-a',
          podLabels: ['app', 'app.kubernetes.io/part-of', 'absent'],
        },
      },
      logger,
    );
    expect(api.requests).toEqual(['GET /api/v1/pods?fieldSelector=spec.nodeName%3Dnode-a']);
    expect(await r.resolve(10, 1)).toEqual({
      containerId: F.CONTAINERD_ID,
      containerRuntime: 'containerd',
      kubernetesPodUid: F.POD_UID,
      kubernetesPodQosClass: 'burstable',
      kubernetesPodName: 'web-7d9f',
      kubernetesPodNamespace: 'shop',
      kubernetesNodeName: 'node-a',
      kubernetesContainerName: 'nginx',
      kubernetesPodLabels: { kubernetes_pod_label_app: 'web', kubernetes_pod_label_app_kubernetes_io_part_of: 'shop' },
    });
    expect(await r.resolve(11, 1)).toEqual({
      containerId: F.DOCKER_ID_2,
      containerRuntime: 'containerd',
      kubernetesPodUid: F.POD_UID_2,
      kubernetesPodQosClass: 'guaranteed',
      kubernetesPodName: 'db-0',
      kubernetesPodNamespace: 'data',
      kubernetesNodeName: 'node-a',
    });
    expect(await r.resolve(12, 1)).toEqual({
      containerId: CONTAINERD_ID_2,
      containerRuntime: 'containerd',
      kubernetesPodUid: F.POD_UID_2,
      kubernetesPodQosClass: 'besteffort',
      kubernetesPodName: 'db-0',
      kubernetesPodNamespace: 'data',
      kubernetesNodeName: 'node-a',
      kubernetesContainerName: 'postgres',
    });
    expect(warnings()).toEqual([]);
  });

  it('in-cluster defaults come from KUBERNETES_SERVICE_HOST/PORT', async () => {
    const api = await kube();
    const port = new URL(api.url).port;
    const r = await resolver(
      {
        procfsRoot: procfs({ 10: F.K8S_V2_BURSTABLE }),
        docker: false,
        kubernetes: { caPath: pki.caPath, tokenPath: tokenFile(TOKEN), nodeName: 'node-a' },
        env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: port },
      },
      captureLogger().logger,
    );
    expect(await r.resolve(10, 1)).toMatchObject({ kubernetesPodName: 'web-7d9f' });
    // Outside a cluster there is no Kubernetes source at all.
    const outside = new ContainerResolver({ docker: false, env: {} }, captureLogger().logger);
    expect(outside.kubernetes).toBeNull();
  });
});

describe('ContainerResolver failures: one warning, no labels, the agent runs on', () => {

  it('a missing Docker socket', async () => {
    const root = procfs({ 100: F.DOCKER_V2_SYSTEMD });
    const { logger, warnings, lines } = captureLogger();
    const socketPath = join(dir, 'absent.sock');
    const r = await resolver({ procfsRoot: root, docker: { socketPath, refreshIntervalMs: 20 }, kubernetes: false }, logger);
    // Several failed reloads (each logged at debug) must still be one warning.
    await until(() => lines.filter((l) => l.msg === 'metadata load failed again').length >= 3);
    expect(await r.resolve(100, 1)).toEqual({ containerId: F.DOCKER_ID, containerRuntime: 'docker' });
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]?.msg).toContain(`Docker socket ${socketPath} does not exist`);
  });

  it('a Docker API error, then recovery', async () => {
    const api = await docker();
    api.failWithStatus = 500;
    const { logger, warnings, lines } = captureLogger();
    const root = procfs({ 100: F.DOCKER_V2_SYSTEMD });
    const r = await resolver({ procfsRoot: root, docker: { socketPath: api.socketPath, refreshIntervalMs: 20 }, kubernetes: false }, logger);
    await until(() => api.requests.length >= 5);
    expect(await r.resolve(100, 1)).toEqual({ containerId: F.DOCKER_ID, containerRuntime: 'docker' });
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]?.msg).toContain('HTTP 500');
    api.failWithStatus = null;
    await until(async () => (await r.resolve(100, 1))?.containerName === 'web');
    expect(lines.filter((l) => l.msg === 'Docker Engine API reachable again')).toHaveLength(1);
    expect(warnings()).toHaveLength(1);
  });

  it('a wrong service-account token (401) and a forbidden pod list (403)', async () => {
    const api = await startKubeApi(pki, 'right', [
      { uid: F.POD_UID, name: 'web', namespace: 'shop', nodeName: 'n', containers: { c: `containerd://${F.CONTAINERD_ID}` } },
    ]);
    cleanups.push(() => api.close());
    const wrong = join(dir, 'wrong-token');
    writeFileSync(wrong, 'wrong');
    const root = procfs({ 10: F.K8S_V2_BURSTABLE });
    const base = { containerId: F.CONTAINERD_ID, containerRuntime: 'containerd', kubernetesPodUid: F.POD_UID, kubernetesPodQosClass: 'burstable' };
    const kubeOptions = { apiUrl: api.url, caPath: pki.caPath, nodeName: 'n', refreshIntervalMs: 20 };

    const first = captureLogger();
    const r1 = await resolver({ procfsRoot: root, docker: false, kubernetes: { ...kubeOptions, tokenPath: wrong } }, first.logger);
    await until(() => api.requests.length >= 4);
    expect(await r1.resolve(10, 1)).toEqual(base);
    expect(first.warnings()).toHaveLength(1);
    expect(first.warnings()[0]?.msg).toContain('rejected the service-account token (HTTP 401)');

    api.failWithStatus = 403;
    const right = join(dir, 'right-token');
    writeFileSync(right, 'right');
    const second = captureLogger();
    const r2 = await resolver({ procfsRoot: root, docker: false, kubernetes: { ...kubeOptions, tokenPath: right } }, second.logger);
    await until(() => api.requests.length >= 8);
    expect(await r2.resolve(10, 1)).toEqual(base);
    expect(second.warnings()).toHaveLength(1);
    expect(second.warnings()[0]?.msg).toContain('ClusterRole');
  });

  it('a missing service-account CA', async () => {
    const { logger, warnings } = captureLogger();
    const r = await resolver(
      { procfsRoot: procfs({}), docker: false, kubernetes: { apiUrl: 'https://127.0.0.1:1', caPath: join(dir, 'nope.crt') } },
      logger,
    );
    expect(r.kubernetes).not.toBeNull();
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]?.msg).toContain('Cannot read the service-account token or CA');
  });
});

describe('ContainerResolver fed sources that hang, answer garbage, too much, or lie', () => {
  const TOKEN = 'token-for-lies';

  function tokenPath(): string {
    const path = join(dir, `token-${seq++}`);
    writeFileSync(path, `${TOKEN}\n`);
    return path;
  }

  async function kube(pods: PodFixture[] = [WEB_POD]): Promise<FakeKubeApi> {
    const api = await startKubeApi(pki, TOKEN, pods);
    cleanups.push(() => api.close());
    return api;
  }

  const WEB_POD: PodFixture = {
    uid: F.POD_UID,
    name: 'web-0',
    namespace: 'shop',
    nodeName: 'n',
    labels: { app: 'web' },
    containers: { nginx: `containerd://${F.CONTAINERD_ID}` },
  };

  function kubeResolver(api: FakeKubeApi, logger: Logger, extra: Partial<KubernetesMetadataOptions> = {}): ContainerResolver {
    const r = new ContainerResolver(
      {
        procfsRoot: procfs({ 10: F.K8S_V2_BURSTABLE }),
        docker: false,
        kubernetes: { apiUrl: api.url, caPath: pki.caPath, tokenPath: tokenPath(), nodeName: 'n', podLabels: ['app'], ...extra },
      },
      logger,
    );
    cleanups.push(() => r.stop());
    return r;
  }

  const CGROUP_FACTS = { containerId: F.CONTAINERD_ID, containerRuntime: 'containerd', kubernetesPodUid: F.POD_UID, kubernetesPodQosClass: 'burstable' };

  it('a Kubernetes API that never answers: start() does not wait, the cgroup facts are there at once; one warning after the timeout; stop() is prompt', async () => {
    const api = await kube();
    api.misbehaviour = { kind: 'hang' };
    const { logger, warnings } = captureLogger();
    const r = kubeResolver(api, logger, { timeoutMs: 300 });
    const started = performance.now();
    r.start();
    expect(r.resolveSync(10, 1)).toEqual(CGROUP_FACTS);
    expect(performance.now() - started).toBeLessThan(100);
    await r.settled();
    expect(warnings().map((w) => w.msg)).toEqual([
      `The Kubernetes API at ${api.url} did not answer within 300 ms: pod names, namespaces, node and container names will be missing (the cgroup labels remain) until it does (power figures are not held up)`,
    ]);
    // Answering again: the names arrive without a restart.
    api.misbehaviour = null;
    await r.kubernetes?.reload();
    expect(r.resolveSync(10, 1)).toMatchObject({ kubernetesPodName: 'web-0' });
    // A stop while a load hangs aborts it instead of waiting for its deadline.
    api.misbehaviour = { kind: 'hang' };
    void r.kubernetes?.reload();
    const stopping = performance.now();
    await r.stop();
    expect(performance.now() - stopping).toBeLessThan(200);
  });

  it('garbage and a JSON body that is no PodList: one warning saying so; the names already known stay', async () => {
    const api = await kube();
    const { logger, warnings } = captureLogger();
    const r = kubeResolver(api, logger);
    r.start();
    await r.settled();
    expect(r.resolveSync(10, 1)).toMatchObject({ kubernetesPodName: 'web-0', kubernetesPodLabels: { kubernetes_pod_label_app: 'web' } });
    api.misbehaviour = { kind: 'garbage', body: Buffer.from([0x1f, 0x8b, 0x08, 0, 0xff, 0xfe, 0x3c]) };
    await r.kubernetes?.reload();
    api.misbehaviour = { kind: 'garbage', body: '{"kind":"Status","items":17}' };
    await r.kubernetes?.reload();
    expect(r.resolveSync(10, 1)).toMatchObject({ kubernetesPodName: 'web-0' });
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]?.msg).toMatch(/^The Kubernetes API at https:\/\/127\.0\.0\.1:\d+: the answer to GET \/api\/v1\/pods\?fieldSelector=spec\.nodeName%3Dn is not JSON \(it starts with ".*"\); pod names/);
  });

  it('a 50 MB answer, chunked or declared: refused once past the cap, with the size in the message', async () => {
    const api = await kube();
    const { logger, warnings, lines } = captureLogger();
    const r = kubeResolver(api, logger, { maxAnswerBytes: 1024 * 1024, refreshIntervalMs: 3_600_000 });
    api.misbehaviour = { kind: 'huge', bytes: 50e6 };
    const started = performance.now();
    r.start();
    await r.settled();
    api.misbehaviour = { kind: 'huge', bytes: 50e6, declared: true };
    await r.kubernetes?.reload();
    // Refused as it streamed in: far sooner than 50 MB over TLS takes.
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(warnings().map((w) => w.msg)).toEqual([
      `The Kubernetes API at ${api.url}: the answer to GET /api/v1/pods?fieldSelector=spec.nodeName%3Dn is more than 1048576 bytes, more than the 1 MiB scaph accepts: refused; pod names, namespaces, node and container names will be missing (the cgroup labels remain) until it answers a pod list`,
    ]);
    expect(lines.find((l) => l.msg === 'metadata load failed again')?.['err']).toMatch(/is \d{8} bytes, more than the 1 MiB/);
    expect(r.resolveSync(10, 1)).toEqual(CGROUP_FACTS);
  });

  it('an API that puts the container in another pod than its cgroup: the cgroup wins, said once', async () => {
    const api = await kube([
      { ...WEB_POD, containers: {} },
      { uid: F.POD_UID_2, name: 'liar-0', namespace: 'other', nodeName: 'n', containers: { nginx: `containerd://${F.CONTAINERD_ID}` } },
    ]);
    const { logger, warnings } = captureLogger();
    const r = kubeResolver(api, logger);
    r.start();
    await r.settled();
    for (let i = 0; i < 3; i++) {
      expect(r.resolveSync(10, i + 1)).toEqual({ ...CGROUP_FACTS, kubernetesPodName: 'web-0', kubernetesPodNamespace: 'shop', kubernetesNodeName: 'n', kubernetesPodLabels: { kubernetes_pod_label_app: 'web' } });
    }
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({ containerId: F.CONTAINERD_ID, cgroupPodUid: F.POD_UID, claimedPodUid: F.POD_UID_2 });
  });

  it('a pod list that changes under the agent: each process follows the latest list; hostile values are left out, said once', async () => {
    const api = await kube();
    const { logger, warnings } = captureLogger();
    const r = kubeResolver(api, logger);
    r.start();
    await r.settled();
    expect(r.resolveSync(10, 1)).toMatchObject({ kubernetesPodName: 'web-0', kubernetesPodNamespace: 'shop' });
    api.pods = [{ ...WEB_POD, name: 'web-1', namespace: 'shop2', labels: { app: 'x"}\n# EOF' } }];
    await r.kubernetes?.reload();
    expect(r.resolveSync(10, 1)).toEqual({ ...CGROUP_FACTS, kubernetesContainerName: 'nginx', kubernetesPodName: 'web-1', kubernetesPodNamespace: 'shop2', kubernetesNodeName: 'n' });
    api.pods = [];
    await r.kubernetes?.reload();
    expect(r.resolveSync(10, 1)).toEqual(CGROUP_FACTS);
    expect(warnings().map((w) => w.msg)).toEqual([
      'the Kubernetes API gave a name or label value that Kubernetes itself does not allow: such values are left out of the labels (said once)',
    ]);
    expect(warnings()[0]).toMatchObject({ field: 'label app', value: JSON.stringify('x"}\n# EOF') });
  });

  it('a Docker Engine API that hangs, then answers garbage and 50 MB: one warning, cgroup facts throughout', async () => {
    const api = await docker();
    api.misbehaviour = { kind: 'hang' };
    const { logger, warnings } = captureLogger();
    const r = new ContainerResolver(
      { procfsRoot: procfs({ 100: F.DOCKER_V2_SYSTEMD }), docker: { socketPath: api.socketPath, timeoutMs: 300, maxAnswerBytes: 1024 * 1024 }, kubernetes: false },
      logger,
    );
    cleanups.push(() => r.stop());
    const started = performance.now();
    r.start();
    expect(r.resolveSync(100, 1)).toEqual({ containerId: F.DOCKER_ID, containerRuntime: 'docker' });
    expect(performance.now() - started).toBeLessThan(100);
    await r.settled();
    api.misbehaviour = { kind: 'garbage', body: 'not json at all' };
    await r.docker?.reload();
    api.misbehaviour = { kind: 'huge', bytes: 50e6 };
    await r.docker?.reload();
    expect(r.resolveSync(100, 1)).toEqual({ containerId: F.DOCKER_ID, containerRuntime: 'docker' });
    expect(warnings().map((w) => w.msg)).toEqual([
      `Docker socket ${api.socketPath} did not answer within 300 ms: container names and images will be missing for Docker containers until it does`,
    ]);
    api.misbehaviour = null;
    await r.docker?.reload();
    expect(r.resolveSync(100, 1)).toMatchObject({ containerName: 'web', containerImage: 'nginx:1.25' });
  });

  it('a Docker label naming another pod than the cgroup: Docker\'s container name stays, its pod names do not', async () => {
    const api = await docker([
      containerSummary(F.DOCKER_ID, 'k8s_app', 'shop/app:3', { 'io.kubernetes.pod.name': 'liar-0', 'io.kubernetes.pod.namespace': 'other', 'io.kubernetes.pod.uid': F.POD_UID_2 }),
    ]);
    const { logger, warnings } = captureLogger();
    const r = await resolver({ procfsRoot: procfs({ 7: F.K8S_V1_CGROUPFS }), docker: { socketPath: api.socketPath }, kubernetes: false }, logger);
    expect(r.resolveSync(7, 1)).toEqual({
      containerId: F.DOCKER_ID,
      containerRuntime: 'docker',
      containerName: 'k8s_app',
      containerImage: 'shop/app:3',
      kubernetesPodUid: F.POD_UID,
      kubernetesPodQosClass: 'besteffort',
    });
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({ source: 'Docker Engine API', cgroupPodUid: F.POD_UID, claimedPodUid: F.POD_UID_2 });
  });

  it('an /events line that never ends: the stream is dropped (bounded memory), the list still loads', async () => {
    const api = await docker();
    const r = await resolver({ procfsRoot: procfs({ 100: F.DOCKER_V2_SYSTEMD }), docker: { socketPath: api.socketPath, refreshIntervalMs: 3_600_000 }, kubernetes: false }, captureLogger().logger);
    await until(() => api.openEventStreams() === 1);
    const chunk = Buffer.alloc(256 * 1024, 'x');
    for (let i = 0; i < 5; i++) api.emitRaw(chunk);
    await until(() => api.openEventStreams() === 0);
    expect(r.resolveSync(100, 1)).toMatchObject({ containerName: 'web' });
  });

  it('/proc/PID/cgroup paths that climb out of the mount: ignored, said once for every process', async () => {
    const evil = '0::/kubepods.slice/../../outside/evil.service\n';
    const { logger, warnings } = captureLogger();
    const r = await resolver({ procfsRoot: procfs({ 1: evil, 2: evil, 3: F.SYSTEMD_SERVICE_V2 }), docker: false, kubernetes: false }, logger);
    for (let step = 0; step < 3; step++) {
      for (const pid of [1, 2]) {
        expect(r.resolveSync(pid, step)).toBeNull();
        expect(r.cgroupDirsSync(pid, step)).toBeNull();
      }
      expect(r.cgroupDirsSync(3, step)).toBeNull();
      expect(r.resolveSync(3, step)).toEqual({ systemdUnit: 'nginx.service' });
      r.sweep();
    }
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({ pid: 1, cgroup: '0::/kubepods.slice/../../outside/evil.service' });
    expect(warnings()[0]?.msg).toMatch(/nothing outside --cgroupfs-path is read/);
  });
});
