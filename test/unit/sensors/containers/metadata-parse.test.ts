import { describe, expect, it } from 'vitest';
import { isContainerChange, parseContainerList } from '../../../../src/sensors/containers/docker.js';
import { kubernetesApiUrl, parsePodList, podLabelMetricName } from '../../../../src/sensors/containers/kubernetes.js';
import { containerEvent, containerSummary } from '../../../support/servers/docker-api.js';
import { podJson } from '../../../support/servers/kube-api.js';

const ID = 'f'.repeat(64);

describe('Docker response parsing', () => {
  it('keeps id, name without slash, image and string labels; skips malformed entries', () => {
    const list = parseContainerList([
      containerSummary(ID, 'web', 'nginx:1.25', { a: 'b' }),
      { Names: ['/no-id'] },
      null,
      { Id: 'x', Names: 'not-an-array', Image: 3, Labels: { n: 1, s: 't' } },
    ]);
    expect([...list.entries()]).toEqual([
      [ID, { name: 'web', image: 'nginx:1.25', labels: { a: 'b' } }],
      ['x', { name: '', image: '', labels: { s: 't' } }],
    ]);
    expect(parseContainerList({ message: 'not a list' }).size).toBe(0);
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
