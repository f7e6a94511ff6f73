import { describe, expect, it } from 'vitest';
import { isNamespacedCgroup, normaliseCgroupPath, parseCgroup, parseCgroupDirs, placeCgroupDirs } from '../../../../src/sensors/containers/cgroup.js';
import * as F from '../../../support/fixtures/cgroups.js';

describe('parseCgroup: containers', () => {
  it('docker, cgroup v2, systemd driver', () => {
    expect(parseCgroup(F.DOCKER_V2_SYSTEMD)).toEqual({ containerId: F.DOCKER_ID, containerRuntime: 'docker' });
  });
  it('docker, cgroup v2, cgroupfs driver', () => {
    expect(parseCgroup(F.DOCKER_V2_CGROUPFS)).toEqual({ containerId: F.DOCKER_ID, containerRuntime: 'docker' });
  });
  it('docker, hybrid v1: the container is found in the v1 controllers although the unified line names a unit', () => {
    expect(parseCgroup(F.DOCKER_V1_CGROUPFS)).toEqual({ containerId: F.DOCKER_ID, containerRuntime: 'docker' });
  });
  it('kubernetes containerd v2: burstable pod, UID with dashes restored', () => {
    expect(parseCgroup(F.K8S_V2_BURSTABLE)).toEqual({
      containerId: F.CONTAINERD_ID,
      containerRuntime: 'containerd',
      kubernetesPodUid: F.POD_UID,
      kubernetesPodQosClass: 'burstable',
    });
  });
  it('kubernetes v2: guaranteed pod (no QoS slice) and besteffort static pod', () => {
    expect(parseCgroup(F.K8S_V2_GUARANTEED)).toMatchObject({
      kubernetesPodUid: F.POD_UID_2,
      kubernetesPodQosClass: 'guaranteed',
    });
    expect(parseCgroup(F.K8S_V2_BESTEFFORT_STATIC)).toMatchObject({
      kubernetesPodUid: F.STATIC_POD_UID,
      kubernetesPodQosClass: 'besteffort',
    });
  });
  it('kubernetes v1 cgroupfs: bare id under the pod dir, runtime left for the API to fill', () => {
    expect(parseCgroup(F.K8S_V1_CGROUPFS)).toEqual({
      containerId: F.DOCKER_ID,
      kubernetesPodUid: F.POD_UID,
      kubernetesPodQosClass: 'besteffort',
    });
    expect(parseCgroup(F.K8S_V1_GUARANTEED)).toEqual({
      containerId: F.CONTAINERD_ID,
      kubernetesPodUid: F.POD_UID_2,
      kubernetesPodQosClass: 'guaranteed',
    });
  });
  it('cri-o container; its conmon is no container but stays in the pod', () => {
    expect(parseCgroup(F.CRIO_V2)).toEqual({
      containerId: F.CRIO_ID,
      containerRuntime: 'cri-o',
      kubernetesPodUid: F.POD_UID,
      kubernetesPodQosClass: 'burstable',
    });
    expect(parseCgroup(F.CRIO_CONMON_V2)).toEqual({
      systemdUnit: `crio-conmon-${F.CRIO_ID}.scope`,
      kubernetesPodUid: F.POD_UID,
      kubernetesPodQosClass: 'burstable',
    });
  });
  it('podman rootful, rootless and cgroupfs; conmon is a unit, not a container', () => {
    const podman = { containerId: F.PODMAN_ID, containerRuntime: 'podman' };
    expect(parseCgroup(F.PODMAN_ROOTFUL_V2)).toEqual(podman);
    expect(parseCgroup(F.PODMAN_ROOTLESS_V2)).toEqual(podman);
    expect(parseCgroup(F.PODMAN_V1_CGROUPFS)).toEqual(podman);
    expect(parseCgroup(F.PODMAN_CONMON_V2)).toEqual({ systemdUnit: `libpod-conmon-${F.PODMAN_ID}.scope` });
  });
  it('nested: kind pods resolve to the innermost container and its pod, kind services to the node container', () => {
    expect(parseCgroup(F.KIND_POD_V2)).toEqual({
      containerId: F.CONTAINERD_ID,
      containerRuntime: 'containerd',
      kubernetesPodUid: F.POD_UID,
      kubernetesPodQosClass: 'besteffort',
    });
    expect(parseCgroup(F.KIND_NODE_SERVICE_V2)).toEqual({ containerId: F.KIND_NODE_ID, containerRuntime: 'docker' });
    expect(parseCgroup(F.DIND_V1)).toEqual({ containerId: F.DOCKER_ID, containerRuntime: 'docker' });
  });
});

describe('parseCgroup: systemd units and the rest', () => {
  it('system services on v2 and v1', () => {
    expect(parseCgroup(F.SYSTEMD_SERVICE_V2)).toEqual({ systemdUnit: 'nginx.service' });
    expect(parseCgroup(F.SYSTEMD_SERVICE_V1)).toEqual({ systemdUnit: 'nginx.service' });
  });
  it('user sessions and user services', () => {
    expect(parseCgroup(F.USER_SESSION_V2)).toEqual({ systemdUnit: 'session-3.scope' });
    expect(parseCgroup(F.USER_APP_SERVICE_V2)).toEqual({ systemdUnit: 'pipewire.service' });
    expect(parseCgroup(F.INIT_SCOPE_V2)).toEqual({ systemdUnit: 'init.scope' });
  });
  it('root cgroup, empty or malformed files give null', () => {
    expect(parseCgroup(F.KERNEL_THREAD_V2)).toBeNull();
    expect(parseCgroup('')).toBeNull();
    expect(parseCgroup('garbage without colons\n')).toBeNull();
  });
  it('an id that is not 64 hex digits is not a container', () => {
    expect(parseCgroup('0::/system.slice/docker-abc.scope\n')).toEqual({ systemdUnit: 'docker-abc.scope' });
    expect(parseCgroup(`0::/docker/${F.DOCKER_ID.slice(1)}\n`)).toBeNull();
  });
});

describe('parseCgroupDirs: where a group\'s cpu.stat lives', () => {
  const us = (uid: string): string => uid.replace(/-/g, '_');
  it('names the container scope and its pod slice on cgroup v2', () => {
    const pod = `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${us(F.POD_UID)}.slice`;
    expect(parseCgroupDirs(F.K8S_V2_BURSTABLE)).toEqual({ container: `${pod}/cri-containerd-${F.CONTAINERD_ID}.scope`, pod });
    expect(parseCgroupDirs(F.DOCKER_V2_SYSTEMD)).toEqual({ container: `/system.slice/docker-${F.DOCKER_ID}.scope` });
    // podman puts the payload in a `container` child: the scope above it is the container's group.
    expect(parseCgroupDirs(F.PODMAN_ROOTFUL_V2)).toEqual({ container: `/machine.slice/libpod-${F.PODMAN_ID}.scope` });
    // kind: the innermost container and its pod, not the node container around them.
    expect(parseCgroupDirs(F.KIND_POD_V2)?.pod).toMatch(/kubelet-kubepods-besteffort-pod.*\.slice$/);
    expect(parseCgroupDirs(F.KIND_POD_V2)?.container).toMatch(new RegExp(`cri-containerd-${F.CONTAINERD_ID}\\.scope$`));
  });

  it('names the unit of everything outside a container', () => {
    expect(parseCgroupDirs(F.SYSTEMD_SERVICE_V2)).toEqual({ unit: '/system.slice/nginx.service' });
    expect(parseCgroupDirs(F.USER_APP_SERVICE_V2)).toEqual({ unit: '/user.slice/user-1000.slice/user@1000.service/app.slice/pipewire.service' });
    expect(parseCgroupDirs(F.USER_SESSION_V2)).toEqual({ unit: '/user.slice/user-1000.slice/session-3.scope' });
  });

  it('has nothing for cgroup v1, the root, or a unified line that does not hold the container', () => {
    expect(parseCgroupDirs(F.SYSTEMD_SERVICE_V1)).toBeNull();
    expect(parseCgroupDirs(F.K8S_V1_CGROUPFS)).toBeNull();
    expect(parseCgroupDirs(F.KERNEL_THREAD_V2)).toBeNull();
    // Docker on a hybrid host: parseCgroup finds the container in the v1 lines, the 0:: line has none.
    expect(parseCgroupDirs(F.DOCKER_V1_CGROUPFS)?.container).toBeUndefined();
  });
});

describe('cgroup paths that leave the hierarchy', () => {
  const us = (uid: string): string => uid.replace(/-/g, '_');
  const podSlice = `kubepods-burstable-pod${us(F.POD_UID)}.slice`;

  it('normalises `.` and `..` inside a path; a path climbing above where it started is null', () => {
    expect(normaliseCgroupPath('/system.slice/./nginx.service')).toEqual({ names: ['system.slice', 'nginx.service'], up: 0 });
    expect(normaliseCgroupPath('/a.slice/b/../nginx.service')).toEqual({ names: ['a.slice', 'nginx.service'], up: 0 });
    expect(normaliseCgroupPath('/kubepods.slice/../../outside/evil.service')).toBeNull();
    expect(normaliseCgroupPath('/a/..')).toEqual({ names: [], up: 0 });
    expect(normaliseCgroupPath('/a/../..')).toBeNull();
    // Leading `..` only: a process outside a private namespace's root, as the kernel writes it.
    expect(normaliseCgroupPath(`/../../${podSlice}/x.scope`)).toEqual({ names: [podSlice, 'x.scope'], up: 2 });
    expect(normaliseCgroupPath(`/../../${podSlice}/../../../etc`)).toBeNull();
    expect(normaliseCgroupPath('/system.slice/a\u0000b.service')).toBeNull();
  });

  it('the `0::` path of /kubepods.slice/../../outside/evil.service is ignored: no directory, no labels, the reason given', () => {
    const evil = '0::/kubepods.slice/../../outside/evil.service\n';
    expect(placeCgroupDirs(evil)).toEqual({ dirs: null, problem: 'outside', path: '/kubepods.slice/../../outside/evil.service' });
    expect(parseCgroupDirs(evil)).toBeNull();
    expect(parseCgroup(evil)).toBeNull();
    // Escaping the root by one more `..` than the names it went through, in the middle of a container path.
    const sneaky = `0::/kubepods.slice/kubepods-burstable.slice/${podSlice}/../../../../cri-containerd-${F.CONTAINERD_ID}.scope\n`;
    expect(placeCgroupDirs(sneaky).problem).toBe('outside');
    expect(parseCgroup(sneaky)).toBeNull();
    // `..` that stays inside is resolved: the unit is the one the path ends in.
    expect(parseCgroupDirs('0::/system.slice/cron.service/../nginx.service\n')).toEqual({ unit: '/system.slice/nginx.service' });
    expect(parseCgroup('0::/system.slice/cron.service/../nginx.service\n')).toEqual({ systemdUnit: 'nginx.service' });
  });

  it('still places the systemd slice paths seen from a private cgroup namespace, and says why others cannot be', () => {
    const fromPod = `0::/../../kubepods-burstable.slice/${podSlice}/cri-containerd-${F.CONTAINERD_ID}.scope\n`;
    expect(isNamespacedCgroup(fromPod)).toBe(true);
    expect(placeCgroupDirs(fromPod)).toEqual({
      dirs: {
        container: `/kubepods.slice/kubepods-burstable.slice/${podSlice}/cri-containerd-${F.CONTAINERD_ID}.scope`,
        pod: `/kubepods.slice/kubepods-burstable.slice/${podSlice}`,
      },
      problem: null,
      path: `/../../kubepods-burstable.slice/${podSlice}/cri-containerd-${F.CONTAINERD_ID}.scope`,
    });
    expect(parseCgroup(fromPod)).toMatchObject({ containerId: F.CONTAINERD_ID, kubernetesPodUid: F.POD_UID });
    expect(parseCgroupDirs('0::/../../../../system.slice/kubelet.service\n')).toEqual({ unit: '/system.slice/kubelet.service' });
    const cgroupfsDriver = `0::/../../pod${F.POD_UID}/${F.CONTAINERD_ID}\n`;
    expect(placeCgroupDirs(cgroupfsDriver).problem).toBe('unplaceable');
    expect(parseCgroup(cgroupfsDriver)).toMatchObject({ containerId: F.CONTAINERD_ID, kubernetesPodUid: F.POD_UID });
  });
});
