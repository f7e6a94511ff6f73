/**
 * Carbon settings and providers given bad input (the built binary): each flag or [carbon] key that cannot
 * work exits 2 with one line naming it, before anything starts; a provider that is down, slow, refuses the
 * token, answers garbage or does not know the zone (at start or while scaph runs) gives the zone's static
 * value, said once, with source="static" on every report that used it, and never the provider's last value
 * as if it were live; reports keep coming and the run ends cleanly (nothing lost).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staticZone } from '../../../src/carbon/zones.js';
import { runScaph, startScaph } from '../../support/fixtures/run-scaph.js';
import { eventually, expectClean, expectFailure, JSON_LOGS, saying, tempDir } from '../../support/harness/bad-input.js';
import { startFakeCarbonProvider, type FakeCarbonProvider, type ProviderMode } from '../../support/servers/carbon-provider.js';

let dir: string;
let tokenFile: string;
const closers: Array<() => unknown> = [];
beforeAll(() => {
  dir = tempDir('scaph-carbon-bad-');
  tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 'secret\n');
});
afterAll(async () => {
  for (const c of closers.splice(0)) await c();
});

const FR = staticZone('FR');
/** Short refresh and deadline (test hooks), so a run of a few seconds sees several requests. */
const FAST = { ...process.env, SCAPH_TEST_CARBON_REFRESH_MS: '200', SCAPH_TEST_CARBON_TIMEOUT_MS: '400' };

interface Report {
  readonly host: { readonly timestamp: number; readonly carbon?: { readonly emissions: number; readonly intensity: number | null; readonly source: string | null; readonly zone: string } };
}

async function provider(): Promise<FakeCarbonProvider> {
  const p = await startFakeCarbonProvider({ value: 42, token: 'secret' });
  closers.push(() => p.close());
  return p;
}

function electricityMaps(p: FakeCarbonProvider): string[] {
  return ['--carbon-provider', 'electricitymaps', '--carbon-zone', 'FR', '--carbon-token-file', tokenFile, '--carbon-api-url', p.url];
}

describe('bad carbon flags: exit 2, one line naming the flag, nothing started', () => {
  const CASES: ReadonlyArray<readonly [readonly string[], RegExp]> = [
    [['--carbon-zone', 'XX'], /--carbon-zone "XX" is not in scaph's table of countries: docs\/carbon\.md lists the \d+ codes/],
    [['--carbon-zone', 'France'], /--carbon-zone must be a country code \(ISO 3166-1 alpha-2, e\.g\. FR\)/],
    [['--carbon-intensity', '-5'], /--carbon-intensity must be a number of gCO2e\/kWh from 0 to 5000/],
    [['--carbon-intensity', '300', '--carbon-zone', 'DE'], /--carbon-intensity is a fixed value: leave out --carbon-zone/],
    [['--carbon-provider', 'watttime'], /--carbon-provider.*Allowed choices are electricitymaps, uk-carbon-intensity/],
    [['--carbon-provider', 'electricitymaps', '--carbon-zone', 'FR'], /--carbon-provider electricitymaps needs --carbon-token-file/],
    [['--carbon-provider', 'electricitymaps', '--carbon-token-file', '/etc/hostname'], /--carbon-provider electricitymaps needs --carbon-zone/],
    [['--carbon-provider', 'uk-carbon-intensity', '--carbon-zone', 'FR'], /--carbon-zone must be GB \(or left out\) with --carbon-provider uk-carbon-intensity/],
    [['--carbon-provider', 'uk-carbon-intensity', '--carbon-token-file', '/etc/hostname'], /--carbon-token-file is for electricitymaps/],
    [['--carbon-zone', 'FR', '--carbon-refresh', '120'], /--carbon-refresh is for a live provider: add --carbon-provider/],
    [['--carbon-zone', 'FR', '--carbon-api-url', 'http://127.0.0.1:9'], /--carbon-api-url is for a live provider/],
    [['--carbon-per-process'], /--carbon-per-process needs a carbon intensity/],
    [['--carbon-refresh', '5'], /--carbon-refresh must be at least 60 s/],
    [['--carbon-api-url', 'https://user:pw@example.invalid'], /--carbon-api-url must not hold a user or password/],
    [['--carbon-api-url', 'file:///etc/passwd'], /--carbon-api-url must be an http:\/\/ or https:\/\/ URL/],
  ];
  for (const [flags, message] of CASES) {
    it(flags.join(' '), async () => {
      const out = join(dir, `never-${flags.join('_').replace(/[^a-z0-9]/gi, '')}.json`);
      const r = await runScaph(['--sensor', 'estimate', ...flags, 'json', '-f', out, '-t', '2'], { timeoutMs: 15_000 });
      expectFailure(r, 2, message);
      expect(r.stdout).toBe('');
      expect(() => writeFileSync(out, '', { flag: 'wx' })).not.toThrow(); // no output file was created
    });
  }

  it('a token file that does not exist: exit 1 naming it, before any output opens', async () => {
    const out = join(dir, 'never-token.json');
    const r = await runScaph(['--sensor', 'estimate', '--carbon-provider', 'electricitymaps', '--carbon-zone', 'FR', '--carbon-token-file', join(dir, 'nope'), 'json', '-f', out, '-t', '2'], { timeoutMs: 15_000 });
    expectFailure(r, 1, /--carbon-token-file \(token_file\) file ".*nope" does not exist: check the path/);
    expect(() => writeFileSync(out, '', { flag: 'wx' })).not.toThrow();
  });
});

describe('bad [carbon] keys: --check and the start refuse them, naming key and line', () => {
  const CASES: ReadonlyArray<readonly [string, RegExp]> = [
    ['zone = "XX"', /:\d+: carbon: zone "XX" is not in scaph's table of countries/],
    ['intensity = 100\nzone = "FR"', /carbon: intensity is a fixed value: leave out zone/],
    ['provider = "electricitymaps"\nzone = "FR"', /carbon: provider electricitymaps needs token_file/],
    ['refresh = "10s"\nprovider = "uk-carbon-intensity"', /:\d+: carbon\.refresh: must be at least 60 s/],
    ['per_process = "yes"', /:\d+: carbon\.per_process: must be true or false, got "yes"/],
    ['colour = "green"', /:\d+: carbon\.colour: unknown key; valid keys: intensity, zone, provider, token_file, api_url, refresh, per_process/],
  ];
  for (const [body, message] of CASES) {
    it(body.replace(/\n/g, '; '), async () => {
      const config = join(dir, `carbon-${Math.random().toString(36).slice(2)}.toml`);
      writeFileSync(config, `[sensor]\nkind = "estimate"\n\n[carbon]\n${body}\n\n[[exporter]]\ntype = "stdout"\n`);
      for (const args of [['run', '-c', config, '--check'], ['run', '-c', config]]) {
        const r = await runScaph(args, { timeoutMs: 15_000 });
        expectFailure(r, 2, message);
      }
    });
  }
});

describe('a provider misbehaving: the static value, said once, never a stale value as live', () => {
  const BREAKS: ReadonlyArray<readonly [string, (p: FakeCarbonProvider) => Promise<void> | void]> = [
    ['down', (p) => p.down()],
    ['slow', (p) => void (p.mode = 'slow' satisfies ProviderMode)],
    ['401', (p) => void (p.token = 'another')],
    ['garbage JSON', (p) => void (p.mode = 'garbage')],
    ['a zone it does not know', (p) => void (p.mode = 'unknown-zone')],
  ];
  for (const [what, breakIt] of BREAKS) {
    it(`${what} at start: every report at FR's static value, source static, one warning, a clean end`, async () => {
      const p = await provider();
      await breakIt(p);
      const out = join(dir, `start-${what.replace(/\W/g, '')}.json`);
      const r = await runScaph([...JSON_LOGS, '--sensor', 'estimate', ...electricityMaps(p), 'json', '-s', '1', '-t', '3', '-f', out], { env: FAST, timeoutMs: 20_000 });
      expectClean(r);
      const reports = JSON.parse(readFileSync(out, 'utf8')) as Report[];
      expect(reports.length).toBeGreaterThanOrEqual(2);
      for (const report of reports) expect(report.host.carbon).toMatchObject({ intensity: FR?.gPerKwh, source: 'static', zone: 'FR' });
      expect(saying(r.stderr, /carbon intensity provider failed/)).toHaveLength(1);
      expect(r.stderr).not.toContain('secret');
    });
  }

  it('failing while running: reports switch to static at once and back to provider when it answers; the emissions never stop', async () => {
    const p = await provider();
    const out = join(dir, 'running.json');
    // A deadline long enough that a loaded machine never turns a slow answer into a second failure.
    const env = { ...FAST, SCAPH_TEST_CARBON_TIMEOUT_MS: '3000' };
    const run = startScaph([...JSON_LOGS, '--sensor', 'estimate', ...electricityMaps(p), 'json', '-s', '1', '-t', '9', '-f', out], { env, timeoutMs: 30_000 });
    closers.push(() => run.stop('SIGKILL'));
    const reportsNow = (): Report[] => {
      const text = readFileSync(out, 'utf8').trim();
      return text === '' || text === '[' ? [] : (JSON.parse(`${text.replace(/,$/, '')}${text.endsWith(']') ? '' : '\n]'}`) as Report[]);
    };
    await eventually(() => reportsNow().length >= 2, 10_000, 'two reports');
    await p.down();
    const downAt = reportsNow().length;
    await eventually(() => reportsNow().length >= downAt + 3, 10_000, 'three reports while down');
    await p.restart();
    const r = await run.done;
    expectClean(r);
    const reports = reportsNow();
    const sources = reports.map((x) => x.host.carbon?.source);
    expect(sources[0]).toBe('provider');
    // Once static, a provider value is never shown again until it answers again: one run of static, then provider.
    const firstStatic = sources.indexOf('static');
    expect(firstStatic).toBeGreaterThan(0);
    // Back to the provider once it answers (a loaded machine may time out one more request later: each
    // failure is a run of static reports, said once, never the provider's value under its label).
    expect(sources.slice(firstStatic).join(',')).toMatch(/^static(,static)*,provider/);
    for (const x of reports) expect(x.host.carbon?.intensity).toBe(x.host.carbon?.source === 'static' ? FR?.gPerKwh : 42);
    const emissions = reports.map((x) => x.host.carbon?.emissions ?? -1);
    for (let i = 1; i < emissions.length; i++) expect(emissions[i]).toBeGreaterThan(emissions[i - 1] as number);
    const failures = saying(r.stderr, /carbon intensity provider failed/).length;
    const recoveries = saying(r.stderr, /answers again/).length;
    expect(failures).toBeGreaterThanOrEqual(1);
    expect(recoveries).toBeGreaterThanOrEqual(1);
    // One line per failure: a warning for each run of static reports, one for each return.
    expect(failures - recoveries).toBeGreaterThanOrEqual(0);
    expect(failures - recoveries).toBeLessThanOrEqual(1);
    expect(failures).toBe(sources.filter((x, i) => x === 'static' && sources[i - 1] !== 'static').length);
  });
});
