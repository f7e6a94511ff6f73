/**
 * scaph's per-step sampling cost: MachineSensor.read() with a constant power source, i.e. a procfs
 * snapshot (every <pid>/stat, identities of new processes) plus attribution and the Sample build —
 * the work one scheduler step does before any exporter runs.
 */
import { silentLogger } from '../../src/core/log.js';
import { MachineSensor } from '../../src/sensors/machine-sensor.js';
import { ConstantPowerSource } from '../../test/support/fakes/fake-power-source.js';
import { elapsedNs, median, nowNs } from '../stats.js';

const HOST_POWER_UW = 60_000_000;

export class ScaphSampler {
  private readonly sensor: MachineSensor;
  processes = 0;

  constructor(root: string) {
    this.sensor = new MachineSensor({
      powerSource: new ConstantPowerSource(HOST_POWER_UW),
      procfsPath: root,
      hostname: 'bench',
      logger: silentLogger(),
    });
  }

  /** Starts the sensor (first reading: identities of every process) and runs `warmups` untimed steps. */
  async start(warmups: number): Promise<void> {
    await this.sensor.start();
    for (let i = 0; i < warmups; i++) await this.sensor.read();
  }

  /** Median ns of `passes` timed steps. */
  async measure(passes: number): Promise<number> {
    const times: number[] = [];
    for (let i = 0; i < passes; i++) {
      const start = nowNs();
      const sample = await this.sensor.read();
      times.push(elapsedNs(start));
      this.processes = sample.processes.length;
    }
    return median(times);
  }

  async close(): Promise<void> {
    await this.sensor.close();
  }
}
