import type { Logger } from '../core/log.js';
import type { Sensor } from '../core/sensor.js';
import { EstimateSource } from './estimate.js';
import { MachineSensor, type ContainerLookup } from './machine-sensor.js';
import { PowercapSource, probePowercap } from './powercap.js';
import type { PowerSource } from './power-source.js';

export type SensorKind = 'powercap_rapl' | 'estimate' | 'auto';

export interface SensorOptions {
  readonly kind: SensorKind;
  readonly powercapPath: string;
  readonly procfsPath: string;
  readonly hostname: string;
  readonly qemu: boolean;
  readonly estimateIdleWattsPerCpu: number | undefined;
  readonly estimateMaxWattsPerCpu: number | undefined;
  readonly containers?: ContainerLookup | null;
}

/** Chooses the power source (`auto`: powercap when a readable tree exists, else the estimate, said once). */
export async function createPowerSource(o: SensorOptions, logger: Logger): Promise<PowerSource> {
  const powercap = (): PowerSource => new PowercapSource({ powercapPath: o.powercapPath, logger });
  const estimate = (): PowerSource =>
    new EstimateSource({ idleWattsPerCpu: o.estimateIdleWattsPerCpu, maxWattsPerCpu: o.estimateMaxWattsPerCpu });
  if (o.kind === 'powercap_rapl') return powercap();
  if (o.kind === 'estimate') return estimate();
  const probe = await probePowercap(o.powercapPath);
  if (probe === 'ok') return powercap();
  logger.warn(
    { powercapPath: o.powercapPath, reason: probe },
    `no readable RAPL powercap tree (${probe}); using the CPU-load estimate: every figure is labelled value_source="estimate"`,
  );
  return estimate();
}

export async function createSensor(o: SensorOptions, logger: Logger): Promise<Sensor> {
  const powerSource = await createPowerSource(o, logger);
  const sensor = new MachineSensor({
    powerSource,
    procfsPath: o.procfsPath,
    hostname: o.hostname,
    logger,
    qemu: o.qemu,
    ...(o.containers ? { containers: o.containers } : {}),
  });
  await sensor.start();
  return sensor;
}
