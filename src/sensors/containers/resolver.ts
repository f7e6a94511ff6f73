/**
 * Resolves a process to where it runs: its cgroup (read once per (pid, starttime)) parsed into a
 * container / pod / systemd unit, merged with Docker and Kubernetes metadata kept fresh in the background
 * (never waited for: a process gets its names once its source has answered).
 *
 * The cgroup path is the kernel's word and the metadata is a daemon's: where they disagree (an API naming
 * another pod for a container id), the cgroup wins and the disagreeing names are left out, said once.
 * `resolveSync` is the per-process, per-sample call: after the first time it is a map lookup and a
 * generation compare, and its answer changes when names arrive or a container is renamed — so call it
 * every sample rather than keeping the first answer for the process's life.
 */
import { readRegularFileSync } from '../../core/bounded-fs.js';
import type { Logger } from '../../core/log.js';
import type { ContainerInfo } from '../../core/sample.js';
import { parseCgroup, placeCgroupDirs, type CgroupDirs, type CgroupPlacement } from './cgroup.js';
import { DockerMetadata, type DockerContainerMeta, type DockerMetadataOptions } from './docker.js';
import {
  kubernetesApiUrl,
  KubernetesMetadata,
  type KubernetesMetadataOptions,
  type KubernetesPodMeta,
} from './kubernetes.js';

export interface ContainerResolverOptions {
  /** Default /proc. */
  readonly procfsRoot?: string;
  /** Docker Engine API options, or false to not ask Docker. Default: on, /var/run/docker.sock. */
  readonly docker?: DockerMetadataOptions | false;
  /** Kubernetes API options, or false. Default: on when KUBERNETES_SERVICE_HOST is set (in a pod). */
  readonly kubernetes?: KubernetesMetadataOptions | false;
  /** Environment to read KUBERNETES_SERVICE_HOST/PORT from (tests). Default process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

interface CacheEntry {
  starttime: number;
  /** What the cgroup path alone says. */
  base: ContainerInfo | null;
  /** cgroup v2 directories of its container, pod or unit. */
  dirs: CgroupDirs | null;
  /** base + metadata, as of metadata generation `mergedGeneration`. */
  merged: ContainerInfo | null;
  mergedGeneration: number;
  /** Sweep generation in which this process was last resolved. */
  seen: number;
}

/** /proc/PID/cgroup: a line per hierarchy, each path at most PATH_MAX (4 KiB); more is not that file. */
const CGROUP_FILE_MAX_BYTES = 64 * 1024;

type MutableInfo = { -readonly [K in keyof ContainerInfo]: ContainerInfo[K] };

export class ContainerResolver {
  readonly docker: DockerMetadata | null;
  readonly kubernetes: KubernetesMetadata | null;
  private readonly cache = new Map<number, CacheEntry>();
  private readonly procfsRoot: string;
  private readonly logger: Logger;
  private sweepGeneration = 0;
  private namespacedSaid = false;
  private outsideSaid = false;
  private disagreementSaid = false;

  constructor(options: ContainerResolverOptions, logger: Logger) {
    this.procfsRoot = options.procfsRoot ?? '/proc';
    this.logger = logger;
    this.docker = options.docker === false ? null : new DockerMetadata(options.docker ?? {}, logger);
    const kubeOptions = options.kubernetes === false ? null : (options.kubernetes ?? {});
    const apiUrl = kubeOptions ? kubernetesApiUrl(kubeOptions, options.env ?? process.env) : null;
    if (kubeOptions && !apiUrl) logger.debug('not in a Kubernetes pod (no KUBERNETES_SERVICE_HOST): no pod metadata');
    this.kubernetes = kubeOptions && apiUrl ? new KubernetesMetadata(apiUrl, kubeOptions, logger) : null;
  }

  /**
   * Sets the first metadata loads going, without waiting for them: sampling starts at once, and names
   * appear when a source answers (a failing source is one warning and no labels). Never throws.
   */
  start(): void {
    this.docker?.start();
    this.kubernetes?.start();
  }

  /** Resolves when the loads under way have ended (tests, and callers that want the first names). */
  async settled(): Promise<void> {
    await Promise.all([this.docker?.settled(), this.kubernetes?.settled()]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.docker?.stop(), this.kubernetes?.stop()]);
    this.cache.clear();
  }

  /** Where process (pid, starttime) runs; null at the root cgroup or when the process is gone. */
  resolve(pid: number, starttime: number): Promise<ContainerInfo | null> {
    return Promise.resolve(this.resolveSync(pid, starttime));
  }

  /**
   * Same as `resolve`, synchronously: the first call per (pid, starttime) reads `<procfs>/<pid>/cgroup`
   * (a few hundred bytes; synchronous like the rest of the procfs reads, which is faster than the
   * thread-pool round trip), later calls are a map lookup.
   */
  resolveSync(pid: number, starttime: number): ContainerInfo | null {
    let entry = this.cache.get(pid);
    if (!entry || entry.starttime !== starttime) {
      const text = this.readCgroup(pid);
      if (text === null) return null;
      const base = parseCgroup(text);
      const placed = placeCgroupDirs(text);
      if (placed.problem !== null) this.sayUnplaced(pid, placed);
      entry = { starttime, base: base && Object.freeze(base), dirs: placed.dirs, merged: null, mergedGeneration: -1, seen: 0 };
      this.cache.set(pid, entry);
    }
    entry.seen = this.sweepGeneration;
    const generation = this.metadataGeneration();
    if (entry.mergedGeneration !== generation) {
      entry.merged = this.merge(entry.base);
      entry.mergedGeneration = generation;
    }
    return entry.merged;
  }

  /**
   * The cgroup v2 directories of the container / pod / unit of process (pid, starttime), as read by the
   * last resolveSync of that process (call it first); null when unknown or not on cgroup v2.
   */
  cgroupDirsSync(pid: number, starttime: number): CgroupDirs | null {
    const entry = this.cache.get(pid);
    return entry && entry.starttime === starttime ? entry.dirs : null;
  }

  /**
   * Ends a sample: forgets processes not resolved since the previous sweep (they ended, or pid reuse
   * will re-read them). Returns how many were forgotten.
   */
  sweep(): number {
    let forgotten = 0;
    for (const pid of this.cache.keys()) {
      if (this.cache.get(pid)?.seen !== this.sweepGeneration) {
        this.cache.delete(pid);
        forgotten++;
      }
    }
    this.sweepGeneration++;
    return forgotten;
  }

  get cachedProcesses(): number {
    return this.cache.size;
  }

  private readCgroup(pid: number): string | null {
    try {
      return readRegularFileSync(`${this.procfsRoot}/${pid}/cgroup`, CGROUP_FILE_MAX_BYTES).toString('utf8');
    } catch {
      // ENOENT/ESRCH: the process ended between listing and reading — normal. Anything else (hidepid,
      // EACCES) leaves this process without container labels, like the root cgroup.
      return null;
    }
  }

  /** Once per run and kind: a path that leaves the mount, or one from a private namespace that cannot be placed. */
  private sayUnplaced(pid: number, placed: CgroupPlacement): void {
    const cgroup = `0::${placed.path}`;
    if (placed.problem === 'outside') {
      if (this.outsideSaid) return;
      this.outsideSaid = true;
      this.logger.warn(
        { pid, cgroup },
        'a /proc/PID/cgroup path climbs out of the cgroup hierarchy (".." past its root, not a path the kernel writes): ' +
          'ignored, nothing outside --cgroupfs-path is read; such processes get no container, pod or unit (said once)',
      );
      return;
    }
    if (this.namespacedSaid) return;
    this.namespacedSaid = true;
    this.logger.warn(
      { cgroup },
      'cgroup paths are relative to scaph\'s own cgroup namespace and this one cannot be placed under the host\'s ' +
        'hierarchy (only systemd slice paths can): container, pod and unit power is the sum of their processes. ' +
        'Run scaph in the host\'s cgroup namespace, or use the systemd cgroup driver',
    );
  }

  /** Once per run: a metadata source named another pod for a container than its cgroup path does. */
  private sayDisagreement(source: string, containerId: string, cgroupPodUid: string, claimedPodUid: string): void {
    if (this.disagreementSaid) return;
    this.disagreementSaid = true;
    this.logger.warn(
      { source, containerId, cgroupPodUid, claimedPodUid },
      `the ${source} puts a container in another pod than its cgroup path does: the cgroup path wins, the ${source}'s ` +
        'names for that container are left out (said once)',
    );
  }

  /** Both generations only grow, so their sum changes whenever either table is replaced. */
  private metadataGeneration(): number {
    return (this.docker?.generation ?? 0) + (this.kubernetes?.generation ?? 0);
  }

  private merge(base: ContainerInfo | null): ContainerInfo | null {
    if (!base || (base.containerId === undefined && base.kubernetesPodUid === undefined)) return base;
    const out: MutableInfo = { ...base };
    const id = base.containerId;
    const podUid = base.kubernetesPodUid;
    if (id !== undefined && this.docker && (base.containerRuntime ?? 'docker') === 'docker') {
      const meta = this.docker.lookup(id);
      if (meta) {
        const claimed = meta.labels['io.kubernetes.pod.uid'];
        const agrees = claimed === undefined || podUid === undefined || claimed === podUid;
        if (!agrees) this.sayDisagreement(this.docker.sourceName, id, podUid ?? '', claimed ?? '');
        applyDocker(out, meta, agrees);
      }
    }
    // Only containers and processes in a kubepods cgroup are worth asking the API about.
    if (this.kubernetes && podUid !== undefined) {
      let container = id === undefined ? undefined : this.kubernetes.lookupContainer(id);
      if (container && id !== undefined && container.pod.podUid !== podUid) {
        this.sayDisagreement(this.kubernetes.sourceName, id, podUid, container.pod.podUid);
        container = undefined;
      }
      if (container) {
        if (container.containerName) out.kubernetesContainerName = container.containerName;
        out.containerRuntime ??= container.runtime;
        applyPod(out, container.pod);
      } else {
        const pod = this.kubernetes.lookupPod(podUid);
        if (pod) applyPod(out, pod);
      }
    }
    return Object.freeze(out);
  }
}

/** Docker's names; the Kubernetes ones from its labels only when they are about the cgroup's pod (`podAgrees`). */
function applyDocker(out: MutableInfo, meta: DockerContainerMeta, podAgrees: boolean): void {
  out.containerRuntime = 'docker';
  if (meta.name) out.containerName = meta.name;
  if (meta.image) out.containerImage = meta.image;
  if (!podAgrees) return;
  // dockershim-era Kubernetes labels its containers: names without asking the API server.
  const labels = meta.labels;
  out.kubernetesPodName ??= labels['io.kubernetes.pod.name'];
  out.kubernetesPodNamespace ??= labels['io.kubernetes.pod.namespace'];
  out.kubernetesContainerName ??= labels['io.kubernetes.container.name'];
  for (const key of ['kubernetesPodName', 'kubernetesPodNamespace', 'kubernetesContainerName'] as const) {
    if (out[key] === undefined) delete out[key];
  }
}

/** A pod's names (the UID is the cgroup's: lookups are by it, or checked against it). */
function applyPod(out: MutableInfo, pod: KubernetesPodMeta): void {
  if (pod.podName) out.kubernetesPodName = pod.podName;
  if (pod.namespace) out.kubernetesPodNamespace = pod.namespace;
  if (pod.nodeName) out.kubernetesNodeName = pod.nodeName;
  if (Object.keys(pod.labels).length > 0) out.kubernetesPodLabels = pod.labels;
}
