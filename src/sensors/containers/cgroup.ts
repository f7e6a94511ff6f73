/**
 * Parses /proc/PID/cgroup (v1, v2 and hybrid) into where the process runs: a container (id, runtime,
 * Kubernetes pod UID and QoS class from kubepods paths) or, for everything else, a systemd unit.
 * Pure: no I/O. Called once per (pid, starttime) by the resolver, so it favours clarity over speed,
 * but still compiles no regex per call.
 */
import type { ContainerInfo } from '../../core/sample.js';

/** Container runtimes as written in the container_runtime label. */
export type ContainerRuntime = 'docker' | 'containerd' | 'cri-o' | 'podman';

/**
 * systemd-driver scopes (`docker-<id>.scope`, `cri-containerd-<id>.scope`, `crio-<id>.scope`,
 * `libpod-<id>.scope`, `nerdctl-<id>.scope`) and podman's cgroupfs `libpod-<id>`. The id must be 64 hex
 * digits, so `crio-conmon-<id>.scope` and `libpod-conmon-<id>.scope` (the monitors, not containers) never match.
 */
const SCOPE_RE = /^(docker|cri-containerd|crio|libpod|nerdctl)-([0-9a-f]{64})(?:\.scope)?$/;
/** cgroupfs driver: a bare id under `/docker/`, `/kubepods/<qos>/pod<uid>/`, … */
const BARE_ID_RE = /^[0-9a-f]{64}$/;
/**
 * systemd-driver pod slice: `kubepods-pod<uid>.slice` (guaranteed), `kubepods-burstable-pod<uid>.slice`,
 * with any parent prefix (kind's `kubelet-kubepods-…`). The UID has `-` turned into `_`; static pods have
 * a 32-hex UID without dashes.
 */
const POD_SLICE_RE = /(?:^|-)kubepods(?:-(burstable|besteffort))?-pod([0-9a-f_]{32,36})\.slice$/;
/** cgroupfs driver: `/kubepods/pod<uid>` (guaranteed) or `/kubepods/<qos>/pod<uid>`. */
const POD_DIR_RE = /^pod([0-9a-f-]{32,36})$/;
const UNDERSCORE_RE = /_/g;

const RUNTIME_BY_PREFIX: Readonly<Record<string, ContainerRuntime>> = {
  docker: 'docker',
  'cri-containerd': 'containerd',
  nerdctl: 'containerd',
  crio: 'cri-o',
  libpod: 'podman',
};

/** Parent directory of a bare id → runtime (cgroupfs driver). Under a pod the runtime is unknown here. */
const RUNTIME_BY_PARENT: Readonly<Record<string, ContainerRuntime>> = {
  docker: 'docker',
  libpod_parent: 'podman',
};

interface ContainerHit {
  readonly index: number;
  readonly id: string;
  readonly runtime: ContainerRuntime | undefined;
}

interface PodHit {
  readonly index: number;
  readonly uid: string;
  readonly qosClass: string;
}

/**
 * cgroup v2 directories (relative to the cgroup2 mount, leading `/`) of the groups a process belongs to:
 * their `cpu.stat` counts the CPU time of every task that ever ran inside, ended ones included.
 */
export interface CgroupDirs {
  readonly container?: string;
  readonly pod?: string;
  /** The systemd unit's directory, for processes outside any container. */
  readonly unit?: string;
}

/**
 * Where a process runs, from the text of its /proc/PID/cgroup; null when it sits at the root (kernel
 * threads) or the file is empty.
 */
export function parseCgroup(text: string): ContainerInfo | null {
  let best: ContainerInfo | null = null;
  let previousPath = '';
  for (const path of cgroupPaths(text)) {
    // v1 lists the same path once per controller: parse each distinct path once.
    if (path === previousPath) continue;
    previousPath = path;
    const info = parseCgroupPath(path);
    if (info?.containerId !== undefined) return info;
    if (info && !best) best = info;
  }
  return best;
}

/**
 * Paths in the order they are worth looking at: the v2 (`0::`) line first, then v1's `name=systemd`,
 * then the other v1 controllers (a container is found in any of them; the unit in the first).
 */
function cgroupPaths(text: string): string[] {
  const unified: string[] = [];
  const systemd: string[] = [];
  const others: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const firstColon = text.indexOf(':', start);
    const secondColon = firstColon < 0 || firstColon > end ? -1 : text.indexOf(':', firstColon + 1);
    if (secondColon >= 0 && secondColon < end) {
      const controllers = text.slice(firstColon + 1, secondColon);
      const path = text.slice(secondColon + 1, end);
      if (controllers === '') unified.push(path);
      else if (controllers === 'name=systemd') systemd.push(path);
      else others.push(path);
    }
    start = end + 1;
  }
  return [...unified, ...systemd, ...others];
}

/**
 * One cgroup path → container (innermost) with its pod, or the systemd unit; null at the root, or for a
 * path that leaves the hierarchy it names (see normaliseCgroupPath).
 */
export function parseCgroupPath(path: string): ContainerInfo | null {
  const parts = normaliseCgroupPath(path)?.names;
  if (parts === undefined || parts.length === 0) return null;
  const container = innermostContainer(parts);
  // The pod of a container is between it and the next container outwards (kind: node container, then pod).
  const outerLimit = container ? nextContainerOutwards(parts, container.index) : -1;
  const podEnd = container ? container.index : parts.length;
  const pod = findPod(parts, outerLimit + 1, podEnd);
  if (container) {
    return compact({
      containerId: container.id,
      containerRuntime: container.runtime,
      kubernetesPodUid: pod?.uid,
      kubernetesPodQosClass: pod?.qosClass,
    });
  }
  const unit = lastUnit(parts);
  if (!unit && !pod) return null;
  return compact({ systemdUnit: unit, kubernetesPodUid: pod?.uid, kubernetesPodQosClass: pod?.qosClass });
}

function innermostContainer(parts: readonly string[]): ContainerHit | null {
  for (let i = parts.length - 1; i >= 0; i--) {
    const hit = containerAt(parts, i);
    if (hit) return hit;
  }
  return null;
}

function nextContainerOutwards(parts: readonly string[], from: number): number {
  for (let i = from - 1; i >= 0; i--) if (containerAt(parts, i)) return i;
  return -1;
}

function containerAt(parts: readonly string[], i: number): ContainerHit | null {
  const part = parts[i] ?? '';
  const m = SCOPE_RE.exec(part);
  if (m) return { index: i, id: m[2] ?? '', runtime: RUNTIME_BY_PREFIX[m[1] ?? ''] };
  if (!BARE_ID_RE.test(part)) return null;
  const parent = i > 0 ? (parts[i - 1] ?? '') : '';
  return { index: i, id: part, runtime: RUNTIME_BY_PARENT[parent] };
}

/** The innermost pod component in parts[from, to). */
function findPod(parts: readonly string[], from: number, to: number): PodHit | null {
  for (let i = to - 1; i >= from; i--) {
    const part = parts[i] ?? '';
    const slice = POD_SLICE_RE.exec(part);
    if (slice) {
      return { index: i, uid: (slice[2] ?? '').replace(UNDERSCORE_RE, '-'), qosClass: slice[1] ?? 'guaranteed' };
    }
    const dir = POD_DIR_RE.exec(part);
    if (dir) {
      const parent = i > 0 ? parts[i - 1] : undefined;
      const qosClass = parent === 'burstable' || parent === 'besteffort' ? parent : 'guaranteed';
      return { index: i, uid: dir[1] ?? '', qosClass };
    }
  }
  return null;
}

/** The last `.service` or `.scope` component: the unit systemd accounts the process to. */
function lastUnit(parts: readonly string[]): string | undefined {
  const i = lastUnitIndex(parts);
  return i < 0 ? undefined : parts[i];
}

function lastUnitIndex(parts: readonly string[]): number {
  for (let i = parts.length - 1; i >= 0; i--) {
    const part = parts[i] ?? '';
    if (part.endsWith('.service') || part.endsWith('.scope')) return i;
  }
  return -1;
}

/** Drops undefined fields so the object carries only what is known (labels are added per field). */
function compact(info: { [K in keyof ContainerInfo]: ContainerInfo[K] | undefined }): ContainerInfo {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(info) as (keyof ContainerInfo)[]) {
    if (info[key] !== undefined) out[key] = info[key];
  }
  return out as ContainerInfo;
}

/**
 * A cgroup path as the names it goes through. The kernel writes a path relative to the reader's cgroup
 * namespace root: `..` only at its start (a process outside that root, seen from a private namespace), never
 * `.`, `..` or a NUL inside a name. Anything else is a file scaph did not get from the kernel: `..` after a
 * name is resolved, and a path climbing above where it started (`/kubepods.slice/../../outside/x.service`)
 * leaves the hierarchy: null, as is a name holding a NUL.
 */
export interface NormalisedCgroupPath {
  /** The names below the namespace root, `.` and `..` resolved. */
  readonly names: readonly string[];
  /** How many leading `..` climb out of the reader's namespace root first (0 from the host's namespace). */
  readonly up: number;
}

export function normaliseCgroupPath(path: string): NormalisedCgroupPath | null {
  const names: string[] = [];
  let up = 0;
  let named = false;
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (!named) up++;
      else if (names.pop() === undefined) return null;
      continue;
    }
    if (part.includes('\0')) return null;
    names.push(part);
    named = true;
  }
  return { names, up };
}

/** Where a process's cgroup v2 directories are, or why scaph does not read them. */
export interface CgroupPlacement {
  readonly dirs: CgroupDirs | null;
  /**
   * `outside`: the `0::` path leaves the mount (ignored); `unplaceable`: it is relative to a private cgroup
   * namespace and cannot be placed under the host's mount; null: placed, or nothing to place.
   */
  readonly problem: 'outside' | 'unplaceable' | null;
  /** The `0::` path as the file gave it ('' without one). */
  readonly path: string;
}

/**
 * The cgroup v2 directories of the container, pod and unit a process is in, from the `0::` line of its
 * /proc/PID/cgroup (the same choices as parseCgroup makes), as paths under the host's cgroup2 mount;
 * null dirs without a v2 line, at the root, or when the path cannot be placed under the mount (`problem`).
 */
export function placeCgroupDirs(text: string): CgroupPlacement {
  const at = text.startsWith('0::') ? 0 : text.indexOf('\n0::') + 1;
  if (at === 0 && !text.startsWith('0::')) return { dirs: null, problem: null, path: '' };
  let end = text.indexOf('\n', at);
  if (end < 0) end = text.length;
  const path = text.slice(at + 3, end);
  const normalised = normaliseCgroupPath(path);
  if (normalised === null) return { dirs: null, problem: 'outside', path };
  const parts = hostParts(normalised);
  if (parts === null) return { dirs: null, problem: 'unplaceable', path };
  return { dirs: dirsOf(parts), problem: null, path };
}

/** placeCgroupDirs without the reason: the directories, or null. */
export function parseCgroupDirs(text: string): CgroupDirs | null {
  return placeCgroupDirs(text).dirs;
}

function dirsOf(parts: readonly string[]): CgroupDirs | null {
  if (parts.length === 0) return null;
  const dirOf = (index: number): string => `/${parts.slice(0, index + 1).join('/')}`;
  const container = innermostContainer(parts);
  const outerLimit = container ? nextContainerOutwards(parts, container.index) : -1;
  const pod = findPod(parts, outerLimit + 1, container ? container.index : parts.length);
  const dirs: { container?: string; pod?: string; unit?: string } = {};
  if (container) dirs.container = dirOf(container.index);
  if (pod) dirs.pod = dirOf(pod.index);
  const unit = container ? -1 : lastUnitIndex(parts);
  if (unit >= 0) dirs.unit = dirOf(unit);
  return Object.keys(dirs).length === 0 ? null : dirs;
}

/** Whether a cgroup line is seen from a private cgroup namespace (`0::/../../…`). */
export function isNamespacedCgroup(text: string): boolean {
  return text.startsWith('0::/..') || text.includes('\n0::/..');
}

/**
 * The names of a path under the host's mount. One seen from inside a private cgroup namespace (scaph in a
 * pod or container) is relative to that namespace: `/../../kubepods-burstable-pod<uid>.slice/cri-containerd-<id>.scope`.
 * systemd names a slice after its ancestors (`a-b-c.slice` lives in `a.slice/a-b.slice`), so a path that
 * continues with a slice can be placed under the host's mount; any other one cannot (null).
 */
function hostParts({ names, up }: NormalisedCgroupPath): string[] | null {
  if (up === 0) return [...names];
  const first = names[0];
  if (first === undefined || !first.endsWith('.slice') || first === '-.slice') return null;
  const sliceNames = first.slice(0, -'.slice'.length).split('-');
  const slices = sliceNames.map((_, i) => `${sliceNames.slice(0, i + 1).join('-')}.slice`);
  return [...slices, ...names.slice(1)];
}
