/**
 * Power per container, pod, namespace and systemd unit, in the same model as process power.
 *
 * With cgroup v2 a group's share of an interval comes from the kernel's own accounting: the growth of
 * `usage_usec` in its `cpu.stat` (CPU time of every task that ever ran inside, ended ones included)
 * over the machine's busy time, applied to the model's total. So a container whose processes came and
 * went between two readings (build jobs, cron, PHP workers) still gets its power, and a group whose
 * processes all ended inside the interval gets it too (its cgroup outlives them).
 *
 * Where cpu.stat cannot be read (cgroup v1, no access, the group's first interval) the group's power is
 * the sum of its live processes' power; which one applies is in GroupSample.source and said once in the
 * log. Within one kind, groups never sum to more than the model's total: cgroup figures are scaled down
 * when the accounting of the two files drifts apart. Namespaces are the sum of their pods.
 */
import { readFileSync } from 'node:fs';
import { energyUjFromPower } from '../core/energy.js';
import type { Logger } from '../core/log.js';
import type { ContainerInfo, GroupKind, GroupSample } from '../core/sample.js';
import type { CgroupDirs } from './cgroup.js';
import { USER_HZ } from './procfs.js';

const USEC_PER_TICK = 1_000_000 / USER_HZ;
const DEFAULT_IDLE_RETENTION_MS = 600_000;

/** One live process as the group tracker sees it. */
export interface GroupMember {
  readonly container: ContainerInfo;
  readonly dirs: CgroupDirs | null;
  readonly powerUw: number;
}

export interface GroupStepInput {
  readonly members: readonly GroupMember[];
  /** Busy ticks of the whole machine over the interval. */
  readonly busyTicks: number;
  /** What the model distributes (host or active power), whole µW. */
  readonly modelTotalUw: number;
  readonly intervalMs: number;
  readonly nowMs: number;
}

export interface GroupPowerOptions {
  /** cgroup2 mount (e.g. /sys/fs/cgroup), or null when the machine has none (cgroup v1 only). */
  readonly cgroupfsRoot: string | null;
  readonly logger: Logger;
  /** How long a group without live processes keeps its energy counter, ms. Default 10 minutes. */
  readonly idleRetentionMs?: number;
  /** Reads a cpu.stat file (tests); default readFileSync. */
  readonly readText?: (path: string) => string;
}

interface TrackedGroup {
  readonly kind: GroupKind;
  readonly key: string;
  container: ContainerInfo;
  dir: string | null;
  /** usage_usec at the last reading, null when unread. */
  usageUsec: number | null;
  /** The step that last read usageUsec: a baseline older than the previous step is stale. */
  usageStep: number;
  energyUj: number;
  /** A live process was in it at the last reading. */
  live: boolean;
  lastEmittedMs: number;
}

interface StepGroup {
  readonly tracked: TrackedGroup;
  /** Σ live members' power, whole µW. */
  processesUw: number;
  liveNow: boolean;
  /** cgroup-based power before clamping, µW (float), or null when the group uses its processes. */
  cgroupUw: number | null;
  powerUw: number;
}

const CGROUP_KINDS: readonly Exclude<GroupKind, 'namespace'>[] = ['container', 'pod', 'systemd_unit'];

export class GroupPowerTracker {
  private readonly groups = new Map<string, TrackedGroup>();
  private readonly options: GroupPowerOptions;
  private readonly readText: (path: string) => string;
  private readonly loggedReasons = new Set<string>();
  private stepCount = 0;

  constructor(options: GroupPowerOptions) {
    this.options = options;
    this.readText = options.readText ?? ((path) => readFileSync(path, 'latin1'));
    if (options.cgroupfsRoot === null) {
      options.logger.info(
        'no cgroup v2 hierarchy: container, pod and unit power is the sum of their live processes\' power ' +
          '(processes that ended between two readings are not in it)',
      );
    }
  }

  /** Groups of one interval, every kind, in a stable order (kind, then first sighting). */
  step(input: GroupStepInput): GroupSample[] {
    this.stepCount += 1;
    const byKind = new Map<GroupKind, StepGroup[]>();
    for (const kind of CGROUP_KINDS) byKind.set(kind, this.stepKind(kind, input));
    byKind.set('namespace', this.namespaces(byKind.get('pod') ?? [], input.nowMs));
    const out: GroupSample[] = [];
    for (const [, list] of byKind) {
      for (const g of list) {
        const t = g.tracked;
        t.energyUj += energyUjFromPower(g.powerUw, input.intervalMs);
        t.lastEmittedMs = input.nowMs;
        out.push({ kind: t.kind, key: t.key, container: t.container, powerUw: g.powerUw, energyUj: t.energyUj, source: g.cgroupUw === null ? 'processes' : 'cgroup' });
      }
    }
    this.forgetIdle(input.nowMs);
    return out;
  }

  /** How many groups (energy counters) are kept. */
  get size(): number {
    return this.groups.size;
  }

  private stepKind(kind: Exclude<GroupKind, 'namespace'>, input: GroupStepInput): StepGroup[] {
    const step = new Map<string, StepGroup>();
    for (const m of input.members) {
      const key = groupKey(kind, m.container);
      if (key === undefined) continue;
      let g = step.get(key);
      if (!g) {
        const tracked = this.track(kind, key, m.container);
        tracked.container = m.container; // names arrive after ids: the latest wins
        const dir = dirOf(kind, m.dirs);
        if (dir !== null) tracked.dir = dir;
        g = { tracked, processesUw: 0, liveNow: true, cgroupUw: null, powerUw: 0 };
        step.set(key, g);
      }
      g.processesUw += m.powerUw;
    }
    // Groups that had a process at the last reading and none now: their cgroup still counts the interval.
    for (const t of this.groups.values()) {
      if (t.kind === kind && t.live && !step.has(t.key)) step.set(t.key, { tracked: t, processesUw: 0, liveNow: false, cgroupUw: null, powerUw: 0 });
    }
    const list = [...step.values()];
    for (const g of list) this.readUsage(g, input);
    clampKind(list, input.modelTotalUw);
    for (const g of list) g.tracked.live = g.liveNow;
    return list;
  }

  private readUsage(g: StepGroup, input: GroupStepInput): void {
    const t = g.tracked;
    const root = this.options.cgroupfsRoot;
    if (root === null || t.dir === null) {
      t.usageUsec = null;
      return;
    }
    const usage = this.usageUsec(`${root}${t.dir}/cpu.stat`);
    const fresh = t.usageStep === this.stepCount - 1;
    t.usageStep = this.stepCount;
    if (usage !== null && t.usageUsec !== null && fresh && input.busyTicks > 0) {
      const ticks = Math.max(0, usage - t.usageUsec) / USEC_PER_TICK;
      g.cgroupUw = (input.modelTotalUw * ticks) / input.busyTicks;
    }
    t.usageUsec = usage;
  }

  private usageUsec(path: string): number | null {
    let text: string;
    try {
      text = this.readText(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      // ENOENT: the group ended (its cgroup is gone); other codes are worth one line.
      if (code !== 'ENOENT') this.logOnce(code, path);
      return null;
    }
    const at = text.indexOf('usage_usec ');
    const value = at < 0 ? Number.NaN : Number.parseInt(text.slice(at + 11), 10);
    if (!Number.isFinite(value)) {
      this.logOnce('no usage_usec', path);
      return null;
    }
    return value;
  }

  private logOnce(reason: string, path: string): void {
    if (this.loggedReasons.has(reason)) return;
    this.loggedReasons.add(reason);
    this.options.logger.warn({ path, reason }, 'cannot read a cgroup\'s cpu.stat: such groups get the sum of their live processes\' power');
  }

  private namespaces(pods: readonly StepGroup[], nowMs: number): StepGroup[] {
    const step = new Map<string, StepGroup>();
    for (const pod of pods) {
      const ns = pod.tracked.container.kubernetesPodNamespace;
      if (!ns) continue;
      let g = step.get(ns);
      if (!g) {
        const tracked = this.track('namespace', ns, { kubernetesPodNamespace: ns });
        g = { tracked, processesUw: 0, liveNow: false, cgroupUw: 0, powerUw: 0 };
        step.set(ns, g);
      }
      g.powerUw += pod.powerUw;
      g.liveNow ||= pod.liveNow;
      if (pod.cgroupUw === null) g.cgroupUw = null;
    }
    for (const g of step.values()) {
      g.tracked.live = g.liveNow;
      g.tracked.lastEmittedMs = nowMs;
    }
    return [...step.values()];
  }

  private track(kind: GroupKind, key: string, container: ContainerInfo): TrackedGroup {
    const id = `${kind}\u0000${key}`;
    let t = this.groups.get(id);
    if (!t) {
      t = { kind, key, container, dir: null, usageUsec: null, usageStep: -1, energyUj: 0, live: false, lastEmittedMs: 0 };
      this.groups.set(id, t);
    }
    return t;
  }

  private forgetIdle(nowMs: number): void {
    const retention = this.options.idleRetentionMs ?? DEFAULT_IDLE_RETENTION_MS;
    for (const id of this.groups.keys()) {
      const t = this.groups.get(id) as TrackedGroup;
      if (!t.live && nowMs - t.lastEmittedMs > retention) this.groups.delete(id);
    }
  }
}

/**
 * Whole-µW powers for one kind: cgroup figures scaled down if, with the process-summed groups, they
 * would exceed the model's total; floored so the kind's sum stays within it.
 */
function clampKind(list: StepGroup[], modelTotalUw: number): void {
  let fromProcesses = 0;
  let fromCgroups = 0;
  for (const g of list) {
    if (g.cgroupUw === null) fromProcesses += g.processesUw;
    else fromCgroups += g.cgroupUw;
  }
  const room = Math.max(0, modelTotalUw - fromProcesses);
  const scale = fromCgroups > room ? room / fromCgroups : 1;
  for (const g of list) g.powerUw = g.cgroupUw === null ? g.processesUw : Math.floor(g.cgroupUw * scale);
}

function groupKey(kind: Exclude<GroupKind, 'namespace'>, c: ContainerInfo): string | undefined {
  if (kind === 'container') return c.containerId;
  if (kind === 'pod') return c.kubernetesPodUid;
  return c.systemdUnit;
}

function dirOf(kind: Exclude<GroupKind, 'namespace'>, dirs: CgroupDirs | null): string | null {
  if (!dirs) return null;
  const dir = kind === 'container' ? dirs.container : kind === 'pod' ? dirs.pod : dirs.unit;
  return dir ?? null;
}

/**
 * The cgroup2 mount to read groups' cpu.stat from: `<dir>` itself on a pure v2 machine, `<dir>/unified`
 * on a hybrid one (systemd's layout), null when neither has cgroup.controllers (cgroup v1 only).
 */
export function detectCgroupfsRoot(dir: string, exists: (path: string) => boolean): string | null {
  for (const candidate of [dir, `${dir}/unified`]) if (exists(`${candidate}/cgroup.controllers`)) return candidate;
  return null;
}
