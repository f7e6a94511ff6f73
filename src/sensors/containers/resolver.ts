/**
 * Resolves a process to where it runs: its cgroup (read once per (pid, starttime)) parsed into a
 * container / pod / systemd unit, merged with Docker and Kubernetes metadata kept fresh in the background.
 * `resolveSync` is the per-process, per-sample call: after the first time it is a map lookup and a
 * generation compare, and its answer changes when names arrive or a container is renamed — so call it
 * every sample rather than keeping the first answer for the process's life.
 */
import { readRegularFileSync } from '../../core/bounded-fs.js';
import type { Logger } from '../../core/log.js';
import type { ContainerInfo } from '../../core/sample.js';
import { isNamespacedCgroup, parseCgroup, parseCgroupDirs, type CgroupDirs } from './cgroup.js';
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

type MutableInfo = { -readonly [K in keyof ContainerInfo]: ContainerInfo[K] };

export class ContainerResolver {
  readonly docker: DockerMetadata | null;
  readonly kubernetes: KubernetesMetadata | null;
  private readonly cache = new Map<number, CacheEntry>();
  private readonly procfsRoot: string;
  private readonly logger: Logger;
  private sweepGeneration = 0;
  private namespacedSaid = false;

  constructor(options: ContainerResolverOptions, logger: Logger) {
    this.procfsRoot = options.procfsRoot ?? '/proc';
    this.logger = logger;
    this.docker = options.docker === false ? null : new DockerMetadata(options.docker ?? {}, logger);
    const kubeOptions = options.kubernetes === false ? null : (options.kubernetes ?? {});
    const apiUrl = kubeOptions ? kubernetesApiUrl(kubeOptions, options.env ?? process.env) : null;
    if (kubeOptions && !apiUrl) logger.debug('not in a Kubernetes pod (no KUBERNETES_SERVICE_HOST): no pod metadata');
    this.kubernetes = kubeOptions && apiUrl ? new KubernetesMetadata(apiUrl, kubeOptions, logger) : null;
  }

  /** First metadata loads (never throws: a failing source is one warning and no labels). */
  async start(): Promise<void> {
    await Promise.all([this.docker?.start(), this.kubernetes?.start()]);
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
      const dirs = parseCgroupDirs(text);
      if (dirs === null && !this.namespacedSaid && isNamespacedCgroup(text)) this.sayNamespaced(text);
      entry = { starttime, base: base && Object.freeze(base), dirs, merged: null, mergedGeneration: -1, seen: 0 };
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
      return readRegularFileSync(`${this.procfsRoot}/${pid}/cgroup`).toString('utf8');
    } catch {
      // ENOENT/ESRCH: the process ended between listing and reading — normal. Anything else (hidepid,
      // EACCES) leaves this process without container labels, like the root cgroup.
      return null;
    }
  }

  private sayNamespaced(text: string): void {
    this.namespacedSaid = true;
    this.logger.warn(
      { cgroup: text.trim().split('\n').find((l) => l.startsWith('0::')) },
      'cgroup paths are relative to scaph\'s own cgroup namespace and this one cannot be placed under the host\'s ' +
        'hierarchy (only systemd slice paths can): container, pod and unit power is the sum of their processes. ' +
        'Run scaph in the host\'s cgroup namespace, or use the systemd cgroup driver',
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
    if (id !== undefined && this.docker && (base.containerRuntime ?? 'docker') === 'docker') {
      const meta = this.docker.lookup(id);
      if (meta) applyDocker(out, meta);
    }
    // Only containers and processes in a kubepods cgroup are worth asking the API about.
    if (this.kubernetes && base.kubernetesPodUid !== undefined) {
      const container = id === undefined ? undefined : this.kubernetes.lookupContainer(id);
      if (container) {
        out.kubernetesContainerName = container.containerName;
        out.containerRuntime ??= container.runtime;
        applyPod(out, container.pod);
      } else {
        const pod = this.kubernetes.lookupPod(base.kubernetesPodUid);
        if (pod) applyPod(out, pod);
      }
    }
    return Object.freeze(out);
  }
}

function applyDocker(out: MutableInfo, meta: DockerContainerMeta): void {
  out.containerRuntime = 'docker';
  if (meta.name) out.containerName = meta.name;
  if (meta.image) out.containerImage = meta.image;
  // dockershim-era Kubernetes labels its containers: names without asking the API server.
  const labels = meta.labels;
  out.kubernetesPodName ??= labels['io.kubernetes.pod.name'];
  out.kubernetesPodNamespace ??= labels['io.kubernetes.pod.namespace'];
  out.kubernetesContainerName ??= labels['io.kubernetes.container.name'];
  for (const key of ['kubernetesPodName', 'kubernetesPodNamespace', 'kubernetesContainerName'] as const) {
    if (out[key] === undefined) delete out[key];
  }
}

function applyPod(out: MutableInfo, pod: KubernetesPodMeta): void {
  out.kubernetesPodUid = pod.podUid;
  out.kubernetesPodName = pod.podName;
  if (pod.namespace) out.kubernetesPodNamespace = pod.namespace;
  if (pod.nodeName) out.kubernetesNodeName = pod.nodeName;
  if (Object.keys(pod.labels).length > 0) out.kubernetesPodLabels = pod.labels;
}
