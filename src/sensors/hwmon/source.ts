/**
 * Host power from hwmon (Documentation/hwmon/sysfs-interface.rst): the ACPI power meter's `power1_average`
 * (Documentation/hwmon/acpi_power_meter.rst), or the sum of the channels the user names. Per channel:
 * - a power channel (`power<N>_average` or `_input`, µW) gives the step's power as read; the step's energy is
 *   that power over the step (integrated between readings: there is no counter to read it from). An
 *   average is the driver's mean over its own window (`power<N>_average_interval`, ms): a window longer than
 *   the step repeats a figure over several steps, which is said once.
 * - an energy channel (`energy<N>_input`, µJ) gives the step's energy as the growth of its counter, and the
 *   power from that; a counter that went down wrapped or was reset (core/energy.ts,
 *   energyDeltaUnknownRangeUj): a reset is not measured, that step is skipped and the next one has figures.
 * As for RAPL (powercap/source.ts), a figure that cannot be measured is never published: a channel that
 * cannot be read (gone, denied, not a number, beyond 100 kW) makes the step unavailable (PowerUnavailableError,
 * nothing published, said once by the loop), and readings resume by themselves when it comes back.
 */
import { NotRegularFileError, ReadTimeoutError } from '../../core/bounded-fs.js';
import { energyDeltaUnknownRangeUj, type EnergyDelta } from '../../core/energy.js';
import type { Logger } from '../../core/log.js';
import type { ValueSource } from '../../core/sample.js';
import { MAX_PLATFORM_POWER_UW, platformPowerProblem } from '../platform-limits.js';
import { PowerUnavailableError, type PowerReadContext, type PowerReading, type PowerSource } from '../power-source.js';
import { EnergyCounterFile, type CounterRead } from '../powercap/counter.js';
import { chooseChannels, type ChosenChannel } from './channels.js';
import { describe, discoverHwmon } from './devices.js';
import { HwmonMissingError, HwmonUnreadableError } from './errors.js';
import { errorCode, errorCodeOrText } from '../../core/errors.js';

export interface HwmonSourceOptions {
  readonly hwmonPath: string;
  /** `<device>/<channel>` selectors; empty: the ACPI power meter. */
  readonly channels: readonly string[];
  readonly logger: Logger;
  /** Monotonic clock in ns; tests inject the fixture's. Default process.hrtime.bigint. */
  readonly now?: () => bigint;
}

interface ChannelState {
  readonly channel: ChosenChannel;
  readonly counter: EnergyCounterFile;
  /** Energy channels: the previous counter value, and when (-1n: no baseline). */
  prevUj: number;
  prevNs: bigint;
  /** This step's figures, when `fresh`. */
  powerUw: number;
  deltaUj: number;
  fresh: boolean;
  problem: string;
  warnedReset: boolean;
}

export class HwmonSource implements PowerSource {
  readonly kind = 'hwmon' as const;
  private readonly now: () => bigint;
  private states: ChannelState[] = [];
  private valueSource: ValueSource = 'hwmon';
  /** The previous reading (any outcome): power channels' energy is their power over the time since. */
  private lastNs = -1n;
  private reads = 0;
  private warnedWindow = false;

  constructor(private readonly options: HwmonSourceOptions) {
    this.now = options.now ?? process.hrtime.bigint;
  }

  async start(): Promise<void> {
    const { hwmonPath, logger } = this.options;
    const devices = await discoverHwmon(hwmonPath);
    if (devices === null) throw new HwmonMissingError(hwmonPath);
    const chosen = chooseChannels(hwmonPath, devices, this.options.channels);
    const states = chosen.channels.map((channel) => newState(channel));
    await this.prime(states);
    this.states = states;
    this.valueSource = chosen.valueSource;
    logger.info(
      { hwmonPath, devices: devices.map(describe), channels: states.map((s) => label(s.channel)), valueSource: this.valueSource },
      `hwmon: host power from ${states.map((s) => label(s.channel)).join(' + ')}`,
    );
  }

  /** Opens and reads every channel once; any that cannot be read stops start-up, naming each problem. */
  private async prime(states: readonly ChannelState[]): Promise<void> {
    const opened = await Promise.allSettled(states.map((s) => s.counter.open()));
    const denied = opened.some((r) => r.status === 'rejected' && errorCode(r.reason) === 'EACCES');
    const t0 = this.now();
    const reads = await Promise.all(states.map((s, i) => (opened[i]?.status === 'rejected' ? openFailure(opened[i]) : s.counter.read())));
    const atNs = midpoint(t0, this.now());
    const problems: string[] = [];
    reads.forEach((r, i) => {
      const s = states[i] as ChannelState;
      const problem = r.ok ? (s.channel.kind === 'power' ? platformPowerProblem(r.valueUj) : null) : r.problem;
      if (problem !== null) problems.push(`${s.counter.path}: ${problem}`);
      else if (r.ok) {
        s.prevUj = r.valueUj;
        s.prevNs = atNs;
      }
    });
    if (problems.length > 0) {
      await Promise.all(states.map((s) => s.counter.close()));
      throw new HwmonUnreadableError(problems, denied);
    }
    this.lastNs = atNs;
  }

  async read(context: PowerReadContext): Promise<PowerReading> {
    if (this.lastNs < 0n) throw new Error('HwmonSource.read() called before start()');
    const t0 = this.now();
    const reads = await Promise.all(this.states.map((s) => s.counter.read()));
    const atNs = midpoint(t0, this.now());
    const readAtMs = Date.now();
    const spanNs = atNs - this.lastNs;
    this.lastNs = atNs;
    reads.forEach((r, i) => this.advance(this.states[i] as ChannelState, r, atNs, spanNs));
    this.sayWindow(context);
    const unknown = this.states.filter((s) => !s.fresh);
    if (unknown.length > 0) throw new PowerUnavailableError(unknown.map((s) => `${s.counter.path}: ${s.problem}`));
    let hostPowerUw = 0;
    let hostEnergyDeltaUj = 0;
    for (const s of this.states) {
      hostPowerUw += s.powerUw;
      hostEnergyDeltaUj += s.deltaUj;
    }
    return {
      hostPowerUw,
      hostEnergyDeltaUj,
      sockets: [],
      psysEnergyUj: null,
      valueSource: this.valueSource,
      readAtMs,
      // One previous reading per energy counter; a power channel keeps none.
      hostRecordsKept: this.states.filter((s) => s.channel.kind === 'energy' && s.prevNs >= 0n).length,
    };
  }

  /** Folds one reading into its channel: see the module comment. */
  private advance(s: ChannelState, r: CounterRead, atNs: bigint, spanNs: bigint): void {
    s.fresh = false;
    if (!r.ok) {
      s.problem = r.problem;
      // As for a RAPL host zone: a channel that failed starts its next interval at its next good read.
      s.prevNs = -1n;
      return;
    }
    if (s.channel.kind === 'power') {
      const problem = platformPowerProblem(r.valueUj);
      if (problem !== null) {
        s.problem = problem;
        return;
      }
      s.powerUw = r.valueUj;
      s.deltaUj = (r.valueUj * Number(spanNs)) / 1e9;
      s.fresh = true;
      return;
    }
    this.advanceEnergy(s, r.valueUj, atNs);
  }

  private advanceEnergy(s: ChannelState, valueUj: number, atNs: bigint): void {
    const prevNs = s.prevNs;
    const prevUj = s.prevUj;
    s.prevUj = valueUj;
    s.prevNs = atNs;
    if (prevNs < 0n) {
      s.problem = 'readable again; its power is known from the next reading';
      return;
    }
    if (atNs <= prevNs) {
      s.problem = 'read twice at the same instant';
      return;
    }
    const delta = wrapOrReset(energyDeltaUnknownRangeUj(prevUj, valueUj), s.powerUw, Number(atNs - prevNs));
    if (delta.kind === 'reset') {
      s.problem = 'its energy counter went down (a reset): its power is known from the next reading';
      if (!s.warnedReset) {
        s.warnedReset = true;
        this.options.logger.warn(
          { file: s.counter.path, previousUj: prevUj, currentUj: valueUj },
          'hwmon energy counter went down and not as a 32-bit counter wraps: a reset, so that step is not measured (no figure published for it); power resumes from the next reading (warned once per file)',
        );
      }
      return;
    }
    if (delta.kind === 'wrapped') this.options.logger.debug({ file: s.counter.path }, 'hwmon energy counter wrapped (32 bits)');
    const powerUw = (delta.deltaUj * 1e9) / Number(atNs - prevNs);
    if (powerUw > MAX_PLATFORM_POWER_UW) {
      s.problem = `its counter grew by ${delta.deltaUj} µJ in ${Number(atNs - prevNs) / 1e6} ms: ${platformPowerProblem(powerUw) ?? ''}`;
      return;
    }
    s.powerUw = powerUw;
    s.deltaUj = delta.deltaUj;
    s.fresh = true;
  }

  /** Once: an average over a window longer than the step repeats its figure over several steps. */
  private sayWindow(context: PowerReadContext): void {
    // The first interval is shorter than the step (the first figures come within a second): judge the next ones.
    if (this.warnedWindow || this.reads++ < 1) return;
    const stepMs = Number(context.intervalNs) / 1e6;
    const long = this.states.find((s) => s.channel.averageIntervalMs !== null && s.channel.averageIntervalMs > stepMs * 1.5);
    if (!long) return;
    this.warnedWindow = true;
    this.options.logger.warn(
      { file: long.counter.path, averageIntervalMs: long.channel.averageIntervalMs, stepMs: Math.round(stepMs) },
      `${label(long.channel)} is the meter's average over ${long.channel.averageIntervalMs} ms, longer than the step: consecutive steps can show ` +
        `the same figure. To match the step, write it (as root) to ${long.channel.file}_interval, within its _interval_min and _interval_max (said once)`,
    );
  }

  async close(): Promise<void> {
    this.lastNs = -1n;
    await Promise.all(this.states.map((s) => s.counter.close()));
  }
}

/**
 * A 32-bit wrap is told from a reset by where the counter was (core/energy.ts); a reset from the upper half
 * looks the same, and would publish a spike of up to 2^31 µJ. So a wrap must also fit what the channel drew
 * the step before: at most four times that power, plus 10 W (a load can jump). Otherwise: a reset.
 */
function wrapOrReset(delta: EnergyDelta, previousPowerUw: number, spanNs: number): EnergyDelta {
  if (delta.kind !== 'wrapped' || previousPowerUw <= 0) return delta;
  const powerUw = (delta.deltaUj * 1e9) / spanNs;
  return powerUw <= 4 * previousPowerUw + 10e6 ? delta : { deltaUj: 0, kind: 'reset' };
}

function newState(channel: ChosenChannel): ChannelState {
  return { channel, counter: new EnergyCounterFile(channel.file), prevUj: 0, prevNs: -1n, powerUw: 0, deltaUj: 0, fresh: false, problem: '', warnedReset: false };
}

/** `hwmon3/power1_average (power_meter)`. */
function label(c: ChosenChannel): string {
  return `${c.device.id}/${c.attribute} (${c.device.name}${c.label === null ? '' : `, ${JSON.stringify(c.label)}`})`;
}

/** ENOENT, EACCES, …; our own errors (not a regular file, timed out) say it in words. */
function openFailure(result: PromiseSettledResult<void> | undefined): CounterRead {
  const reason = result?.status === 'rejected' ? (result.reason as unknown) : undefined;
  const problem = reason instanceof NotRegularFileError || reason instanceof ReadTimeoutError ? reason.message : errorCodeOrText(reason);
  return { ok: false, problem, fileLost: true };
}

function midpoint(t0: bigint, t1: bigint): bigint {
  return t0 + (t1 - t0) / 2n;
}
