import { describe, expect, it } from 'vitest';
import { COUNTER32_MAX_UJ, energyDeltaUj, energyDeltaUnknownRangeUj, energyUjFromPower, powerUwFromEnergy } from '../../../src/core/energy.js';

describe('energyDeltaUj', () => {
  it('is the plain difference while the counter grows', () => {
    expect(energyDeltaUj(1_000, 51_000, 262_143_328_850)).toEqual({ deltaUj: 50_000, kind: 'normal' });
    expect(energyDeltaUj(7, 7, null)).toEqual({ deltaUj: 0, kind: 'normal' });
  });

  it('adds the distance to the top of the range when the counter wrapped (modulo range + 1)', () => {
    // Counter counts 0..999 (range 999): 990 -> 5 is 10 steps to reach 1000≡0, then 5 more.
    expect(energyDeltaUj(990, 5, 999)).toEqual({ deltaUj: 15, kind: 'wrapped' });
    // Wrapping exactly onto 0.
    expect(energyDeltaUj(999, 0, 999)).toEqual({ deltaUj: 1, kind: 'wrapped' });
    const range = 262_143_328_850;
    expect(energyDeltaUj(range - 1_000_000, 2_000_000, range)).toEqual({ deltaUj: 3_000_001, kind: 'wrapped' });
  });

  it('treats a decrease as a reset when the range is unknown: nothing counted for that interval, whatever the new value', () => {
    expect(energyDeltaUj(5_000_000, 1_200, null)).toEqual({ deltaUj: 0, kind: 'reset' });
    // Set back to a large value (a lying writer): still nothing, never a spike of 4e12 µJ.
    expect(energyDeltaUj(5e12, 4e12, null)).toEqual({ deltaUj: 0, kind: 'reset' });
  });

  it('treats a previous value above the range as a reset, not a wrap (the range changed under us)', () => {
    expect(energyDeltaUj(5_000, 10, 999)).toEqual({ deltaUj: 0, kind: 'reset' });
  });
});

describe('energyDeltaUnknownRangeUj (hwmon energy counters: no published range)', () => {
  it('is the plain difference while the counter grows, at any width', () => {
    expect(energyDeltaUnknownRangeUj(1_000, 51_000)).toEqual({ deltaUj: 50_000, kind: 'normal' });
    expect(energyDeltaUnknownRangeUj(2 ** 40, 2 ** 40 + 9)).toEqual({ deltaUj: 9, kind: 'normal' });
  });

  it('takes a fall from the upper half of 32 bits to the lower half as a 32-bit wrap (modulo 2^32)', () => {
    // 4,294,000,000 -> 1,000,000: 967,295 µJ to the top, one to reach 0, then 1,000,000.
    expect(energyDeltaUnknownRangeUj(4_294_000_000, 1_000_000)).toEqual({ deltaUj: 1_967_296, kind: 'wrapped' });
    expect(energyDeltaUnknownRangeUj(COUNTER32_MAX_UJ, 0)).toEqual({ deltaUj: 1, kind: 'wrapped' });
    // The largest wrap it accepts: half the range.
    expect(energyDeltaUnknownRangeUj(2 ** 31, 0)).toEqual({ deltaUj: 2 ** 31, kind: 'wrapped' });
  });

  it('takes any other decrease as a reset (not measured): from the lower half, from beyond 32 bits', () => {
    expect(energyDeltaUnknownRangeUj(2 ** 31 - 1, 0)).toEqual({ deltaUj: 0, kind: 'reset' });
    expect(energyDeltaUnknownRangeUj(5_000_000, 1_200)).toEqual({ deltaUj: 0, kind: 'reset' });
    // A 64-bit counter never wraps: a 64-bit value that went down was reset (a driver reloaded).
    expect(energyDeltaUnknownRangeUj(2 ** 33, 10)).toEqual({ deltaUj: 0, kind: 'reset' });
  });
});

describe('power and energy conversions', () => {
  it('turns µJ over ns into µW', () => {
    // 50 J over 1 s = 50 W
    expect(powerUwFromEnergy(50_000_000, 1_000_000_000n)).toBe(50_000_000);
    // 3 J over 1.5 s = 2 W, with a number interval
    expect(powerUwFromEnergy(3_000_000, 1_500_000_000)).toBe(2_000_000);
  });

  it('reports 0 rather than Infinity for an empty interval', () => {
    expect(powerUwFromEnergy(10, 0n)).toBe(0);
    expect(powerUwFromEnergy(10, -5)).toBe(0);
  });

  it('turns µW over ms into µJ, the inverse of powerUwFromEnergy', () => {
    expect(energyUjFromPower(2_000_000, 1_500)).toBe(3_000_000);
    expect(powerUwFromEnergy(energyUjFromPower(37_500_000, 2_000), 2_000_000_000n)).toBe(37_500_000);
  });
});
