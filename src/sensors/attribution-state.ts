/**
 * What attribution reads of a process and keeps of it from one step to the next. The model
 * (attribution.ts) and the bookkeeping of reaped children (reaped-children.ts) both read and write it,
 * so it lives apart from both.
 */
export interface ProcessCpu {
  readonly pid: number;
  readonly starttime: number;
  readonly ppid: number;
  /** Cumulative utime + stime, USER_HZ ticks. */
  readonly cpuTicksTotal: number;
  /** Cumulative cutime + cstime (children waited for), USER_HZ ticks. */
  readonly childTicksTotal: number;
}

export interface ProcessState {
  readonly starttime: number;
  readonly ppid: number;
  readonly cpuTicksTotal: number;
  readonly childTicksTotal: number;
  readonly energyUj: number;
  /** Ticks of ended children's debit still waiting for this process's cutime growth (reaped-children.ts). */
  readonly pendingDebitTicks: number;
  /** Intervals that debit has waited. */
  readonly pendingDebitAge: number;
}

/**
 * What attribute() keeps of a process between steps: its ProcessState, written in place each step (one
 * object per live process for as long as it lives, not one per process and step: at 10,000 processes a
 * new state map and its objects each step were ~1 MB that lived through the step's scavenges), plus the
 * bookkeeping of the step under way.
 */
export interface TrackedProcess {
  starttime: number;
  ppid: number;
  cpuTicksTotal: number;
  childTicksTotal: number;
  energyUj: number;
  pendingDebitTicks: number;
  pendingDebitAge: number;
  /** The attribute() call that last found this pid in its reading. */
  seenInPass: number;
  /** starttime of the process that pid names in that reading (another than `starttime` after pid reuse). */
  liveStarttime: number;
}

/** pid → what the last step knew of the process. */
export type AttributionState = ReadonlyMap<number, ProcessState>;

export interface EndedKey {
  readonly pid: number;
  readonly starttime: number;
}
