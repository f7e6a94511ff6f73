import { afterEach, describe, expect, it } from 'vitest';
import { ProviderIntensitySource, type ProviderSourceOptions } from '../../../src/carbon/provider-source.js';
import { staticZone } from '../../../src/carbon/zones.js';
import { captureLogger } from '../../support/fakes/log-capture.js';
import { startFakeCarbonProvider, type FakeCarbonProvider } from '../../support/servers/carbon-provider.js';
import { waitFor } from '../../support/servers/free-port.js';

const open: Array<{ close(): Promise<void> } | { stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0)) await ('close' in o ? o.close() : o.stop());
});

const FR = staticZone('FR');

async function setup(over: Partial<ProviderSourceOptions> = {}, fakeOptions: Parameters<typeof startFakeCarbonProvider>[0] = {}) {
  const fake = await startFakeCarbonProvider({ value: 42, token: 'secret', ...fakeOptions });
  open.push(fake);
  const log = captureLogger();
  const source = new ProviderIntensitySource({
    provider: 'electricitymaps',
    baseUrl: fake.url,
    zone: 'FR',
    token: 'secret',
    fallback: FR,
    refreshMs: 60_000,
    timeoutMs: 5000,
    logger: log.logger,
    ...over,
  });
  open.push(source);
  return { fake, source, log };
}

/** The failures the provider may have, each: the fallback, one warning, the value never labelled live. */
const FAILURES: ReadonlyArray<readonly [string, (f: FakeCarbonProvider) => Promise<void> | void, RegExp]> = [
  ['down', (f) => f.down(), /ECONNREFUSED|fetch failed|connect/],
  ['slow', (f) => void (f.mode = 'slow'), /within 5000 ms/],
  ['401', (f) => void (f.token = 'other'), /HTTP 401 \(the token was refused.*Invalid auth-token/],
  ['garbage JSON', (f) => void (f.mode = 'garbage'), /not JSON/],
  ['an unknown zone', (f) => void (f.mode = 'unknown-zone'), /HTTP 400 \(check the zone.*does not exist/],
  ['a stale value', (f) => void (f.mode = 'stale'), /stale/],
  ['a 500', (f) => void (f.mode = { status: 500 }), /HTTP 500/],
];

describe('ProviderIntensitySource', () => {
  it('asks Electricity Maps for the zone with the token and gives its value as the provider', async () => {
    const { fake, source, log } = await setup();
    await source.start();
    expect(source.current()).toEqual({ gPerKwh: 42, source: 'provider', zone: 'FR' });
    expect(fake.requests).toEqual([expect.objectContaining({ path: '/v3/carbon-intensity/latest?zone=FR', token: 'secret' })]);
    expect(log.warnings()).toEqual([]);
  });

  it('asks the GB Carbon Intensity API without a token, its actual value', async () => {
    const { fake, source } = await setup({ provider: 'uk-carbon-intensity', zone: 'GB', token: null, fallback: staticZone('GB') });
    fake.value = 180;
    await source.start();
    expect(source.current()).toEqual({ gPerKwh: 180, source: 'provider', zone: 'GB' });
    expect(fake.requests.map((r) => [r.path, r.token])).toEqual([['/intensity', undefined]]);
  });

  for (const [what, breakIt, why] of FAILURES) {
    it(`${what} at start: the zone's static value (source static), one warning saying why`, async () => {
      const { fake, source, log } = await setup();
      await breakIt(fake);
      await source.start();
      expect(source.current()).toEqual({ gPerKwh: FR?.gPerKwh, source: 'static', zone: 'FR' });
      const warnings = log.warnings();
      expect(warnings).toHaveLength(1);
      expect(String(warnings[0]?.['err'])).toMatch(why);
      expect(warnings[0]?.msg).toContain(`static value for FR (${FR?.gPerKwh} g/kWh, ${FR?.year}; source="static")`);
    });
  }

  it('a provider failing while running: its value is dropped at once (never presented as live), said once, and taken again when it answers', async () => {
    const { fake, source, log } = await setup({ refreshMs: 150 });
    await source.start();
    expect(source.current()?.source).toBe('provider');
    fake.mode = 'garbage';
    await waitFor(async () => (source.current()?.source === 'static' ? true : null), 5000, 'the fallback', 20);
    expect(source.current()).toEqual({ gPerKwh: FR?.gPerKwh, source: 'static', zone: 'FR' });
    const failuresSeen = fake.requests.length;
    await waitFor(async () => (fake.requests.length >= failuresSeen + 3 ? true : null), 5000, 'three more failed requests', 20);
    expect(log.warnings()).toHaveLength(1);
    fake.mode = 'ok';
    fake.value = 77;
    await waitFor(async () => (source.current()?.source === 'provider' ? true : null), 5000, 'the provider again', 20);
    expect(source.current()).toEqual({ gPerKwh: 77, source: 'provider', zone: 'FR' });
    expect(log.warnings().map((w) => w.msg)).toEqual([expect.stringContaining('provider failed'), expect.stringContaining('answers again')]);
  });

  it('without a static value for the zone: no intensity at all while it fails, said once', async () => {
    const { fake, source, log } = await setup({ zone: 'XK-1', fallback: null });
    await fake.down();
    await source.start();
    expect(source.current()).toBeNull();
    expect(log.warnings()).toHaveLength(1);
    expect(log.warnings()[0]?.msg).toContain('no emissions are counted until it answers');
  });

  it('a value not refreshed for two refreshes is no longer used (a stuck poll never keeps it live)', async () => {
    let now = Date.now();
    const { source } = await setup({ refreshMs: 60_000, nowMs: () => now });
    await source.start();
    expect(source.current()?.source).toBe('provider');
    now += 120_001;
    expect(source.current()?.source).toBe('static');
  });

  it('stop ends a request under way at once', async () => {
    const { fake, source } = await setup({ timeoutMs: 30_000 });
    fake.mode = 'slow';
    const started = source.start();
    await waitFor(async () => (fake.requests.length > 0 ? true : null), 5000, 'the request', 10);
    const t0 = Date.now();
    await source.stop();
    await started;
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});
