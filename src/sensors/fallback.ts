/**
 * `--sensor auto` without RAPL: the estimate stands in, and it must not do so quietly. Every reading says
 * why (PowerReading.fallback -> Sample host.sensorFallback -> the scaph_sensor_fallback metric, the JSON
 * report), and the logs say what to do: once at start, and, when the counters exist but this user may not
 * read them (a fix away), again every hour while it lasts, each time after looking again.
 */
import type { Logger } from '../core/log.js';
import type { SensorFallbackReason } from '../core/sample.js';
import { periodMs } from '../core/test-period.js';
import type { PowerReadContext, PowerReading, PowerSource } from './power-source.js';
import { GROUP_READ_FIX, NOT_WORLD_READABLE } from './powercap/errors.js';
import { inspectPowercap, type PowercapProbeResult } from './powercap/source.js';

/** While RAPL is unreadable, the warning comes back this often (1 hour). */
export const FALLBACK_WARNING_EVERY_MS = 3_600_000;
/** Test hook: a shorter period, ms (see core/test-period.ts). */
export const FALLBACK_WARNING_ENV = 'SCAPH_TEST_SENSOR_FALLBACK_WARNING_MS';

export interface FallbackOptions {
  readonly reason: SensorFallbackReason;
  readonly powercapPath: string;
  /** rapl_unreadable: the energy file this user was refused. */
  readonly deniedFile?: string;
  readonly logger: Logger;
  /** Default FALLBACK_WARNING_EVERY_MS, or $SCAPH_TEST_SENSOR_FALLBACK_WARNING_MS. */
  readonly warnEveryMs?: number;
  /** Looks at the powercap tree again before a repeated warning (default: inspectPowercap). */
  readonly inspect?: (powercapPath: string) => Promise<PowercapProbeResult>;
  readonly now?: () => number;
}

/** The estimate, published in place of RAPL, each reading marked with why. */
export class FallbackSource implements PowerSource {
  readonly kind = 'estimate' as const;
  private readonly now: () => number;
  private readonly warnEveryMs: number;
  private startedMs = 0;
  private lastWarnMs = 0;
  private rechecking = false;

  constructor(
    private readonly estimate: PowerSource,
    private readonly o: FallbackOptions,
  ) {
    this.now = o.now ?? Date.now;
    this.warnEveryMs = o.warnEveryMs ?? periodMs(FALLBACK_WARNING_ENV, FALLBACK_WARNING_EVERY_MS);
  }

  get reason(): SensorFallbackReason {
    return this.o.reason;
  }

  async start(): Promise<void> {
    await this.estimate.start();
    this.startedMs = this.lastWarnMs = this.now();
    if (this.o.reason === 'rapl_unreadable') this.warnUnreadable(this.o.deniedFile, 0);
    else {
      this.o.logger.warn(
        { powercapPath: this.o.powercapPath, reason: this.o.reason },
        `no usable RAPL powercap zone under ${this.o.powercapPath}; using the CPU-load estimate ` +
          '(value_source="estimate", scaph_sensor_fallback{reason="rapl_missing"} 1). On a physical machine, load the ' +
          'kernel module (`sudo modprobe intel_rapl_common`) and restart scaph; in a VM this is expected ' +
          '(--sensor estimate chooses it without this warning)',
      );
    }
  }

  async read(context: PowerReadContext): Promise<PowerReading> {
    const reading = await this.estimate.read(context);
    if (this.o.reason === 'rapl_unreadable' && !this.rechecking && this.now() - this.lastWarnMs >= this.warnEveryMs) {
      this.lastWarnMs = this.now();
      void this.recheck();
    }
    return { ...reading, fallback: this.o.reason };
  }

  async close(): Promise<void> {
    await this.estimate.close?.();
  }

  /** Looks at the tree again (in the background: the reading does not wait), then says what it found. */
  private async recheck(): Promise<void> {
    this.rechecking = true;
    try {
      const found = await (this.o.inspect ?? inspectPowercap)(this.o.powercapPath);
      const sinceS = Math.round((this.now() - this.startedMs) / 1000);
      if (found.status === 'ok') {
        this.o.logger.warn(
          { powercapPath: this.o.powercapPath, reason: this.o.reason, sinceS },
          'the RAPL counters are readable now, but this run keeps publishing the CPU-load estimate: restart scaph ' +
            '(`sudo systemctl restart scaph`) to measure them',
        );
      } else this.warnUnreadable(found.status === 'permission' ? found.file : this.o.deniedFile, sinceS);
    } catch (err) {
      this.o.logger.warn({ powercapPath: this.o.powercapPath, err: (err as Error).message }, 'could not look at the RAPL counters again');
    } finally {
      this.rechecking = false;
    }
  }

  private warnUnreadable(file: string | undefined, sinceS: number): void {
    this.o.logger.warn(
      {
        powercapPath: this.o.powercapPath,
        ...(file === undefined ? {} : { file }),
        uid: process.getuid?.() ?? null,
        reason: this.o.reason,
        ...(sinceS > 0 ? { sinceS } : {}),
        repeatEveryS: Math.round(this.warnEveryMs / 1000),
      },
      `RAPL energy counters exist but scaph's user may not read them; using the CPU-load estimate ` +
        `(value_source="estimate", scaph_sensor_fallback{reason="rapl_unreadable"} 1). To measure, ${GROUP_READ_FIX}, ` +
        `then restart scaph. ${NOT_WORLD_READABLE}`,
    );
  }
}
