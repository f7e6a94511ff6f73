import { describe, expect, it } from 'vitest';
import { MetadataAnswerError } from '../../../../src/sensors/containers/answer.js';
import { isContainerChange, parseContainerList } from '../../../../src/sensors/containers/docker.js';
import { kubernetesApiUrl, parsePodList, podLabelMetricName } from '../../../../src/sensors/containers/kubernetes.js';
import { containerEvent, containerSummary } from '../../../support/servers/docker-api.js';
import { podJson } from '../../../support/servers/kube-api.js';

const ID = 'f'.repeat(64);

describe('Docker response parsing', () => {
  it('keeps id, name without slash, image and the io.kubernetes labels; skips malformed entries', () => {
    const list = parseContainerList([
      containerSummary(ID, 'web', 'nginx:1.25', { a: 'b', 'io.kubernetes.pod.name': 'web-0' }),
      { Names: ['/no-id'] },
      null,
      { Id: 'x', Names: 'not-an-array', Image: 3, Labels: { n: 1, 'io.kubernetes.pod.namespace': 'shop' } },
    ]);
    expect([...list.entries()]).toEqual([
      [ID, { name: 'web', image: 'nginx:1.25', labels: { 'io.kubernetes.pod.name': 'web-0' } }],
      ['x', { name: '', image: '', labels: { 'io.kubernetes.pod.namespace': 'shop' } }],
    ]);
  });

  it('refuses a body that is no container list (the table in use stays), and leaves out values Docker would not write', () => {
    expect(() => parseContainerList({ message: 'not a list' })).toThrow(MetadataAnswerError);
    expect(() => parseContainerList(null)).toThrow(/not an array of containers/);
    const refused: string[] = [];
    const hostile = 'a"b\nc{d="e"}\\';
    const list = parseContainerList(
      [
        containerSummary(ID, hostile, `nginx ${hostile}`, { 'io.kubernetes.pod.name': hostile, 'io.kubernetes.pod.uid': 'x'.repeat(400) }),
        containerSummary('y', 'db', 'x'.repeat(513), { 'io.kubernetes.container.name': 'Upper' }),
        containerSummary('z', 'a'.repeat(256), 'sha256:' + 'e'.repeat(64), { 'io.kubernetes.pod.namespace': '\ud800' }),
      ],
      (field, value) => refused.push(`${field}=${value.length}`),
    );
    expect(list.get(ID)).toEqual({ name: '', image: '', labels: {} });
    expect(list.get('y')).toEqual({ name: 'db', image: '', labels: {} });
    expect(list.get('z')).toEqual({ name: '', image: `sha256:${'e'.repeat(64)}`, labels: {} });
    expect(refused).toEqual([
      `container name=${hostile.length}`,
      `image=${hostile.length + 6}`,
      `label io.kubernetes.pod.name=${hostile.length}`,
      'label io.kubernetes.pod.uid=400',
      'image=513',
      'label io.kubernetes.container.name=5',
      'container name=256',
      'label io.kubernetes.pod.namespace=1',
    ]);
  });

  it('reloads on start, rename and destroy events only', () => {
    const c = containerSummary(ID, 'web', 'nginx');
    const line = (action: string): string => JSON.stringify(containerEvent(action, c));
    expect(['start', 'rename', 'destroy'].map((a) => isContainerChange(line(a)))).toEqual([true, true, true]);
    expect(['die', 'exec_start: sh', 'health_status: healthy'].map((a) => isContainerChange(line(a)))).toEqual([
      false,
      false,
      false,
    ]);
    expect(isContainerChange(JSON.stringify({ Type: 'network', Action: 'destroy' }))).toBe(false);
    expect(isContainerChange('{not json')).toBe(false);
    expect(isContainerChange('')).toBe(false);
  });
});

describe('Kubernetes response parsing', () => {
  it('maps container ids (any runtime scheme) and pod UIDs; selected labels get metric names', () => {
    const tables = parsePodList(
      {
        items: [
          podJson({
            uid: 'u1',
            name: 'web',
            namespace: 'shop',
            nodeName: 'n1',
            labels: { 'app.kubernetes.io/name': 'web', tier: 'front' },
            containers: { a: `containerd://${ID}`, b: 'cri-o://abc', c: 'docker://def', d: 'waiting-no-scheme' },
          }),
          { metadata: { name: 'no-uid' } },
          'garbage',
        ],
      },
      ['app.kubernetes.io/name'],
    );
    const pod = { podUid: 'u1', podName: 'web', namespace: 'shop', nodeName: 'n1', labels: { kubernetes_pod_label_app_kubernetes_io_name: 'web' } };
    expect(tables.byPod.get('u1')).toEqual(pod);
    expect(tables.byPod.size).toBe(1);
    expect(tables.byContainer.get(ID)).toEqual({ pod, containerName: 'a', runtime: 'containerd' });
    expect(tables.byContainer.get('abc')?.runtime).toBe('cri-o');
    expect(tables.byContainer.get('def')?.runtime).toBe('docker');
    expect(tables.byContainer.size).toBe(3);
  });

  it('refuses a body that is no PodList; leaves out names and label values Kubernetes does not allow', () => {
    expect(() => parsePodList({ kind: 'Status', items: 'none' }, [])).toThrow(MetadataAnswerError);
    expect(() => parsePodList([], [])).toThrow(/not a PodList/);
    const refused: string[] = [];
    const pod = (uid: string, name: string, namespace: string, labels: Record<string, string>, container: string) =>
      podJson({ uid, name, namespace, nodeName: 'n1', labels, containers: { [container]: `containerd://${uid.repeat(64).slice(0, 64)}` } });
    const tables = parsePodList(
      {
        items: [
          pod('a', 'web-0', 'shop', { app: 'web', tier: '' }, 'nginx'),
          pod('b', 'Web_0', 'shop\nevil', { app: 'x'.repeat(64), tier: 'a"b' }, 'side car'),
          pod('c', 'db-0', 'data', { app: '-edge-', tier: '\u0000' }, 'x'.repeat(64)),
        ],
      },
      ['app', 'tier'],
      (field, value) => refused.push(`${field}=${JSON.stringify(value.slice(0, 8))}`),
    );
    // A valid empty label value stays: Kubernetes allows it.
    expect(tables.byPod.get('a')).toEqual({ podUid: 'a', podName: 'web-0', namespace: 'shop', nodeName: 'n1', labels: { kubernetes_pod_label_app: 'web', kubernetes_pod_label_tier: '' } });
    // The pod stays (its UID is what the cgroup names), without the values that break the rules.
    expect(tables.byPod.get('b')).toEqual({ podUid: 'b', podName: '', namespace: '', nodeName: 'n1', labels: {} });
    expect(tables.byPod.get('c')).toEqual({ podUid: 'c', podName: 'db-0', namespace: 'data', nodeName: 'n1', labels: {} });
    expect(tables.byContainer.get('b'.repeat(64))?.containerName).toBe('');
    expect(tables.byContainer.get('c'.repeat(64))?.containerName).toBe('');
    expect(refused).toEqual([
      'label app="xxxxxxxx"',
      'label tier="a\\"b"',
      'pod name="Web_0"',
      'namespace="shop\\nevi"',
      'container name="side car"',
      'label app="-edge-"',
      'label tier="\\u0000"',
      'container name="xxxxxxxx"',
    ]);
  });

  it('label names are sanitized to the Prometheus charset', () => {
    expect(podLabelMetricName('app.kubernetes.io/name')).toBe('kubernetes_pod_label_app_kubernetes_io_name');
    expect(podLabelMetricName('team-owner')).toBe('kubernetes_pod_label_team_owner');
  });

  it('API URL from options or the in-cluster environment (IPv6 bracketed)', () => {
    expect(kubernetesApiUrl({ apiUrl: 'https://k:6443/' }, {})).toBe('https://k:6443');
    expect(kubernetesApiUrl({}, { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' })).toBe('https://10.96.0.1:443');
    expect(kubernetesApiUrl({}, { KUBERNETES_SERVICE_HOST: 'fd00::1' })).toBe('https://[fd00::1]:443');
    expect(kubernetesApiUrl({}, {})).toBeNull();
  });
});
