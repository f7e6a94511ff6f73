import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { ContainerResolver } from '../../../../src/sensors/containers/resolver.js';
import * as F from '../../../support/fixtures/cgroups.js';
import { containerSummary, startDockerApi, type FakeDockerApi } from '../../../support/servers/docker-api.js';
import { startKubeApi, type FakeKubeApi } from '../../../support/servers/kube-api.js';
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

async function resolver(...args: ConstructorParameters<typeof ContainerResolver>): Promise<ContainerResolver> {
  const r = new ContainerResolver(...args);
  cleanups.push(() => r.stop());
  await r.start();
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
