/**
 * The machine sensor: joins a power source (RAPL counters, the load estimate, or a platform meter beside
 * RAPL: platform.ts) with /proc into one
 * Sample per interval: host power split into active and idle, each process's share of the machine's
 * busy CPU time applied to the model's total (attribution.ts), what no process explains as the
 * unattributed remainder, and, with a container lookup, container / pod / unit power (containers/group-power.ts).
 */
import { energyUjFromPower } from '../core/energy.js';
import type { Logger } from '../core/log.js';
import {
  freezeSample,
  type AttributionModel,
  type ContainerInfo,
  type EndedProcess,
  type GroupSample,
  type ProcessSample,
  type Sample,
} from '../core/sample.js';
import type { Sensor } from '../core/sensor.js';
import { attribute, initialState, type AttributionInput, type AttributionResult, type AttributionState } from './attribution.js';
import type { CgroupDirs } from './containers/cgroup.js';
import { GroupPowerTracker, type GroupMember } from './containers/group-power.js';
import { reapersOfEnded } from './reaped-children.js';
import { PowerUnavailableError, type PowerReading, type PowerSource } from './power-source.js';
import { ownPageSizeBytes, ProcfsReader, type CpuTimes, type ProcessEntry, type ProcessIdentity } from './procfs/reader.js';
import { isQemuProcess, vmNameFromCmdline } from './qemu.js';

export interface MachineSensorOptions {
  readonly powerSource: PowerSource;
  /** procfs root (`--procfs-path`), default /proc. */
  readonly procfsPath: string;
  readonly hostname: string;
  readonly logger: Logger;
  /** Set vmName on qemu guest processes (`--qemu`). */
  readonly qemu?: boolean;
  /**
   * Where each process runs (container, pod, systemd unit). Asked on every sample — its answers are
   * cached per (pid, starttime) on its side and can improve as runtime metadata arrives — and swept
   * once per reading so ended processes are forgotten.
   */
  readonly containers?: ContainerLookup;
  /** Bytes per memory page; detected from procfs when omitted. */
  readonly pageSizeBytes?: number;
  /** What process power is a share of (default `host`: Scaphandre's documented model). */
  readonly attribution?: AttributionModel;
  /** Give the CPU time of reaped children to their parent (default true). */
  readonly reapedChildren?: boolean;
  /**
   * With `containers`: the cgroup2 mount whose cpu.stat files give container / pod / unit power (null: none,
   * groups are the sum of their processes).
   */
  readonly cgroupfsRoot?: string | null;
}

/** Where processes run, asked per process and sample. */
export interface ContainerLookup {
  resolveSync(pid: number, starttime: number): ContainerInfo | null;
  /** cgroup v2 directories of the process's container / pod / unit (after resolveSync). */
  cgroupDirsSync?(pid: number, starttime: number): CgroupDirs | null;
  sweep(): unknown;
}

interface Decoration {
  readonly vmName: string | null;
}

interface Reading {
  readonly monoNs: bigint;
  readonly cpu: CpuTimes;
  readonly cpuCount: number;
  /** Ticks since boot just before the processes were listed (null without <procfs>/uptime). */
  readonly uptimeTicks: number | null;
  readonly entries: ProcessEntry[];
  /** pid -> index in `entries`, built when a process ended (positionsOf): not a map per step. */
  positions: Map<number, number> | null;
}

export class MachineSensor implements Sensor {
  readonly kind: string;
  private readonly options: MachineSensorOptions;
  private readonly reader: ProcfsReader;
  private readonly decorations = new WeakMap<ProcessIdentity, Decoration>();
  private previous: Reading | null = null;
  private state: AttributionState = new Map();
  private hostEnergyUj = 0;
  private unattributedEnergyUj = 0;
  private readonly model: AttributionModel;
  private readonly groups: GroupPowerTracker | null;
  /** Processes that ended during steps that were not published: reported with the next sample. */
  private pendingEnded: EndedProcess[] = [];

  constructor(options: MachineSensorOptions) {
    this.options = options;
    this.kind = options.powerSource.kind;
    this.model = options.attribution ?? 'host';
    this.groups = options.containers
      ? new GroupPowerTracker({ cgroupfsRoot: options.cgroupfsRoot ?? null, logger: options.logger })
      : null;
    this.reader = new ProcfsReader({
      root: options.procfsPath,
      ...(options.pageSizeBytes === undefined ? {} : { pageSizeBytes: options.pageSizeBytes }),
    });
  }

  async start(): Promise<void> {
    await this.options.powerSource.start();
    const first = await this.takeReading();
    this.state = initialState(first.entries);
    this.previous = first;
    this.options.logger.info(
      {
        procfsPath: this.reader.root,
        processes: first.entries.length,
        pageSizeBytes: this.reader.pageSizeBytes,
        attribution: this.model,
        reapedChildren: this.options.reapedChildren !== false,
      },
      'machine sensor started',
    );
  }

  async read(): Promise<Sample> {
    const previous = this.previous;
    if (!previous) throw new Error('MachineSensor.read() called before start()');
    const current = await this.takeReading();
    const timestampMs = Date.now();
    const cpuBusyFraction = busyFraction(previous.cpu, current.cpu);
    const intervalNs = current.monoNs - previous.monoNs;
    const intervalMs = Number(intervalNs) / 1e6;
    const list = current.entries;
    const busyTicks = Math.max(0, current.cpu.busyTicks - previous.cpu.busyTicks);
    const input: Omit<AttributionInput, 'hostPowerUw'> = {
      previous: this.state,
      current: list,
      cpuBusyFraction,
      busyTicks,
      intervalMs,
      cpuCount: current.cpuCount,
      model: this.model,
      reapedChildren: this.options.reapedChildren !== false,
      bornAfterTicks: previous.uptimeTicks,
    };
    let power: PowerReading;
    try {
      power = await this.options.powerSource.read({ cpuBusyFraction, intervalNs, cpuCount: current.cpuCount });
    } catch (err) {
      // Not measurable this step: nothing is published, and the next interval starts here, as the source's does.
      if (err instanceof PowerUnavailableError) this.restartInterval(current, attribute({ ...input, hostPowerUw: 0 }));
      throw err;
    }
    const result = attribute({ ...input, hostPowerUw: power.hostPowerUw });
    this.state = result.next;
    this.previous = current;
    this.hostEnergyUj += power.hostEnergyDeltaUj;
    this.unattributedEnergyUj += energyUjFromPower(result.unattributedPowerUw, intervalMs);
    const members: GroupMember[] | null = this.groups ? [] : null;
    const processes = this.processSamples(list, result, members);
    const agentMemory = this.reader.readAgentMemory();
    const groups: GroupSample[] = this.groups && members
      ? this.groups.step({ members, busyTicks, modelTotalUw: result.modelTotalUw, intervalMs, nowMs: timestampMs, cpuCount: current.cpuCount, totalTicks: Math.max(0, current.cpu.totalTicks - previous.cpu.totalTicks) })
      : [];
    return freezeSample({
      timestampMs,
      intervalMs,
      host: {
        hostname: this.options.hostname,
        powerUw: power.hostPowerUw,
        energyUj: this.hostEnergyUj,
        energyTimestampMs: power.readAtMs,
        cpuStatsKept: CPU_STATS_KEPT,
        energyRecordsKept: power.hostRecordsKept,
        activePowerUw: result.activePowerUw,
        idlePowerUw: result.idlePowerUw,
        attribution: this.model,
        unattributedPowerUw: result.unattributedPowerUw,
        unattributedEnergyUj: this.unattributedEnergyUj,
        cpuBusyFraction,
        valueSource: power.valueSource,
        ...(power.outsideRaplPowerUw === undefined ? {} : { outsideRaplPowerUw: power.outsideRaplPowerUw }),
        ...(power.fallback === undefined ? {} : { sensorFallback: power.fallback }),
        psysEnergyUj: power.psysEnergyUj,
        loadAvg: this.reader.readLoadavg(),
        memory: this.reader.readMeminfo(),
      },
      sockets: power.sockets,
      processes,
      endedProcesses: this.takeEnded(endedProcesses(previous, result)),
      groups,
      // statm's resident pages are the rss process.memoryUsage.rss() reads from /proc/self/stat: no second read.
      agentRssBytes: agentMemory ? agentMemory.residentPages * ownPageSizeBytes() : process.memoryUsage.rss(),
      ...(agentMemory ? { agentMemory } : {}),
    });
  }

  /** A new interval from `current`: processes carried over with no energy added, ended ones kept for the next sample. */
  private restartInterval(current: Reading, result: AttributionResult): void {
    const previous = this.previous as Reading;
    this.pendingEnded.push(...endedProcesses(previous, result));
    this.state = result.next;
    this.previous = current;
  }

  private takeEnded(ended: EndedProcess[]): EndedProcess[] {
    if (this.pendingEnded.length === 0) return ended;
    const all = [...this.pendingEnded, ...ended];
    this.pendingEnded = [];
    return all;
  }

  async close(): Promise<void> {
    this.reader.close();
    await this.options.powerSource.close?.();
  }

  private async takeReading(): Promise<Reading> {
    const monoNs = process.hrtime.bigint();
    const stat = this.reader.readStat();
    const uptimeTicks = this.reader.readUptimeTicks();
    const entries = await this.reader.readAll();
    const reading: Reading = { monoNs, cpu: stat.cpu, cpuCount: stat.cpuCount, uptimeTicks, entries, positions: null };
    if (this.options.reapedChildren !== false) this.rereadReapers(reading);
    return reading;
  }

  /**
   * A parent read before its child was reaped, the child gone by the time its pid came up: the parent's
   * cutime would show the child one reading late. A process leaves /proc only once reaped, so reading the
   * reapers of the ended processes again now gets their growth into the interval it belongs to.
   */
  private rereadReapers(reading: Reading): void {
    if (this.state.size === 0 || this.reader.endedInLastSnapshot === 0) return;
    const { entries } = reading;
    const positions = positionsOf(reading);
    const startOf = (pid: number): number | undefined => {
      const at = positions.get(pid);
      return at === undefined ? undefined : (entries[at] as ProcessEntry).starttime;
    };
    for (const pid of reapersOfEnded(this.state, startOf)) {
      const fresh = this.reader.readProcess(pid);
      const at = positions.get(pid);
      if (fresh && at !== undefined && fresh.starttime === startOf(pid)) entries[at] = fresh;
    }
  }

  private processSamples(list: readonly ProcessEntry[], result: AttributionResult, members: GroupMember[] | null): ProcessSample[] {
    const samples: ProcessSample[] = [];
    const containers = this.options.containers;
    const f = result.figures;
    for (let k = 0; k < f.count; k++) {
      const entry = list[f.index[k] as number] as ProcessEntry;
      const identity = entry.identity;
      const decoration = this.decorationOf(identity);
      const container = containers ? containers.resolveSync(entry.pid, entry.starttime) : null;
      const powerUw = f.powerUw[k] as number;
      if (members && container) {
        const dirs = containers?.cgroupDirsSync?.(entry.pid, entry.starttime) ?? null;
        members.push({ container, dirs, powerUw });
      }
      samples.push({
        pid: entry.pid,
        starttime: entry.starttime,
        exe: identity.exe,
        exePath: identity.exePath,
        comm: entry.comm,
        cmdline: identity.cmdline,
        cpuTicks: f.cpuTicks[k] as number,
        childCpuTicks: f.childCpuTicks[k] as number,
        cpuShare: f.cpuShare[k] as number,
        cpuUsagePercent: f.cpuUsagePercent[k] as number,
        powerUw,
        energyUj: f.energyUj[k] as number,
        memoryBytes: entry.rssBytes,
        virtualMemoryBytes: entry.vsizeBytes,
        vmName: decoration.vmName,
        container,
      });
    }
    containers?.sweep();
    samples.sort(byPowerDesc);
    return samples;
  }

  private decorationOf(identity: ProcessIdentity): Decoration {
    // Without --qemu there is nothing to work out: no record per process (a WeakMap entry and an object each).
    if (this.options.qemu !== true) return NO_DECORATION;
    let decoration = this.decorations.get(identity);
    if (decoration) return decoration;
    decoration = {
      vmName: isQemuProcess(identity.exe, identity.argv) ? vmNameFromCmdline(identity.argv) : null,
    };
    this.decorations.set(identity, decoration);
    return decoration;
  }
}

const NO_DECORATION: Decoration = Object.freeze({ vmName: null });

/** /proc/stat readings kept between two samples: the previous one (`previous.cpu`), the next interval's start. */
const CPU_STATS_KEPT = 1;

/** Busy share of all CPUs between two /proc/stat readings (0 when no tick elapsed). */
export function busyFraction(before: CpuTimes, after: CpuTimes): number {
  const total = after.totalTicks - before.totalTicks;
  if (total <= 0) return 0;
  return Math.min(1, Math.max(0, (after.busyTicks - before.busyTicks) / total));
}

function byPowerDesc(a: ProcessSample, b: ProcessSample): number {
  return b.powerUw - a.powerUw || b.cpuTicks - a.cpuTicks || a.pid - b.pid;
}

/** pid -> index in the reading's entries, built the first time it is asked for. */
function positionsOf(reading: Reading): Map<number, number> {
  if (reading.positions === null) {
    const positions = new Map<number, number>();
    reading.entries.forEach((e, i) => positions.set(e.pid, i));
    reading.positions = positions;
  }
  return reading.positions;
}

function endedProcesses(previous: Reading, result: AttributionResult): EndedProcess[] {
  const ended: EndedProcess[] = [];
  if (result.ended.length === 0) return ended;
  const positions = positionsOf(previous);
  for (const key of result.ended) {
    const at = positions.get(key.pid);
    const entry = at === undefined ? undefined : previous.entries[at];
    ended.push({
      pid: key.pid,
      starttime: key.starttime,
      exe: entry?.identity.exe ?? '',
      cmdline: entry?.identity.cmdline ?? '',
    });
  }
  return ended;
}
