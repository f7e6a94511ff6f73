import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/core/errors.js';
import { EstimateSource, estimateHostPowerUw } from '../../../src/sensors/estimate.js';

describe('EstimateSource', () => {
  it('models host power as cpus × (idle + (max − idle) × busy) with CCF AWS defaults', async () => {
    const source = new EstimateSource();
    await source.start();
    const idle = await source.read({ cpuBusyFraction: 0, intervalNs: 1_000_000_000n, cpuCount: 4 });
    const half = await source.read({ cpuBusyFraction: 0.5, intervalNs: 2_000_000_000n, cpuCount: 4 });
    const full = await source.read({ cpuBusyFraction: 1, intervalNs: 500_000_000n, cpuCount: 4 });
    expect(idle.hostPowerUw).toBeCloseTo(4 * 0.74 * 1e6, 3); // 2.96 W
    expect(half.hostPowerUw).toBeCloseTo(4 * (0.74 + 2.76 * 0.5) * 1e6, 3); // 8.48 W
    expect(full.hostPowerUw).toBeCloseTo(4 * 3.5 * 1e6, 3); // 14 W
    // energy over the interval: 8.48 W × 2 s = 16.96 J
    expect(half.hostEnergyDeltaUj).toBeCloseTo(16_960_000, 3);
    expect(full.hostEnergyDeltaUj).toBeCloseTo(7_000_000, 3);
    expect(half).toMatchObject({ sockets: [], psysEnergyUj: null, valueSource: 'estimate', hostRecordsKept: 0 });
    expect(Math.abs(half.readAtMs - Date.now())).toBeLessThan(5_000);
    expect(source.kind).toBe('estimate');
  });

  it('takes custom coefficients and clamps the busy fraction', () => {
    expect(estimateHostPowerUw(2, 0.25, 1, 5)).toBeCloseTo(2 * (1 + 4 * 0.25) * 1e6, 3); // 4 W
    expect(estimateHostPowerUw(2, 1.5, 1, 5)).toBeCloseTo(10e6, 3);
    expect(estimateHostPowerUw(2, -1, 1, 5)).toBeCloseTo(2e6, 3);
  });

  it('rejects max below idle with a usage error', () => {
    expect(() => new EstimateSource({ idleWattsPerCpu: 3, maxWattsPerCpu: 2 })).toThrow(UsageError);
  });
});
