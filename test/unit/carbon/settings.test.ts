import { describe, expect, it } from 'vitest';
import { CARBON_FLAG_NAMES, CARBON_KEY_NAMES, carbonPlan, resolveCarbonSettings } from '../../../src/carbon/settings.js';
import { staticZone } from '../../../src/carbon/zones.js';
import { diffSensor, type SensorPlan } from '../../../src/agent/plan-diff.js';
import { DEFAULT_SENSOR } from '../../support/fixtures/run-globals.js';

describe('carbonPlan', () => {
  it('one source each: fixed, the table, a provider with its zone, fallback, URL and refresh', () => {
    expect(carbonPlan({}, CARBON_FLAG_NAMES)).toEqual({ plan: null, problems: [] });
    expect(carbonPlan({ intensityGPerKwh: 120, perProcess: true }, CARBON_FLAG_NAMES).plan).toEqual({ kind: 'fixed', gPerKwh: 120, perProcess: true });
    expect(carbonPlan({ zone: 'se' }, CARBON_FLAG_NAMES).plan).toEqual({ kind: 'static', zone: staticZone('SE'), perProcess: false });
    expect(carbonPlan({ provider: 'electricitymaps', zone: 'DK-DK1', tokenFile: '/t' }, CARBON_FLAG_NAMES).plan).toEqual({
      kind: 'provider',
      provider: 'electricitymaps',
      zone: 'DK-DK1',
      fallback: staticZone('DK'),
      url: 'https://api.electricitymap.org',
      tokenFile: '/t',
      refreshMs: 900_000,
      perProcess: false,
    });
    expect(carbonPlan({ provider: 'uk-carbon-intensity', apiUrl: 'http://127.0.0.1:1', refreshMs: 120_000 }, CARBON_FLAG_NAMES).plan).toMatchObject({
      kind: 'provider',
      zone: 'GB',
      fallback: staticZone('GB'),
      url: 'http://127.0.0.1:1',
      tokenFile: null,
      refreshMs: 120_000,
    });
  });

  it('settings that cannot work together, named as they were written', () => {
    expect(carbonPlan({ intensityGPerKwh: 1, provider: 'uk-carbon-intensity' }, CARBON_KEY_NAMES).problems).toEqual([
      'intensity is a fixed value: leave out provider, or intensity (give one source of carbon intensity)',
    ]);
    expect(carbonPlan({ zone: 'FR', refreshMs: 60_000, tokenFile: '/t' }, CARBON_FLAG_NAMES).problems).toEqual([
      '--carbon-token-file is for a live provider: add --carbon-provider (electricitymaps or uk-carbon-intensity)',
      '--carbon-refresh is for a live provider: add --carbon-provider (electricitymaps or uk-carbon-intensity)',
    ]);
    expect(carbonPlan({ zone: 'ZZ' }, CARBON_FLAG_NAMES).problems).toEqual([expect.stringMatching(/^--carbon-zone "ZZ" is not in scaph's table/)]);
    expect(carbonPlan({ perProcess: true }, CARBON_KEY_NAMES).problems).toEqual(['per_process needs a carbon intensity: intensity, zone or provider']);
  });

  it("a run config's [carbon] replaces the flags; a reload that changes it asks for a restart", () => {
    expect(resolveCarbonSettings({ zone: 'FR' }, { intensityGPerKwh: 5 })).toEqual({ intensityGPerKwh: 5 });
    expect(resolveCarbonSettings({ zone: 'FR' }, null)).toEqual({ zone: 'FR' });
    const plan = (carbon: SensorPlan['carbon']): SensorPlan => ({ settings: DEFAULT_SENSOR, stepMs: 2000, qemu: false, containers: false, carbon });
    expect(diffSensor(plan({ zone: 'FR' }), plan({ zone: 'FR' })).restartNeeded).toEqual([]);
    expect(diffSensor(plan({ zone: 'FR' }), plan({ zone: 'DE' })).restartNeeded).toEqual([expect.stringMatching(/^\[carbon\] \{"zone":"FR"\} -> \{"zone":"DE"\}/)]);
  });
});
