/** The shape of bench/out/results.json: every section is present, measured or skipped with a reason. */

export interface Skipped {
  readonly skipped: string;
}

export interface Goal {
  readonly id: string;
  readonly description: string;
  /** The measured ratio or figure the goal is judged on (null when it could not be measured). */
  readonly measured: number | null;
  readonly target: string;
  /** null: not measured in this run (the reason is in `note`). */
  readonly met: boolean | null;
  readonly note?: string;
}

export interface Timing {
  /** Median wall time of one pass (one sampling step, or one scrape), µs. */
  readonly usPerPass: number;
  readonly usPerProcess: number;
  readonly passes: number;
}

export interface SamplingRow {
  readonly tree: string;
  readonly processes: number;
  readonly cFloor: Timing | Skipped;
  readonly scaph: Timing;
  readonly peer: Timing | Skipped;
  /** Median over interleaved rounds of scaph / C (each round measured back to back). */
  readonly scaphToC: number | null;
  readonly peerToScaph: number | null;
}

export interface SamplingSection {
  readonly rows: readonly SamplingRow[];
  /** Cost per process at the large tree / at the small one (1.0 = linear). */
  readonly linearity: { readonly scaph: number; readonly cFloor: number | null; readonly peer: number | null };
}

export interface EncodingRow {
  readonly transport: string;
  readonly scaphOpsPerSec: number;
  readonly peer: string;
  readonly peerOpsPerSec: number | null;
  readonly ratio: number | null;
  readonly bytes: number;
  readonly peerBytes: number | null;
  readonly note?: string;
}

export interface EncodingSection {
  readonly processes: number;
  readonly metrics: number;
  readonly rows: readonly EncodingRow[];
  /** Remote-write 1.0 against 2.0 on one sample of its own size (500 processes), as each transport encodes it. */
  readonly remoteWriteVersions: RemoteWriteVersions;
}

/** One remote-write version's encoder on the sample: the transport's encode (protobuf + snappy). */
export interface RemoteWriteVersionRow {
  readonly version: '1.0' | '2.0';
  /** Encodes per second, snappy included (median over the rounds). */
  readonly opsPerSec: number;
  /** The request body after snappy: what one step puts on the wire. */
  readonly bytesPerStep: number;
  /** The protobuf before snappy. */
  readonly protobufBytes: number;
}

export interface RemoteWriteVersions {
  readonly processes: number;
  readonly metrics: number;
  readonly rows: readonly RemoteWriteVersionRow[];
  /** 2.0's bytes per step ÷ 1.0's. */
  readonly bytesV2ToV1: number;
  /** 2.0's encodes per second ÷ 1.0's (median of the per-round ratios). */
  readonly opsV2ToV1: number;
}

export interface SteadyStateSection {
  readonly processes: number;
  readonly stepMs: number;
  readonly windowMs: number;
  readonly transports: readonly string[];
  readonly cpuSeconds: number;
  readonly cpuSecondsPerHour: number;
  /** CPU seconds per second of window, as a percentage of one core. */
  readonly percentOfOneCore: number;
  /** VmHWM: the highest resident set since start, start-up included (the goal's figure). */
  readonly peakRssMb: number;
  /** The highest VmRSS sampled once a second during the window: what the agent settles at. */
  readonly windowRssMaxMb: number;
  /** Minor page faults per step over the window (each costs a trap, dearer in a VM). */
  readonly minorFaultsPerStep: number;
  readonly samplesDelivered: Readonly<Record<string, number>>;
  /** Bytes scaph wrote per step over the window (`wchar`: the four transports' requests and frames, and its logs). */
  readonly bytesPerStep: number;
  /**
   * The same run's baseline (bench/steady/io-floor.ts): a Node.js program with the agent's flags that per
   * step only reads the same stat files and sends the agent's bytes, encoded once, to the same backends.
   */
  readonly floor: {
    readonly cpuSeconds: number;
    readonly cpuSecondsPerHour: number;
    readonly percentOfOneCore: number;
    readonly peakRssMb: number;
    readonly minorFaultsPerStep: number;
    /** Steps the floor completed (every backend answered), warm-up included. */
    readonly stepsCompleted: number;
  };
  /** scaph's CPU seconds ÷ the floor's over the same window length (null if the floor used none). */
  readonly cpuVsFloor: number | null;
  /** scaph against what a user would run instead to push per-process figures by remote-write. */
  readonly peer: PeerComparison | Skipped;
  /** The same scaph run with `max_top_consumers` on every exporter: what process selection saves. */
  readonly topConsumers: TopConsumersRun;
}

export interface Spread {
  readonly min: number;
  readonly median: number;
  readonly max: number;
}

/** One way of running the agent, over the rounds of the executable row. */
export interface ExecutableVariant {
  /** `node + dist`, `node 24 + dist`, `executable`. */
  readonly label: string;
  readonly runtime: string;
  readonly percentOfOneCore: Spread;
  /** VmHWM, start-up included. */
  readonly peakRssMb: Spread;
  readonly windowRssMaxMb: Spread;
  /** Spawn to the first json report on stdout (the first sample comes one 0.5 s step after start). */
  readonly firstSampleMs: Spread;
  /** Spawn to exit of `--version`. */
  readonly versionMs: Spread;
}

/**
 * The executable row: the three variants measured in turn (order rotating), `rounds` times, with the steady
 * run's config, tree and backends; then their start-up, `startupRuns` times each.
 */
export interface ExecutableComparison {
  readonly rounds: number;
  readonly warmupMs: number;
  readonly windowMs: number;
  readonly startupRuns: number;
  readonly firstSampleStepMs: number;
  readonly variants: readonly ExecutableVariant[];
  /** Medians, executable ÷ node + dist: the goal (within 5 %). */
  readonly cpuVsNode: number | null;
  readonly rssVsNode: number | null;
  /** Medians, executable ÷ node 24 + dist: the packaging alone, same runtime. */
  readonly cpuVsNode24: number | null;
  readonly rssVsNode24: number | null;
}

/** scaph run again, same tree, backends and window, each exporter sending only its top N processes (+ others). */
export interface TopConsumersRun {
  readonly maxTopConsumers: number;
  readonly cpuSeconds: number;
  readonly percentOfOneCore: number;
  readonly peakRssMb: number;
  readonly bytesPerStep: number;
  /** Host-power points each backend received during this run: one per step delivered. */
  readonly samplesDelivered: Readonly<Record<string, number>>;
  /** This run's CPU ÷ the all-series run's (null if that one used none). */
  readonly cpuVsAllSeries: number | null;
  /** This run's bytes per step ÷ the all-series run's. */
  readonly bytesVsAllSeries: number | null;
}

/** One program of a side of the peer row, measured over the window. */
export interface PeerProgram {
  readonly name: string;
  readonly cpuSeconds: number;
  readonly percentOfOneCore: number;
  /** VmHWM, start-up included. */
  readonly peakRssMb: number;
  readonly windowRssMaxMb: number;
}

/** One side of the peer row: its programs and what reached VictoriaMetrics. */
export interface PeerSide {
  readonly label: string;
  readonly programs: readonly PeerProgram[];
  /** Sums over the programs. */
  readonly cpuSeconds: number;
  readonly percentOfOneCore: number;
  readonly peakRssMb: number;
  /** Distinct series the side delivered to VictoriaMetrics (the run's, warm-up included), by job label. */
  readonly seriesByJob: Readonly<Record<string, number>>;
  readonly series: number;
  /** CPU µs per series per step: cpuSeconds over the window ÷ (series × steps in the window). */
  readonly cpuUsPerSeriesStep: number | null;
}

/**
 * The peer row: `scaph run` with remote-write alone, then the Prometheus agent scraping node_exporter
 * (rapl, cpu) and process-exporter (a group per process), one after the other over the same trees (the
 * steady section's procfs tree, a synthetic powercap tree), the same step, window and VictoriaMetrics.
 */
export interface PeerComparison {
  readonly processes: number;
  readonly stepMs: number;
  readonly windowMs: number;
  readonly scaph: PeerSide;
  readonly stack: PeerSide;
  /** scaph ÷ stack. */
  readonly cpuVsStack: number | null;
  readonly peakRssVsStack: number | null;
  readonly seriesVsStack: number | null;
  readonly cpuPerSeriesVsStack: number | null;
  /** How each side was set up, where it departs from a program's defaults and why. */
  readonly notes: readonly string[];
}

/** One measured run of the scale section: one program on one tree, in one round. */
export interface ScaleRun {
  readonly processes: number;
  /** `remote-write`, `remote-write, top N`, `three transports`, `I/O floor`, `process-exporter`. */
  readonly program: string;
  readonly round: number;
  readonly cpuSeconds: number;
  /** CPU µs per process per step over the window (process-exporter: per scrape, one a step). */
  readonly usPerProcessStep: number;
  readonly percentOfOneCore: number;
  /** VmHWM, start-up included. */
  readonly peakRssMb: number;
  /** The median of the window's VmRSS samples (once a second). */
  readonly settledRssMb: number;
  /** Bytes the program wrote per step over the window (`wchar`: what it sent, and its logs). */
  readonly bytesPerStep: number;
  /**
   * What got through during the run, warm-up included: remote-write steps (host power points in
   * VictoriaMetrics), Riemann Msgs, Warp 10 updates, the I/O floor's steps, process-exporter's scrapes.
   */
  readonly delivered: Readonly<Record<string, number>>;
  /** The 1-minute load average when the run started and when it ended. */
  readonly loadavg: readonly [number, number];
}

/** One program at one size, over the rounds: median (min-max). */
export interface ScaleRow {
  readonly processes: number;
  readonly program: string;
  readonly usPerProcessStep: Spread;
  readonly percentOfOneCore: Spread;
  readonly peakRssMb: Spread;
  readonly settledRssMb: Spread;
  readonly bytesPerStep: Spread;
  /** The lowest and highest 1-minute load average seen at the starts and ends of its runs. */
  readonly loadavg: { readonly min: number; readonly max: number };
}

/**
 * The scale section: `scaph run` on ticking synthetic trees of several sizes (remote-write alone, with a
 * selection, and the three push transports), the I/O floor of the three transports and
 * prometheus-process-exporter, in rounds: each round measures every size and program once, in an order
 * that rotates from round to round, so a drift of the machine shows as spread.
 */
export interface ScaleSection {
  readonly sizes: readonly number[];
  readonly stepMs: number;
  readonly warmupMs: number;
  readonly windowMs: number;
  readonly rounds: number;
  readonly maxTopConsumers: number;
  readonly rows: readonly ScaleRow[];
  /** Per size, three transports ÷ the I/O floor (CPU), one ratio per round (both measured in it). */
  readonly vsFloor: ReadonlyArray<{ readonly processes: number; readonly ratio: Spread }>;
  /** remote-write's µs per process per step at the largest size ÷ at the second size, one ratio per round; null with one size. */
  readonly linearity: { readonly large: number; readonly small: number; readonly ratio: Spread } | null;
  readonly runs: readonly ScaleRun[];
  /** How the programs were set up, and runs that delivered less than they should have. */
  readonly notes: readonly string[];
}

export interface BenchResults {
  readonly version: 1;
  readonly quick: boolean;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly environment: {
    readonly node: string;
    readonly cpus: number;
    readonly loadavgAtStart: readonly number[];
    readonly cCompiler: string | null;
  };
  readonly sampling: SamplingSection | Skipped;
  readonly encoding: EncodingSection | Skipped;
  readonly steadyState: SteadyStateSection | Skipped;
  /** The single executable of `npm run package` against node + dist (and node 24 + dist), the steady run's config. */
  readonly executable: ExecutableComparison | Skipped;
  readonly scale: ScaleSection | Skipped;
  readonly goals: readonly Goal[];
}

export function isSkipped(value: object): value is Skipped {
  return 'skipped' in value;
}
