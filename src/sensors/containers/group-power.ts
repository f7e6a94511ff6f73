/**
 * Power per container, pod, namespace and systemd unit, in the same model as process power.
 *
 * With cgroup v2 a group's share of an interval comes from the kernel's own accounting: the growth of
 * `usage_usec` in its `cpu.stat` (CPU time of every task that ever ran inside, ended ones included)
 * over the machine's busy time, applied to the model's total. So a container whose processes came and
 * went between two readings (build jobs, cron, PHP workers) still gets its power, and so does a group
 * whose processes all ended: it is read while its cgroup exists and reported while its usage grows.
 *
 * - A group is the set of cgroup directories its processes live in (one unit name can have several: the
 *   system's dbus.service and each user manager's). Each directory keeps its own baseline; a directory
 *   created again since the last reading (a restart: its cpu.stat has another inode) counts from 0.
 * - cpu.stat is input from outside, read like sysfs and procfs: non-blocking, regular files only, size-capped
 *   (a FIFO or a directory there is left out with one warning), and only below the mount: a directory that
 *   resolves outside --cgroupfs-path (a symlink) is never read. A counter that went down without its cgroup
 *   being created again, or grew by more CPU time than the machine has, is a reset: that interval of the
 *   directory is not measured (its group falls back to its processes' power) and the reading is the new
 *   baseline. So a group's power never goes negative or swings, and its energy counter never decreases.
 * - Within one kind a group nested in another (a kind node container holding pod containers) is taken
 *   out of the outer one, and cgroup figures are scaled down if the kind would exceed the model's total.
 * - Where cpu.stat cannot be read (cgroup v1, no access, a directory's first interval) the group's power
 *   is the sum of its live processes' power; GroupSample.source says which, and the log says why once.
 * - Namespaces are the sum of their pods.
 */
import { realpathSync } from 'node:fs';
import { readRegularFileSync } from '../../core/bounded-fs.js';
import { energyUjFromPower } from '../../core/energy.js';
import type { Logger } from '../../core/log.js';
import { GROUP_ENERGY_RETENTION_MS, type ContainerInfo, type GroupKind, type GroupSample } from '../../core/sample.js';
import type { CgroupDirs } from './cgroup.js';
import { USER_HZ } from '../procfs/reader.js';
import { errorCodeOrText } from '../../core/errors.js';

const USEC_PER_TICK = 1_000_000 / USER_HZ;

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
  /** Logical CPUs: no cgroup can grow by more CPU time than they have over the interval. */
  readonly cpuCount: number;
  /** Every tick of every CPU over the interval as /proc/stat counts them (busy, idle, iowait, steal). */
  readonly totalTicks: number;
}

/** One read of a cpu.stat file: its text and inode. */
export interface CpuStatRead {
  readonly text: string;
  readonly ino: number;
}

export interface GroupPowerOptions {
  /** cgroup2 mount (e.g. /sys/fs/cgroup), or null when the machine has none (cgroup v1 only). */
  readonly cgroupfsRoot: string | null;
  readonly logger: Logger;
  /** How long a group without live processes or growth keeps its energy counter, ms. Default 10 minutes. */
  readonly idleRetentionMs?: number;
  /** Reads a cpu.stat file (tests); default readCpuStat. */
  readonly readCpuStat?: (path: string) => CpuStatRead;
}

/** cpu.stat holds a dozen lines: a larger file is not one. */
const CPU_STAT_MAX_BYTES = 64 * 1024;
/** Directories found to resolve outside the mount, remembered so they are not resolved again each step. */
const MAX_REFUSED_DIRS = 10_000;

/** cpu.stat read as sysfs/procfs files are (bounded-fs): never blocks, regular files only, size-capped. */
export function readCpuStat(path: string): CpuStatRead {
  let ino = 0;
  const text = readRegularFileSync(path, CPU_STAT_MAX_BYTES, (stats) => (ino = stats.ino)).toString('latin1');
  return { text, ino };
}

interface DirBaseline {
  /** usage_usec at the last successful read. */
  usageUsec: number;
  /** The step of that read: a baseline older than the previous step is stale. */
  step: number;
  /** cpu.stat's inode at that read: another one is a cgroup created again. */
  ino: number;
}

interface TrackedGroup {
  readonly kind: GroupKind;
  readonly key: string;
  container: ContainerInfo;
  /** The group's cgroup directories and their baselines (null: not read successfully yet). */
  readonly dirs: Map<string, DirBaseline | null>;
  energyUj: number;
  lastEmittedMs: number;
}

interface StepGroup {
  readonly tracked: TrackedGroup;
  /** Σ live members' power, whole µW. */
  processesUw: number;
  liveNow: boolean;
  /** CPU time in the group's cgroups this interval, ticks; null when some directory could not be measured. */
  cgroupTicks: number | null;
  powerUw: number;
}

type CgroupKind = Exclude<GroupKind, 'namespace'>;
const CGROUP_KINDS: readonly CgroupKind[] = ['container', 'pod', 'systemd_unit'];

export class GroupPowerTracker {
  private readonly groups = new Map<string, TrackedGroup>();
  private readonly options: GroupPowerOptions;
  private readonly readStat: (path: string) => CpuStatRead;
  private readonly loggedReasons = new Set<string>();
  /** The mount with its symlinks resolved: what every cpu.stat must resolve below. */
  private readonly realRoot: string | null;
  private readonly refusedDirs = new Set<string>();
  private stepCount = 0;

  constructor(options: GroupPowerOptions) {
    this.options = options;
    this.readStat = options.readCpuStat ?? readCpuStat;
    this.realRoot = options.cgroupfsRoot === null ? null : realpathOr(options.cgroupfsRoot);
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
    const out: GroupSample[] = [];
    let pods: StepGroup[] = [];
    for (const kind of CGROUP_KINDS) {
      const list = this.stepKind(kind, input);
      if (kind === 'pod') pods = list;
      this.emit(list, input, out);
    }
    this.emit(this.namespaces(pods), input, out);
    this.forgetIdle(input.nowMs);
    return out;
  }

  /** How many groups (energy counters) are kept. */
  get size(): number {
    return this.groups.size;
  }

  private emit(list: readonly StepGroup[], input: GroupStepInput, out: GroupSample[]): void {
    for (const g of list) {
      const t = g.tracked;
      // A group is reported while it has a live process or its cgroups count CPU time.
      if (!g.liveNow && !(g.cgroupTicks !== null && g.cgroupTicks > 0)) continue;
      // Never negative, whatever a process figure says: the published energy counter never decreases.
      t.energyUj += energyUjFromPower(Math.max(0, g.powerUw), input.intervalMs);
      t.lastEmittedMs = input.nowMs;
      const source = g.cgroupTicks === null ? 'processes' : 'cgroup';
      out.push({ kind: t.kind, key: t.key, container: t.container, powerUw: g.powerUw, energyUj: t.energyUj, source });
    }
  }

  private stepKind(kind: CgroupKind, input: GroupStepInput): StepGroup[] {
    const step = new Map<string, StepGroup>();
    /** Directories with a live member this step: they must be measurable for the group to use its cgroups. */
    const memberDirs = new Map<StepGroup, Set<string>>();
    for (const m of input.members) {
      const key = groupKey(kind, m.container);
      if (key === undefined) continue;
      let g = step.get(key);
      if (!g) {
        const tracked = this.track(kind, key, m.container);
        tracked.container = m.container; // names arrive after ids: the latest wins
        g = { tracked, processesUw: 0, liveNow: true, cgroupTicks: null, powerUw: 0 };
        step.set(key, g);
        memberDirs.set(g, new Set());
      }
      g.processesUw += m.powerUw;
      const dir = dirOf(kind, m.dirs);
      if (dir !== null) {
        memberDirs.get(g)?.add(dir);
        if (!g.tracked.dirs.has(dir)) g.tracked.dirs.set(dir, null);
      }
    }
    // Groups without a live process now: their cgroups may still count CPU time (jobs between readings).
    for (const t of this.groups.values()) {
      if (t.kind === kind && t.dirs.size > 0 && !step.has(t.key)) step.set(t.key, { tracked: t, processesUw: 0, liveNow: false, cgroupTicks: null, powerUw: 0 });
    }
    const list = [...step.values()];
    const dirTicks = new Map<string, { ticks: number; group: StepGroup }>();
    // More CPU time than the machine had is a lie: every CPU over twice the interval plus a second (readings
    // are not instantaneous), the interval as the wall clock or as /proc/stat measures it, whichever is longer
    // (they agree on a kernel; a recorded or synthetic procfs tree may run its clock faster).
    const statUsec = input.totalTicks * USEC_PER_TICK;
    const maxGrowthUsec = Math.max(input.cpuCount * (2 * input.intervalMs + 1000) * 1000, 2 * statUsec + input.cpuCount * 1_000_000);
    for (const g of list) this.measure(g, memberDirs.get(g), dirTicks, maxGrowthUsec);
    subtractNested(dirTicks);
    toWholeMicrowatts(list, input);
    return list;
  }

  /** Reads every directory of the group; its cgroup ticks are set only when each live directory was measured. */
  private measure(
    g: StepGroup,
    liveDirs: ReadonlySet<string> | undefined,
    dirTicks: Map<string, { ticks: number; group: StepGroup }>,
    maxGrowthUsec: number,
  ): void {
    const root = this.options.cgroupfsRoot;
    const t = g.tracked;
    if (root === null) return;
    let ticks = 0;
    let complete = t.dirs.size > 0;
    for (const dir of [...t.dirs.keys()]) {
      const base = t.dirs.get(dir) ?? null;
      const path = `${root}${dir}/cpu.stat`;
      // Resolved once per directory (at its first reading, and after a failed one): symlinks do not appear in cgroupfs.
      const read = base === null && !this.confined(dir, path) ? null : this.usageUsec(path, base === null);
      if (read === null) {
        t.dirs.delete(dir); // gone (the group ended or moved), unreadable, or outside the mount
        if (liveDirs?.has(dir)) complete = false;
        continue;
      }
      t.dirs.set(dir, { usageUsec: read.usageUsec, step: this.stepCount, ino: read.ino });
      if (base === null || base.step !== this.stepCount - 1) {
        if (liveDirs?.has(dir) || base !== null) complete = false; // no baseline for this interval yet
        continue;
      }
      // A cgroup created again (a restart) counts from 0: all of its usage is new.
      const grownUsec = read.ino !== base.ino ? read.usageUsec : read.usageUsec - base.usageUsec;
      if (grownUsec < 0 || grownUsec > maxGrowthUsec) {
        this.sayReset(dir, base.usageUsec, read.usageUsec, grownUsec < 0);
        complete = false;
        continue;
      }
      const dirTick = grownUsec / USEC_PER_TICK;
      dirTicks.set(dir, { ticks: dirTick, group: g });
      ticks += dirTick;
    }
    g.cgroupTicks = complete ? ticks : null;
  }

  /** usage_usec and the file's inode, or null (said once per reason) when cpu.stat cannot be used. */
  private usageUsec(path: string, firstRead: boolean): { usageUsec: number; ino: number } | null {
    let read: CpuStatRead;
    try {
      read = this.readStat(path);
    } catch (err) {
      const code = errorCodeOrText(err);
      // ENOENT after a good read: the group ended. Before any: the path is not where scaph looks.
      if (code !== 'ENOENT') this.logOnce(code, { path, code, reason: err instanceof Error ? err.message : code }, 'cannot read a cgroup\'s cpu.stat');
      else if (firstRead) this.logOnce('not found', { path, code }, 'a cgroup directory named in /proc/PID/cgroup is not under the cgroup2 mount scaph reads (pass the host\'s mount with --cgroupfs-path, and run scaph in the host\'s cgroup namespace)');
      return null;
    }
    const usageUsec = parseUsageUsec(read.text);
    if (usageUsec === null) {
      this.logOnce('no usage_usec', { path, reason: 'no usage_usec line holding a whole number of microseconds' }, 'cannot read a cgroup\'s cpu.stat');
      return null;
    }
    return { usageUsec, ino: read.ino };
  }

  /**
   * Whether the cgroup's cpu.stat resolves below the mount. cgroupfs has no symlinks, but --cgroupfs-path may
   * be a copy or a bind mount someone put one in: it is never followed out (said once).
   */
  private confined(dir: string, path: string): boolean {
    if (this.refusedDirs.has(dir)) return false;
    let real: string;
    try {
      real = realpathSync.native(path);
    } catch {
      return true; // missing or unreadable: the read says which
    }
    const root = this.realRoot as string;
    if (real.startsWith(root.endsWith('/') ? root : `${root}/`)) return true;
    if (this.refusedDirs.size >= MAX_REFUSED_DIRS) this.refusedDirs.clear();
    this.refusedDirs.add(dir);
    this.logOnce('outside', { path, resolvesTo: real }, 'a cgroup\'s cpu.stat resolves outside --cgroupfs-path (a symlink): not read');
    return false;
  }

  /**
   * A counter that went down (its cgroup was not created again) or grew impossibly fast: a reset for the
   * interval. Going down is debug (a cgroup moved or a counter zeroed); an impossible growth is said once.
   */
  private sayReset(dir: string, previousUsec: number, currentUsec: number, wentDown: boolean): void {
    const fields = { dir, previousUsec, currentUsec };
    if (wentDown) this.options.logger.debug(fields, 'a cgroup\'s usage_usec went down: a reset, this interval not measured');
    else this.logOnce('too fast', fields, 'a cgroup\'s usage_usec grew by more CPU time than the machine has: treated as a reset, this interval not measured');
  }

  private logOnce(reason: string, fields: Readonly<Record<string, unknown>>, what: string): void {
    if (this.loggedReasons.has(reason)) return;
    this.loggedReasons.add(reason);
    this.options.logger.warn(fields, `${what}: such groups get the sum of their live processes' power (said once)`);
  }

  private namespaces(pods: readonly StepGroup[]): StepGroup[] {
    const step = new Map<string, StepGroup>();
    for (const pod of pods) {
      const ns = pod.tracked.container.kubernetesPodNamespace;
      if (!ns || (!pod.liveNow && !(pod.cgroupTicks !== null && pod.cgroupTicks > 0))) continue;
      let g = step.get(ns);
      if (!g) {
        const tracked = this.track('namespace', ns, { kubernetesPodNamespace: ns });
        g = { tracked, processesUw: 0, liveNow: false, cgroupTicks: 0, powerUw: 0 };
        step.set(ns, g);
      }
      g.powerUw += pod.powerUw;
      g.liveNow ||= pod.liveNow;
      if (pod.cgroupTicks === null || g.cgroupTicks === null) g.cgroupTicks = null;
      else g.cgroupTicks += pod.cgroupTicks;
    }
    return [...step.values()];
  }

  private track(kind: GroupKind, key: string, container: ContainerInfo): TrackedGroup {
    const id = `${kind}\u0000${key}`;
    let t = this.groups.get(id);
    if (!t) {
      t = { kind, key, container, dirs: new Map(), energyUj: 0, lastEmittedMs: Number.NaN };
      this.groups.set(id, t);
    }
    return t;
  }

  private forgetIdle(nowMs: number): void {
    const retention = this.options.idleRetentionMs ?? GROUP_ENERGY_RETENTION_MS;
    for (const id of this.groups.keys()) {
      const t = this.groups.get(id) as TrackedGroup;
      // Kept (and its cgroups read) until it has been silent for the retention: a restarting service or a
      // container between two jobs continues its energy counter.
      if (!(nowMs - t.lastEmittedMs <= retention)) this.groups.delete(id);
    }
  }
}

/**
 * A group whose cgroup lies inside another group's of the same kind (a kind or docker-in-docker node
 * container around pod containers): its CPU time is counted in both, so it comes out of the outer one.
 */
function subtractNested(dirTicks: Map<string, { ticks: number; group: StepGroup }>): void {
  if (dirTicks.size < 2) return;
  for (const dir of dirTicks.keys()) {
    const inner = dirTicks.get(dir) as { ticks: number; group: StepGroup };
    for (let cut = dir.lastIndexOf('/'); cut > 0; cut = dir.lastIndexOf('/', cut - 1)) {
      const outer = dirTicks.get(dir.slice(0, cut));
      if (!outer) continue;
      // Also within one group (two of its directories, one inside the other): counted once.
      if (outer.group.cgroupTicks !== null) outer.group.cgroupTicks = Math.max(0, outer.group.cgroupTicks - inner.ticks);
      break;
    }
  }
}

/**
 * Whole-µW powers for one kind: cgroup figures (ticks over busy ticks, of the model's total) scaled down
 * if, with the process-summed groups, they would exceed the model's total; floored so the sum stays within.
 */
function toWholeMicrowatts(list: StepGroup[], input: GroupStepInput): void {
  let fromProcesses = 0;
  let fromCgroups = 0;
  const uwOf = (g: StepGroup): number =>
    g.cgroupTicks === null || input.busyTicks <= 0 ? 0 : (input.modelTotalUw * g.cgroupTicks) / input.busyTicks;
  for (const g of list) {
    if (g.cgroupTicks === null) fromProcesses += g.processesUw;
    else fromCgroups += uwOf(g);
  }
  const room = Math.max(0, input.modelTotalUw - fromProcesses);
  const scale = fromCgroups > room ? room / fromCgroups : 1;
  for (const g of list) g.powerUw = g.cgroupTicks === null ? g.processesUw : Math.floor(uwOf(g) * scale);
}

const USAGE_USEC = 'usage_usec ';
const DIGITS_RE = /^\d{1,16}$/;

/** usage_usec from cpu.stat's text: a whole number of µs (the kernel's u64, well within 2^53 in practice), else null. */
export function parseUsageUsec(text: string): number | null {
  const at = text.startsWith(USAGE_USEC) ? 0 : text.indexOf(`\n${USAGE_USEC}`) + 1;
  if (at === 0 && !text.startsWith(USAGE_USEC)) return null;
  const start = at + USAGE_USEC.length;
  let end = text.indexOf('\n', start);
  if (end < 0) end = text.length;
  const digits = text.slice(start, end).trim();
  if (!DIGITS_RE.test(digits)) return null;
  const value = Number(digits);
  return Number.isSafeInteger(value) ? value : null;
}

/** The path with its symlinks resolved, or itself when that fails (the reads will say why). */
function realpathOr(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    return path;
  }
}

function groupKey(kind: CgroupKind, c: ContainerInfo): string | undefined {
  if (kind === 'container') return c.containerId;
  if (kind === 'pod') return c.kubernetesPodUid;
  return c.systemdUnit;
}

function dirOf(kind: CgroupKind, dirs: CgroupDirs | null): string | null {
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
