/**
 * RedfishSource against a Redfish service (test/support/servers/redfish-bmc.ts) over HTTPS with a CA made
 * for the test: sessions and basic authentication, both power schemas, chassis without power, slow and
 * failing answers, hostile readings. Poll intervals are shortened (the flag allows 1 s at least; the source
 * takes what it is given) so the no-stale rule shows within a few seconds. It runs in real time against a
 * real server (about 30 s), hence here rather than in test/unit, where the poller's timing is tested on a
 * fake clock (test/unit/sensors/redfish/poller.test.ts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PowerUnavailableError } from '../../../src/sensors/power-source.js';
import { RedfishAuthError, RedfishNoPowerError, RedfishStartError } from '../../../src/sensors/redfish/errors.js';
import { RedfishSource, type RedfishSourceOptions } from '../../../src/sensors/redfish/source.js';
import { captureLogger } from '../../support/fakes/log-capture.js';
import { FakeBmc, type BmcChassis, type FakeBmcOptions } from '../../support/servers/redfish-bmc.js';
import { makeTestPki, type TestPki } from '../../support/servers/test-ca.js';

const CONTEXT = { cpuBusyFraction: 0.5, intervalNs: 500_000_000n, cpuCount: 8 } as const;
const INTERVAL_MS = 400;
const USER = 'monitor';
const PASSWORD = 'pa:ss w0rd';

let dir: string;
let pki: TestPki;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'scaph-redfish-'));
  pki = makeTestPki(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bmcs: FakeBmc[] = [];
const sources: RedfishSource[] = [];
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.close()));
  await Promise.all(bmcs.splice(0).map((b) => b.close()));
});

async function bmc(chassis: BmcChassis[], over: Partial<FakeBmcOptions> = {}): Promise<FakeBmc> {
  const b = await FakeBmc.start({ pki, user: USER, password: PASSWORD, chassis, ...over });
  bmcs.push(b);
  return b;
}

function source(b: FakeBmc, over: Partial<RedfishSourceOptions> = {}, logger = captureLogger().logger): RedfishSource {
  const s = new RedfishSource({
    url: b.url,
    user: USER,
    password: PASSWORD,
    passwordFile: undefined,
    ca: readFileSync(pki.caPath, 'utf8'),
    insecure: false,
    chassis: undefined,
    intervalMs: INTERVAL_MS,
    logger,
    ...over,
  });
  sources.push(s);
  return s;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

function within1Percent(actual: number, truth: number): void {
  expect(Math.abs(actual - truth) / truth, `${actual} vs ${truth}`).toBeLessThan(0.01);
}

describe('RedfishSource: reading the BMC', () => {
  it('EnvironmentMetrics.PowerWatts over one session: the reading as host power, polled in the background, session ended at close', async () => {
    const b = await bmc([{ id: '1U', watts: 412.5 }]);
    const s = source(b);
    await s.start();
    const first = await s.read(CONTEXT);
    within1Percent(first.hostPowerUw, 412.5e6);
    expect(first.valueSource).toBe('redfish');
    expect(first.sockets).toEqual([]);
    b.chassis('1U').watts = 530;
    await until(() => b.powerRequests().length >= 3, 5000, 'two polls after the change');
    within1Percent((await s.read(CONTEXT)).hostPowerUw, 530e6);
    // One session for everything; only EnvironmentMetrics polled (the preferred schema).
    expect(b.sessionsCreated).toBe(1);
    expect(new Set(b.requests.filter((r) => r.path !== '/redfish/v1' && r.method === 'GET').map((r) => r.auth))).toEqual(new Set(['session']));
    expect(new Set(b.powerRequests().map((r) => r.path))).toEqual(new Set(['/redfish/v1/Chassis/1U/EnvironmentMetrics']));
    await s.close();
    expect(b.sessionsDeleted).toBe(1);
    expect(b.sessions.size).toBe(0);
  });

  it('the step\'s energy is the reading\'s power over the step', async () => {
    const b = await bmc([{ id: '1U', watts: 300 }]);
    const s = source(b);
    await s.start();
    await s.read(CONTEXT);
    const t0 = performance.now();
    await sleep(500);
    const r = await s.read(CONTEXT);
    const seconds = (performance.now() - t0) / 1000;
    // Within the timer's skew: the source takes its own clock between reads.
    expect(Math.abs(r.hostEnergyDeltaUj / 1e6 - 300 * seconds) / (300 * seconds)).toBeLessThan(0.05);
  });

  it('basic authentication where the BMC has no session service', async () => {
    const b = await bmc([{ id: '1U', watts: 250 }], { sessions: false });
    const { logger, lines } = captureLogger();
    const s = source(b, {}, logger);
    await s.start();
    within1Percent((await s.read(CONTEXT)).hostPowerUw, 250e6);
    await until(() => b.powerRequests().length >= 2, 5000, 'a poll');
    expect(b.requests.filter((r) => r.path.startsWith('/redfish/v1/Chassis')).every((r) => r.auth === 'basic')).toBe(true);
    expect(lines.some((l) => /no Redfish session service: using HTTP basic authentication/.test(l.msg))).toBe(true);
  });

  it('the deprecated Power schema: the first PowerControl entry, never a sum with the sub-systems listed after it', async () => {
    const b = await bmc([{ id: 'System.Embedded.1', watts: 388, schemas: ['Power'] }]);
    const s = source(b);
    await s.start();
    // The server lists a CPU sub-system at 40 % after the chassis: adding it would give 543.2 W.
    within1Percent((await s.read(CONTEXT)).hostPowerUw, 388e6);
  });

  it('skips a chassis without power for the first one that reports it; --redfish-chassis picks one by Id', async () => {
    const b = await bmc([{ id: 'Enclosure', watts: null }, { id: 'Blade1', watts: 210 }, { id: 'Blade2', watts: 190 }]);
    const first = source(b);
    await first.start();
    within1Percent((await first.read(CONTEXT)).hostPowerUw, 210e6);
    const named = source(b, { chassis: 'Blade2' });
    await named.start();
    within1Percent((await named.read(CONTEXT)).hostPowerUw, 190e6);
  });

  it('asks no more often than the power sensor says it refreshes (SensingInterval)', async () => {
    const b = await bmc([{ id: '1U', watts: 300, sensingInterval: 'PT1.2S' }]);
    const { logger, lines } = captureLogger();
    const s = source(b, {}, logger);
    await s.start();
    expect(lines.find((l) => /asking at its pace/.test(l.msg))).toMatchObject({ sensingIntervalMs: 1200, askedMs: INTERVAL_MS });
    await sleep(3000);
    const polls = b.powerRequests().length;
    // 1 at start + every 1.2 s over 3 s: 3, never the 8 a 400 ms interval would make.
    expect(polls).toBeGreaterThanOrEqual(2);
    expect(polls).toBeLessThanOrEqual(4);
  });
});

describe('RedfishSource: a slow or failing BMC', () => {
  it('a slow answer never holds up a step: each read returns at once with the newest reading', async () => {
    const b = await bmc([{ id: '1U', watts: 300 }]);
    const s = source(b);
    await s.start();
    b.powerDelayMs = 300;
    b.chassis('1U').watts = 333;
    const readMs: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      await s.read(CONTEXT);
      readMs.push(performance.now() - t0);
      await sleep(150);
    }
    expect(Math.max(...readMs)).toBeLessThan(50);
    within1Percent((await s.read(CONTEXT)).hostPowerUw, 333e6);
    const answered = b.powerRequests().filter((r) => r.answeredAtMs !== null);
    expect(answered.length).toBeGreaterThanOrEqual(2);
    // The BMC's answers took what it was told to take.
    for (const r of answered.slice(1)) expect((r.answeredAtMs as number) - r.atMs).toBeGreaterThanOrEqual(295);
  });

  for (const [what, breakIt] of [
    ['hangs', (b: FakeBmc) => (b.powerMisbehaviour = { kind: 'hang' })],
    ['answers 503', (b: FakeBmc) => (b.powerStatus = 503)],
    ['answers garbage JSON', (b: FakeBmc) => (b.powerMisbehaviour = { kind: 'garbage', body: '{"PowerWatts": {"Reading": NaN}}' })],
    ['answers 50 MB', (b: FakeBmc) => (b.powerMisbehaviour = { kind: 'huge', bytes: 50 * 1024 * 1024 })],
    ['gives a negative reading', (b: FakeBmc) => (b.powerReading = -250)],
    ['gives a reading beyond 100 kW', (b: FakeBmc) => (b.powerReading = 5e9)],
    ['gives a null reading', (b: FakeBmc) => (b.powerReading = null)],
  ] as const) {
    it(`a BMC that ${what} later: its reading is not published once older than two intervals, said once, and resumes when it answers`, async () => {
      const b = await bmc([{ id: '1U', watts: 300 }]);
      const { logger, warnings } = captureLogger();
      const s = source(b, {}, logger);
      await s.start();
      within1Percent((await s.read(CONTEXT)).hostPowerUw, 300e6);
      breakIt(b);
      const brokeAt = performance.now();
      // Still published while the newest reading is younger than two intervals, never after.
      let lastGood = brokeAt;
      let refusedAt: number | null = null;
      while (performance.now() - brokeAt < 4 * INTERVAL_MS) {
        const r = await s.read(CONTEXT).catch((e: unknown) => e);
        if (r instanceof PowerUnavailableError) refusedAt ??= performance.now();
        else {
          expect(refusedAt, 'published again after being refused while the BMC is broken').toBeNull();
          lastGood = performance.now();
        }
        await sleep(50);
      }
      expect(refusedAt).not.toBeNull();
      expect(lastGood - brokeAt).toBeLessThanOrEqual(2 * INTERVAL_MS + 60);
      const err = await s.read(CONTEXT).catch((e: unknown) => e);
      expect((err as Error).message).toMatch(new RegExp(`the newest power reading of the BMC at ${b.url} is [\\d.]+ s old, more than two poll intervals \\(0.8 s\\): not published`));
      b.powerMisbehaviour = null;
      b.powerStatus = null;
      b.powerReading = undefined;
      b.chassis('1U').watts = 310;
      await until(() => warnings().some((l) => /gives its power reading again/.test(l.msg)), 8000, 'the BMC back');
      within1Percent((await s.read(CONTEXT)).hostPowerUw, 310e6);
      expect(warnings().filter((l) => /stopped giving its power reading/.test(l.msg))).toHaveLength(1);
    }, 20_000);
  }

  it('a BMC that dropped its sessions (restarted): a new session, readings go on', async () => {
    const b = await bmc([{ id: '1U', watts: 300 }]);
    const s = source(b);
    await s.start();
    b.dropSessions();
    b.chassis('1U').watts = 301;
    await until(() => b.sessionsCreated === 2 && b.powerRequests().some((r) => r.auth === 'session' && r.status === 200 && r.atMs > 0), 5000, 'a new session');
    await until(() => b.powerRequests().filter((r) => r.status === 200).length >= 3, 5000, 'readings after the new session');
    within1Percent((await s.read(CONTEXT)).hostPowerUw, 301e6);
  });
});

describe('RedfishSource: what stops it at start (exit 1, saying what to do)', () => {
  it('a refused password: names the URL and the user', async () => {
    const b = await bmc([{ id: '1U', watts: 300 }]);
    const err = await source(b, { password: 'wrong', passwordFile: '/etc/scaph/bmc-password' }).start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedfishAuthError);
    expect((err as RedfishAuthError).exitCode).toBe(1);
    expect((err as Error).message).toBe(
      `The BMC at ${b.url} refused user "monitor" (HTTP 401 to POST /redfish/v1/SessionService/Sessions (Invalid username or password.)): check --redfish-user and the password (the file /etc/scaph/bmc-password), and that this account may log in over Redfish (its role needs Login)`,
    );
  });

  it('a refused password with basic authentication too', async () => {
    const b = await bmc([{ id: '1U', watts: 300 }], { sessions: false });
    await expect(source(b, { password: 'wrong' }).start()).rejects.toThrow(/refused user "monitor" \(HTTP 401 to GET \/redfish\/v1\/Chassis .*\$SCAPH_REDFISH_PASSWORD/);
  });

  it('an untrusted certificate: says --redfish-ca or --redfish-insecure; insecure reads', async () => {
    const b = await bmc([{ id: '1U', watts: 300 }]);
    const err = await source(b, { ca: undefined }).start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedfishStartError);
    expect((err as Error).message).toMatch(/certificate at https:\/\/127\.0\.0\.1:\d+ is not trusted.*--redfish-ca FILE.*--redfish-insecure/);
    const insecure = source(b, { ca: undefined, insecure: true });
    await insecure.start();
    within1Percent((await insecure.read(CONTEXT)).hostPowerUw, 300e6);
  });

  it('no chassis reports power, or not the one named: each chassis and what it lacked', async () => {
    const b = await bmc([{ id: 'Enclosure', watts: null }, { id: '1U', watts: 300 }]);
    b.powerReading = null;
    const err = await source(b).start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedfishNoPowerError);
    expect((err as Error).message).toMatch(/No chassis of the BMC at .* reports power: Enclosure: neither EnvironmentMetrics nor Power; 1U: PowerWatts.Reading is null \(the BMC has no reading now\), no PowerControl entry has a PowerConsumedWatts reading/);
    b.powerReading = undefined;
    await expect(source(b, { chassis: 'Enclosure' }).start()).rejects.toThrow(/Chassis Enclosure of the BMC .* reports power: Enclosure: neither EnvironmentMetrics nor Power/);
    await expect(source(b, { chassis: 'Rack9' }).start()).rejects.toThrow(/no chassis Rack9 among Enclosure, 1U/);
  });

  it('nothing listening, a hang, garbage or 50 MB at start: one message each, in bounded time', async () => {
    const b = await bmc([{ id: '1U', watts: 300 }]);
    const url = b.url;
    b.powerMisbehaviour = { kind: 'garbage', body: '<html>login</html>' };
    await expect(source(b).start()).rejects.toThrow(/The BMC at .*: the answer to GET \/redfish\/v1\/Chassis\/1U\/EnvironmentMetrics is not JSON \(it starts with "<html>login<\/html>"\)/);
    b.powerMisbehaviour = { kind: 'huge', bytes: 50 * 1024 * 1024 };
    await expect(source(b).start()).rejects.toThrow(/more than the 4 MiB scaph accepts: refused/);
    b.powerMisbehaviour = { kind: 'hang' };
    const t0 = performance.now();
    await expect(source(b).start()).rejects.toThrow(/did not answer within 5 s/);
    expect(performance.now() - t0).toBeLessThan(8000);
    await b.close();
    await expect(source(b).start()).rejects.toThrow(new RegExp(`Cannot reach the BMC at ${url.replace(/\./g, '\\.')} \\(ECONNREFUSED\\)`));
  }, 20_000);
});
