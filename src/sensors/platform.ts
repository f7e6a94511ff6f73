/**
 * One host, two meters: host power (and with it every process, container and VM share: the attribution
 * model takes host power from wherever it comes) from a platform meter (hwmon, Redfish BMC), the wall figure
 * a data centre pays for; sockets and RAPL domains from RAPL where its counters are readable, as without a
 * platform meter. The difference, platform minus RAPL's host sum (packages and dram), is what RAPL cannot
 * see (power supply losses, fans, disks, NICs, GPUs): published as its own figure, never negative (the two
 * meters are not read at the same instant, nor averaged over the same window).
 * RAPL is secondary here: a RAPL step that cannot be measured leaves sockets out of that step (said once
 * per outage), it never holds up host power.
 */
import type { Logger } from '../core/log.js';
import { PowerUnavailableError, type PowerReadContext, type PowerReading, type PowerSource } from './power-source.js';
import { errorText } from '../core/errors.js';

export class PlatformWithRapl implements PowerSource {
  readonly kind: PowerSource['kind'];
  private raplFailing = false;

  constructor(
    private readonly platform: PowerSource,
    private rapl: PowerSource | null,
    private readonly logger: Logger,
  ) {
    this.kind = platform.kind;
  }

  async start(): Promise<void> {
    await this.platform.start();
    if (this.rapl === null) return;
    try {
      await this.rapl.start();
    } catch (err) {
      // Probed readable a moment ago: whatever changed since, host power does not need RAPL.
      this.logger.warn({ err: errorText(err) }, 'RAPL could not be started: sockets and RAPL domains are not published');
      this.rapl = null;
    }
  }

  async read(context: PowerReadContext): Promise<PowerReading> {
    // Both are read whatever happens to the other: each keeps its intervals in step with the caller's.
    const [platform, rapl] = await Promise.allSettled([this.platform.read(context), this.rapl ? this.rapl.read(context) : Promise.resolve(null)]);
    if (platform.status === 'rejected') throw platform.reason;
    const raplReading = rapl.status === 'fulfilled' ? rapl.value : this.raplFailed(rapl.reason);
    if (raplReading !== null) this.raplRecovered();
    const p = platform.value;
    if (raplReading === null) return p;
    return {
      ...p,
      sockets: raplReading.sockets,
      psysEnergyUj: raplReading.psysEnergyUj,
      outsideRaplPowerUw: Math.max(0, p.hostPowerUw - raplReading.hostPowerUw),
    };
  }

  async close(): Promise<void> {
    await Promise.all([this.platform.close?.(), this.rapl?.close?.()]);
  }

  private raplFailed(reason: unknown): null {
    if (!(reason instanceof PowerUnavailableError)) throw reason;
    if (!this.raplFailing) {
      this.raplFailing = true;
      this.logger.warn({ err: reason.message }, 'RAPL cannot be measured: sockets and RAPL domains are left out until it can (host power goes on; said once)');
    }
    return null;
  }

  private raplRecovered(): void {
    if (!this.raplFailing) return;
    this.raplFailing = false;
    this.logger.warn('RAPL measured again: sockets and RAPL domains are back');
  }
}
