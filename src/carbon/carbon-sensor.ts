/**
 * A sensor with emissions: wraps the started machine sensor (which knows nothing of carbon), asks the intensity
 * source for the value in force as each sample comes out and adds the accountant's counters to it. The
 * sample stays plain frozen data; only its top level is new (no per-process copy).
 */
import type { Logger } from '../core/log.js';
import type { Sample } from '../core/sample.js';
import type { Sensor } from '../core/sensor.js';
import { CarbonAccountant } from './accountant.js';
import type { IntensitySource } from './intensity.js';

/** `sensor` (started) with emissions from `intensity` (started here); the sensor is closed if that fails. */
export async function withCarbon(sensor: Sensor, intensity: IntensitySource, perProcess: boolean, logger: Logger): Promise<Sensor> {
  try {
    const carbon = new CarbonSensor(sensor, intensity, perProcess, logger);
    await carbon.start();
    return carbon;
  } catch (err) {
    await sensor.close?.();
    throw err;
  }
}

export class CarbonSensor implements Sensor {
  readonly kind: string;
  private readonly accountant: CarbonAccountant;

  constructor(
    private readonly inner: Sensor,
    private readonly intensity: IntensitySource,
    private readonly perProcess: boolean,
    private readonly logger: Logger,
  ) {
    this.kind = inner.kind;
    this.accountant = new CarbonAccountant({ perProcess });
  }

  /** Starts the intensity source only: the sensor it wraps was started by its factory. */
  async start(): Promise<void> {
    await this.intensity.start();
    this.logger.info({ ...this.intensity.describe(), perProcess: this.perProcess }, 'carbon accounting started');
  }

  async read(): Promise<Sample> {
    const sample = await this.inner.read();
    const carbon = this.accountant.account(sample, this.intensity.current());
    Object.freeze(carbon.groupGrams);
    if (carbon.processGrams) Object.freeze(carbon.processGrams);
    return Object.freeze({ ...sample, carbon: Object.freeze(carbon) });
  }

  async close(): Promise<void> {
    await this.intensity.stop();
    await this.inner.close?.();
  }
}
