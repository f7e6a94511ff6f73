/**
 * Which processes (and containers, pods, namespaces, systemd units) an exporter sends series for, and
 * the rollup of the rest, so that what it sends still adds up to the model's total.
 *
 * - **Rules**: a process is a candidate when its exe or cmdline matches `include` (if set) and does not
 *   match `exclude`; it qualifies when it is also among the `maxTopConsumers` candidates with the most
 *   power and uses at least `minPowerUw`. Groups follow the same top-N and power rules within their kind
 *   (the regexes name processes, not groups). The regexes are user patterns (user-pattern.ts: RE2, linear
 *   time, because a process chooses its own name), tested once per process and again only when its exe
 *   or cmdline change.
 * - **Stability**: a selected process that stops qualifying (falls out of the top N, or under the power
 *   floor) stays selected for `holdSteps` more steps, and leaves at the next one if it still does not
 *   qualify. Two processes trading the N-th rank every few steps therefore both keep their series instead
 *   of starting and ending them in turn (what makes a TSDB slow and expensive). At equal power, a process
 *   already selected ranks first. So an exporter sends at most N processes plus the ones held. A process
 *   that stops matching the regexes (it rewrote its cmdline) leaves at once: the regexes are not a ranking.
 * - **Rollup**: every process not selected goes into `others`: its power is the exact (whole µW) sum of
 *   theirs, so Σ selected power + others power = Σ process power (+ the host's unattributed power = the
 *   model's total).
 * - **Energy** comes from the sensor's counters, not power × interval (an exporter with a longer step than
 *   the sensor's sees only some samples, while each sample's interval is the sensor's): the selector keeps
 *   each process's counter (rounded to whole µJ) at the last sample it saw, so a step's growth is the
 *   counter minus that (all of it for a process new to the selector; none at the selector's first step,
 *   below). The others energy adds the growth of the processes not selected. Each process also keeps
 *   `outUj`, its growth while not selected, and a selected process's energy series is its counter minus
 *   `outUj`: the energy attributed to it while this exporter sent it. So a process that leaves and comes
 *   back resumes its series where it stopped, without what others counted meanwhile, and for any exporter
 *   step and any window between two of its steps, Σ growth of the sent energy series + growth of others
 *   = Σ growth of every process's counter, exactly in µJ. A process never left out sends its counter.
 * - **Identity and memory**: a process is (pid, starttime), a group (kind, key); selection state is kept
 *   for live ones only (what the last sample had). A group's energy state outlives its absence: the sensor
 *   continues a group's counter when it comes back within GROUP_ENERGY_RETENTION_MS, so the selector keeps
 *   it twice as long. A counter lower than the one kept was restarted by the sensor: all of it is growth.
 * - **First step**: the counters of the first sample a selector sees are where it starts (its others energy
 *   starts at 0), not growth: they may hold hours of history (a spool replayed after a restart, whose
 *   previous run sent its own others counter), and an others counter starting at that history would read,
 *   after the TSDB's counter-reset handling, as all of it used in one step.
 *
 * Stateful: each exporter owns one selector and hands it every sample once, in order. `select` is
 * idempotent for the latest sample (a scrape may ask again), so callers need not coordinate.
 */
import { GROUP_ENERGY_RETENTION_MS, type GroupKind, type GroupSample, type ProcessSample, type Sample } from './sample.js';
import type { UserPatterns } from './user-pattern.js';

export interface SelectionOptions {
  /** Keep at most this many candidates by power (per kind for groups), besides those held; null = no cap. */
  readonly maxTopConsumers: number | null;
  /** Keep only those using at least this much power, µW; 0 = no floor. */
  readonly minPowerUw: number;
  /** Keep only processes whose exe or cmdline matches one of these (RE2, linear time); null = every process. */
  readonly include: UserPatterns | null;
  /** Never keep processes whose exe or cmdline matches one of these; null = none excluded. */
  readonly exclude: UserPatterns | null;
  /**
   * Keep only processes in a container whose name matches one of these (Scaphandre 1.0's --container-regex);
   * absent or null = whatever their container. A process whose container is not named (yet) does not match.
   */
  readonly containerInclude?: UserPatterns | null;
  /** Steps a selected process or group stays selected after it stops qualifying; 0 = it leaves at once. */
  readonly holdSteps: number;
}

/** Hold of the metric exporters: long enough for a process that wavers around the N-th rank to keep its series. */
export const DEFAULT_HOLD_STEPS = 5;

/** What was not selected in one step. */
export interface OthersRollup {
  /** Σ power of what was not selected, whole µW. */
  readonly powerUw: number;
  /** Σ growth of the energy counters of what was not selected, over the steps it was not, since this selector's first step (0 there): whole µJ (monotonic). */
  readonly energyUj: number;
  /** How many were not selected. */
  readonly count: number;
}

export interface Selection {
  /** The selected processes, in the sample's order (highest power first). */
  readonly processes: readonly ProcessSample[];
  /**
   * The energy series of each selected process (same index as `processes`), whole µJ: its counter minus
   * what it used while not selected (which went into others). Monotonic while the process lives.
   */
  readonly processEnergyUj: readonly number[];
  readonly others: OthersRollup;
  /** The selected groups, in the sample's order. */
  readonly groups: readonly GroupSample[];
  /** The energy series of each selected group (same index as `groups`), whole µJ, as processEnergyUj. */
  readonly groupEnergyUj: readonly number[];
  /** The rollup of each group kind this selector has seen (a kind that appeared once keeps its rollup). */
  readonly groupOthers: ReadonlyMap<GroupKind, OthersRollup>;
}

const NOTHING_LEFT_OUT: OthersRollup = Object.freeze({ powerUw: 0, energyUj: 0, count: 0 });

/** What an exporter without a selection lists: every process and group, each counter its own, nothing rolled up. */
export function everyProcess(sample: Sample): Selection {
  return {
    processes: sample.processes,
    processEnergyUj: sample.processes.map((p) => Math.round(p.energyUj)),
    others: NOTHING_LEFT_OUT,
    groups: sample.groups,
    groupEnergyUj: sample.groups.map((g) => Math.round(g.energyUj)),
    groupOthers: new Map(),
  };
}

/** Whether one process or group is selected, and for how many steps it has not qualified. */
interface Tracked {
  selected: boolean;
  outSteps: number;
  /** The step that last saw it: processes older than the latest step are forgotten, groups selected anew. */
  seen: number;
}

/** One energy counter of the sample, as this selector followed it. */
interface Counted {
  /** The counter at the last sample this selector saw, whole µJ. */
  lastUj: number;
  /** Its growth over the steps it was not selected (rolled into others), whole µJ. */
  outUj: number;
}

/**
 * Advances `entry` to the counter `energyUj` and returns its growth since the last sample seen, whole µJ
 * (rounded, so sums are exact); none on a `baseline` step. A lower counter was restarted by the sensor: it
 * counts from 0 again.
 */
function growthUj(entry: Counted, energyUj: number, baseline: boolean): number {
  const uj = Math.round(energyUj);
  if (baseline) {
    entry.lastUj = uj;
    return 0;
  }
  if (uj < entry.lastUj) {
    entry.lastUj = 0;
    entry.outUj = 0;
  }
  const growth = uj - entry.lastUj;
  entry.lastUj = uj;
  return growth;
}

/** The others of processes or of one group kind, as they build up: OthersRollup, mutable. */
interface Rollup {
  energyUj: number;
  powerUw: number;
  count: number;
}

/**
 * Takes one process or group through the step's energy: when selected, returns its energy series (its
 * counter less what it used while out); else rolls its power and growth up into `others` and returns null.
 */
function account(entry: Tracked & Counted, energyUj: number, powerUw: number, baseline: boolean, others: Rollup): number | null {
  const growth = growthUj(entry, energyUj, baseline);
  if (entry.selected) return entry.lastUj - entry.outUj;
  entry.outUj += growth;
  others.energyUj += growth;
  others.powerUw += powerUw;
  others.count += 1;
  return null;
}

interface ProcessEntry extends Tracked, Counted {
  readonly starttime: number;
  exe: string;
  cmdline: string;
  /** The container's name the patterns were tested against (names arrive after the process: labels follow). */
  container: string | undefined;
  matches: boolean;
}

/**
 * Decides the step's selection among the candidates added to it: ranks them (power, then already
 * selected, then order) when there are more than N, applies the floor and the hold. Scratch arrays are
 * reused from step to step.
 */
class Cut {
  private readonly entries: Tracked[] = [];
  private readonly powers: number[] = [];
  private readonly order: number[] = [];
  private readonly top: boolean[] = [];
  private count = 0;

  reset(): void {
    this.count = 0;
  }

  add(entry: Tracked, powerUw: number): void {
    this.entries[this.count] = entry;
    this.powers[this.count] = powerUw;
    this.count += 1;
  }

  /** One arrow per Cut, not per sort: ranks by power, then the already selected, then the sample's order. */
  private readonly byRank = (a: number, b: number): number =>
    (this.powers[b] as number) - (this.powers[a] as number) ||
    Number((this.entries[b] as Tracked).selected) - Number((this.entries[a] as Tracked).selected) ||
    a - b;

  decide(options: SelectionOptions): void {
    const n = options.maxTopConsumers;
    const count = this.count;
    const ranked = n !== null && count > n;
    if (ranked) {
      const order = this.order;
      order.length = count;
      for (let i = 0; i < count; i++) order[i] = i;
      order.sort(this.byRank);
      for (let k = 0; k < count; k++) this.top[order[k] as number] = k < n;
    }
    for (let i = 0; i < count; i++) {
      const entry = this.entries[i] as Tracked;
      const qualifies = (!ranked || this.top[i] === true) && (this.powers[i] as number) >= options.minPowerUw;
      if (qualifies) {
        entry.selected = true;
        entry.outSteps = 0;
      } else if (entry.selected) {
        entry.outSteps += 1;
        if (entry.outSteps > options.holdSteps) {
          entry.selected = false;
          entry.outSteps = 0;
        }
      }
    }
    // Drop the references so ended processes' entries can be collected.
    this.entries.length = 0;
  }
}

interface GroupEntry extends Tracked, Counted {
  /** Timestamp of the last sample that had the group, ms: its energy state is kept GROUP_STATE_RETENTION_MS after it. */
  lastSeenMs: number;
}

/** Twice the sensor's: whatever the clocks, the selector never forgets a counter the sensor still continues. */
const GROUP_STATE_RETENTION_MS = 2 * GROUP_ENERGY_RETENTION_MS;

/** Selection state of one group kind, made when the kind first appears (its rollup is sent from then on). */
class GroupStage implements Rollup {
  readonly entries = new Map<string, GroupEntry>();
  readonly cut = new Cut();
  energyUj = 0;
  powerUw = 0;
  count = 0;
}

export class ProcessSelector {
  private readonly processes = new Map<number, ProcessEntry>();
  private readonly cut = new Cut();
  /** The entry of each process of the step, by index in sample.processes. */
  private readonly stepEntries: ProcessEntry[] = [];
  private readonly groupStages = new Map<GroupKind, GroupStage>();
  private readonly others: Rollup = { energyUj: 0, powerUw: 0, count: 0 };
  private step = 0;
  /** Weak: holding a sample until the next one would keep its ~500 process objects alive. */
  private last: WeakRef<Sample> | null = null;
  private result: Selection | null = null;

  constructor(readonly options: SelectionOptions) {}

  /** The selection of `sample`; advances the state once per sample (asking again for the latest one repeats it). */
  select(sample: Sample): Selection {
    if (this.result && this.last?.deref() === sample) return this.result;
    this.step += 1;
    this.last = new WeakRef(sample);
    const processes = this.selectProcesses(sample);
    const groups = this.selectGroups(sample);
    const groupOthers = new Map<GroupKind, OthersRollup>();
    for (const [kind, stage] of this.groupStages) groupOthers.set(kind, { powerUw: stage.powerUw, energyUj: stage.energyUj, count: stage.count });
    this.result = { processes: processes.selected, processEnergyUj: processes.energyUj, others: processes.rollup, groups: groups.selected, groupEnergyUj: groups.energyUj, groupOthers };
    return this.result;
  }

  /** Processes with state (live at the latest step): bounded by what the sample has. */
  get trackedProcesses(): number {
    return this.processes.size;
  }

  /** Groups with state, of every kind: those seen within GROUP_STATE_RETENTION_MS. */
  get trackedGroups(): number {
    let count = 0;
    for (const stage of this.groupStages.values()) count += stage.entries.size;
    return count;
  }

  private selectProcesses(sample: Sample): { selected: ProcessSample[]; energyUj: number[]; rollup: OthersRollup } {
    const step = this.step;
    const list = sample.processes;
    const entries = this.stepEntries;
    entries.length = list.length;
    this.cut.reset();
    for (let i = 0; i < list.length; i++) {
      const p = list[i] as ProcessSample;
      const entry = this.entryOf(p);
      entry.seen = step;
      entries[i] = entry;
      if (entry.matches) this.cut.add(entry, p.powerUw);
      else {
        entry.selected = false;
        entry.outSteps = 0;
      }
    }
    this.cut.decide(this.options);
    const selected: ProcessSample[] = [];
    const energyUj: number[] = [];
    const others = this.others;
    others.powerUw = 0;
    others.count = 0;
    for (let i = 0; i < list.length; i++) {
      const p = list[i] as ProcessSample;
      const sent = account(entries[i] as ProcessEntry, p.energyUj, p.powerUw, step === 1, others);
      if (sent !== null) {
        selected.push(p);
        energyUj.push(sent);
      }
    }
    entries.length = 0;
    // keys() + get(), not entries(): an entries() loop allocates a pair per process, every step.
    for (const pid of this.processes.keys()) if (this.processes.get(pid)?.seen !== step) this.processes.delete(pid);
    return { selected, energyUj, rollup: { powerUw: others.powerUw, energyUj: others.energyUj, count: others.count } };
  }

  /**
   * The process's state, new for a new (pid, starttime); the regexes are tested again only when exe, cmdline
   * or the container's name change.
   */
  private entryOf(p: ProcessSample): ProcessEntry {
    let entry = this.processes.get(p.pid);
    const container = p.container?.containerName;
    if (!entry || entry.starttime !== p.starttime) {
      entry = { starttime: p.starttime, exe: p.exe, cmdline: p.cmdline, container, matches: this.matches(p), selected: false, outSteps: 0, seen: 0, lastUj: 0, outUj: 0 };
      this.processes.set(p.pid, entry);
    } else if (entry.exe !== p.exe || entry.cmdline !== p.cmdline || entry.container !== container) {
      entry.exe = p.exe;
      entry.cmdline = p.cmdline;
      entry.container = container;
      entry.matches = this.matches(p);
    }
    return entry;
  }

  private matches(p: ProcessSample): boolean {
    const { include, exclude, containerInclude } = this.options;
    if (include && !include.test(p.exe) && !include.test(p.cmdline)) return false;
    if (containerInclude) {
      const name = p.container?.containerName;
      if (name === undefined || !containerInclude.test(name)) return false;
    }
    return !(exclude && (exclude.test(p.exe) || exclude.test(p.cmdline)));
  }

  private selectGroups(sample: Sample): { selected: GroupSample[]; energyUj: number[] } {
    const step = this.step;
    if (sample.groups.length === 0 && this.groupStages.size === 0) return { selected: [], energyUj: [] };
    for (const stage of this.groupStages.values()) stage.cut.reset();
    const entries: GroupEntry[] = [];
    for (const g of sample.groups) {
      const stage = this.stageOf(g.kind);
      let entry = stage.entries.get(g.key);
      if (!entry) {
        entry = { selected: false, outSteps: 0, seen: 0, lastUj: 0, outUj: 0, lastSeenMs: 0 };
        stage.entries.set(g.key, entry);
      } else if (entry.seen !== step - 1) {
        // Back after an absence: selected anew, as a group never seen (only its energy state was kept).
        entry.selected = false;
        entry.outSteps = 0;
      }
      entry.seen = step;
      entry.lastSeenMs = sample.timestampMs;
      entries.push(entry);
      stage.cut.add(entry, g.powerUw);
    }
    for (const stage of this.groupStages.values()) {
      stage.cut.decide(this.options);
      stage.powerUw = 0;
      stage.count = 0;
    }
    const selected: GroupSample[] = [];
    const energyUj: number[] = [];
    for (let i = 0; i < entries.length; i++) {
      const g = sample.groups[i] as GroupSample;
      const sent = account(entries[i] as GroupEntry, g.energyUj, g.powerUw, step === 1, this.stageOf(g.kind));
      if (sent !== null) {
        selected.push(g);
        energyUj.push(sent);
      }
    }
    const oldestMs = sample.timestampMs - GROUP_STATE_RETENTION_MS;
    for (const stage of this.groupStages.values()) {
      for (const key of stage.entries.keys()) if ((stage.entries.get(key) as GroupEntry).lastSeenMs < oldestMs) stage.entries.delete(key);
    }
    return { selected, energyUj };
  }

  private stageOf(kind: GroupKind): GroupStage {
    let stage = this.groupStages.get(kind);
    if (!stage) {
      stage = new GroupStage();
      this.groupStages.set(kind, stage);
    }
    return stage;
  }
}
