/**
 * Platform meters given bad input: each new flag wrong, the BMC's or the hwmon tree's hostile content (NaN,
 * negative, huge, garbage JSON, a 50 MB answer, a hang, a FIFO), at start and while scaph runs. At start:
 * one line saying what to do, exit 2 for a flag, 1 for the machine or the BMC, in bounded time. While it
 * runs: a figure scaph cannot trust is never published (no report carries it, nor a stale one), it is said
 * once, and reports resume by themselves when the meter is sane again; nothing else is lost.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HwmonTree, POWER_METER_ONLY, type HwmonDeviceSpec } from '../../support/fixtures/hwmon-tree.js';
import { runScaph, startScaph } from '../../support/fixtures/run-scaph.js';
import { eventually, expectClean, expectFailure, JSON_LOGS, logLines, sleep, tempDir, type LogLine } from '../../support/harness/bad-input.js';
import { FakeBmc, type FakeBmcOptions } from '../../support/servers/redfish-bmc.js';
import { makeTestPki, type TestPki } from '../../support/servers/test-ca.js';

const USER = 'monitor';
const PASSWORD = 'calvin';

let pki: TestPki;
let passwordFile: string;
let dir: string;
beforeAll(() => {
  dir = tempDir('scaph-platform-bad-');
  pki = makeTestPki(dir);
  passwordFile = join(dir, 'bmc-password');
  writeFileSync(passwordFile, `${PASSWORD}\n`);
});

const closers: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of closers.splice(0)) await c();
});

function hwmon(specs: readonly HwmonDeviceSpec[] = POWER_METER_ONLY, clock: 'fake' | 'real' = 'real'): HwmonTree {
  const t = new HwmonTree(specs, { clock });
  closers.push(() => t.close());
  return t;
}

async function bmc(over: Partial<FakeBmcOptions> = {}): Promise<FakeBmc> {
  const b = await FakeBmc.start({ pki, user: USER, password: PASSWORD, chassis: [{ id: '1U', watts: 412.5 }], ...over });
  closers.push(() => b.close());
  return b;
}

/** The flags of a Redfish run against `b`. */
function redfish(b: FakeBmc, ...extra: string[]): string[] {
  return ['--sensor', 'redfish', '--redfish-url', b.url, '--redfish-user', USER, '--redfish-password-file', passwordFile, '--redfish-ca', pki.caPath, '--powercap-path', '/nonexistent', ...extra];
}

interface Report {
  readonly host: { readonly consumption: number; readonly value_source: string; readonly timestamp: number };
}

describe('bad platform meter flags: exit 2 and one line naming the flag', () => {
  const CASES: ReadonlyArray<readonly [readonly string[], RegExp]> = [
    [['--hwmon-channel', 'grace'], /--hwmon-channel must be <device>\/<channel> \(device: its name or hwmonN; channel: powerN, energyN, powerN_input, \.\.\.\), e\.g\. power_meter\/power1 or hwmon3\/energy1, got "grace"/],
    [['--hwmon-channel', 'coretemp/temp1'], /--hwmon-channel must be <device>\/<channel>.*got "coretemp\/temp1"/],
    [['--redfish-url', 'bmc.example'], /--redfish-url not a URL: "bmc\.example"; give the BMC's address as https:\/\/<bmc>/],
    [['--redfish-url', 'ftp://bmc.example'], /--redfish-url ftp: is not http\(s\)/],
    [['--redfish-url', 'https://root:calvin@bmc.example'], /--redfish-url holds a user or password: give the user with --redfish-user and the password in --redfish-password-file/],
    [['--redfish-interval', '0.5'], /--redfish-interval must be at least 1 s: BMCs refresh their readings every few seconds at best, got "0\.5"/],
    [['--redfish-interval', 'soon'], /--redfish-interval must be a number of seconds, got "soon"/],
    [['--redfish-interval', '0x10'], /--redfish-interval must be a number of seconds, got "0x10"/],
    [['--redfish-interval', '99999'], /--redfish-interval must be at most 3600 s/],
    [['--sensor', 'ipmi'], /argument 'ipmi' is invalid\. Allowed choices are powercap_rapl, estimate, auto, hwmon, redfish/],
    [['--sensor', 'redfish'], /--sensor redfish needs the BMC's address: --redfish-url https:\/\/<bmc>/],
    [['--sensor', 'redfish', '--redfish-url', 'https://192.0.2.1'], /--sensor redfish needs a BMC user: --redfish-user <name>/],
    [['--sensor', 'redfish', '--redfish-url', 'https://192.0.2.1', '--redfish-user', 'u'], /needs the BMC password: in a file given to --redfish-password-file \(redfish_password_file in \[sensor\]\), or in \$SCAPH_REDFISH_PASSWORD/],
    [['--sensor', 'redfish', '--redfish-url', 'https://192.0.2.1', '--redfish-user', 'u', '--redfish-ca', '/etc/hostname', '--redfish-insecure'], /--redfish-ca and --redfish-insecure contradict each other/],
  ];
  it.each(CASES)('scaph %j stdout', async (args, message) => {
    expectFailure(await runScaph(['--no-header', ...args, 'stdout', '-t', '1'], { env: { SCAPH_REDFISH_PASSWORD: '' } }), 2, message);
  });

  it('a [sensor] table with bad platform keys: every problem with its line, exit 2', async () => {
    const config = join(dir, 'bad-sensor.toml');
    writeFileSync(config, '[sensor]\nkind = "redfish"\nredfish_url = "bmc"\nredfish_interval = "100ms"\nhwmon_channel = "x"\n[[exporter]]\ntype = "stdout"\n');
    const r = await runScaph(['--no-header', 'run', '-c', config, '--check']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${config}:3: sensor.redfish_url: not a URL: "bmc"`);
    expect(r.stderr).toContain(`${config}:4: sensor.redfish_interval: must be at least 1 s`);
    expect(r.stderr).toContain(`${config}:5: sensor.hwmon_channel: must be <device>/<channel>`);
  });
});

describe('the machine or the BMC unusable at start: exit 1, one line, bounded time', () => {
  it('no hwmon directory, a channel nobody has, several meters, a FIFO as power1_average or as a name', async () => {
    expectFailure(await runScaph(['--no-header', '--sensor', 'hwmon', '--hwmon-path', '/nonexistent/hwmon', 'stdout', '-t', '1']), 1, /No hwmon directory at \/nonexistent\/hwmon/, /--hwmon-path \/host\/sys\/class\/hwmon/);
    const t = hwmon(POWER_METER_ONLY, 'fake');
    expectFailure(
      await runScaph(['--no-header', '--sensor', 'hwmon', '--hwmon-path', t.hwmonPath, '--hwmon-channel', 'coretemp/power1', 'stdout', '-t', '1']),
      1,
      /--hwmon-channel coretemp\/power1: hwmon2 \(coretemp\) has no channel power1/,
    );
    const two = hwmon([{ name: 'power_meter', channels: [{ id: 'power1', watts: 1 }] }, { name: 'power_meter', channels: [{ id: 'power1', watts: 2 }] }], 'fake');
    expectFailure(await runScaph(['--no-header', '--sensor', 'hwmon', '--hwmon-path', two.hwmonPath, 'stdout', '-t', '1']), 1, /2 ACPI power meters \(hwmon0, hwmon1\): they may nest/);
    // A FIFO nobody writes to, where the meter's reading or a device's name should be: named, never waited on.
    const root = tempDir('scaph-hwmon-fifo-');
    for (const [i, name] of [['0', 'power1_average'], ['1', 'name']] as const) {
      const dev = join(root, 'devices', `d${i}`, 'hwmon', `hwmon${i}`);
      mkdirSync(dev, { recursive: true });
      if (name === 'power1_average') writeFileSync(join(dev, 'name'), 'power_meter\n');
      else writeFileSync(join(dev, 'power1_input'), '5000000\n');
      execFileSync('mkfifo', [join(dev, name)]);
      mkdirSync(join(root, 'class', 'hwmon'), { recursive: true });
      symlinkSync(`../../devices/d${i}/hwmon/hwmon${i}`, join(root, 'class', 'hwmon', `hwmon${i}`));
    }
    const fifo = await runScaph(['--no-header', '--sensor', 'hwmon', '--hwmon-path', join(root, 'class', 'hwmon'), 'stdout', '-t', '1'], { timeoutMs: 15_000 });
    expectFailure(fifo, 1, /power1_average is a FIFO \(named pipe\), not a regular file/);
    expect(fifo.ms).toBeLessThan(10_000);
    const byNumber = await runScaph(['--no-header', '--sensor', 'hwmon', '--hwmon-path', join(root, 'class', 'hwmon'), '--hwmon-channel', 'hwmon1/power1', 'json', '-t', '1.2', '-s', '0.5'], { timeoutMs: 15_000 });
    expectClean(byNumber);
    // Its name could not be read: it is "?" in the list, and still usable by its number.
    expect((JSON.parse(byNumber.stdout) as Report[]).map((x) => x.host.consumption)).toContain(5_000_000);
  });

  for (const [what, value, message] of [
    ['NaN', 'NaN', /not a number: "NaN"/],
    ['a negative power', '-312500000', /not a number: "-312500000"/],
    ['a huge power', '5000000000000000', /5\.000e\+9 W is beyond the 100 kW a machine can draw: refused as garbage/],
  ] as const) {
    it(`hwmon: ${what} in the meter at start`, async () => {
      const t = hwmon(POWER_METER_ONLY, 'fake');
      t.corrupt('hwmon1', 'power1', value);
      expectFailure(await runScaph(['--no-header', '--sensor', 'hwmon', '--hwmon-path', t.hwmonPath, 'stdout', '-t', '1']), 1, /Cannot read the hwmon channels/, message);
    });
  }

  it('redfish: a password file missing, or a FIFO nobody writes; a CA file missing or not PEM', async () => {
    const b = await bmc();
    const base = ['--no-header', '--sensor', 'redfish', '--redfish-url', b.url, '--redfish-user', USER];
    expectFailure(await runScaph([...base, '--redfish-password-file', join(dir, 'nope'), 'stdout', '-t', '1']), 1, /Redfish password file ".*nope" does not exist: check the path/);
    const fifo = join(dir, 'password-fifo');
    execFileSync('mkfifo', [fifo]);
    const stuck = await runScaph([...base, '--redfish-password-file', fifo, 'stdout', '-t', '1'], { timeoutMs: 20_000 });
    expectFailure(stuck, 1, /Redfish password file ".*password-fifo" cannot be read: reading .* did not finish within 5000 ms/);
    expect(stuck.ms).toBeLessThan(15_000);
    expectFailure(await runScaph([...base, '--redfish-password-file', passwordFile, '--redfish-ca', join(dir, 'no-ca.pem'), 'stdout', '-t', '1']), 1, /CA certificate file ".*no-ca\.pem" does not exist/);
    expectFailure(await runScaph([...base, '--redfish-password-file', passwordFile, '--redfish-ca', passwordFile, 'stdout', '-t', '1']), 1, /CA certificate file ".*bmc-password" is not PEM/);
  });

  it('redfish: a refused user names the URL and the user; an unknown chassis; nothing listening; an untrusted certificate', async () => {
    const b = await bmc({ chassis: [{ id: 'Enclosure', watts: null }, { id: '1U', watts: 412.5 }] });
    writeFileSync(join(dir, 'wrong-password'), 'hunter2\n');
    const refused = await runScaph(['--no-header', ...redfish(b).map((a) => (a === passwordFile ? join(dir, 'wrong-password') : a)), 'stdout', '-t', '1']);
    expectFailure(refused, 1, new RegExp(`The BMC at ${b.url.replace(/\./g, '\\.')} refused user "monitor" \\(HTTP 401 to POST /redfish/v1/SessionService/Sessions`), /the file .*wrong-password/);
    expect(refused.stderr).not.toContain('hunter2');
    expectFailure(await runScaph(['--no-header', ...redfish(b, '--redfish-chassis', 'Enclosure'), 'stdout', '-t', '1']), 1, /Chassis Enclosure of the BMC at .* reports power: Enclosure: neither EnvironmentMetrics nor Power/, /--redfish-chassis <Id>/);
    expectFailure(await runScaph(['--no-header', ...redfish(b).filter((a) => a !== '--redfish-ca' && a !== pki.caPath), 'stdout', '-t', '1']), 1, /certificate at .* is not trusted .*--redfish-ca FILE.*--redfish-insecure/);
    const gone = await bmc();
    const url = gone.url;
    await gone.close();
    expectFailure(await runScaph(['--no-header', ...redfish(gone).map((a) => (a === gone.url ? url : a)), 'stdout', '-t', '1']), 1, /Cannot reach the BMC at .* \(ECONNREFUSED\): check --redfish-url/);
  });

  for (const [what, breakIt, message] of [
    ['garbage JSON', (b: FakeBmc) => (b.powerMisbehaviour = { kind: 'garbage', body: '{"PowerWatts": {"Reading": NaN}}' }), /is not JSON \(it starts with "\{\\"PowerWatts\\": \{\\"Reading\\": NaN\}\}"\)/],
    ['a 50 MB answer', (b: FakeBmc) => (b.powerMisbehaviour = { kind: 'huge', bytes: 50 * 1024 * 1024 }), /more than the 4 MiB scaph accepts: refused/],
    // The default interval (10 s) is each request's deadline.
    ['a hang', (b: FakeBmc) => (b.powerMisbehaviour = { kind: 'hang' }), /The BMC at .* did not answer within 10 s: check --redfish-url/],
    ['a negative reading', (b: FakeBmc) => (b.powerReading = -412.5), /1U: PowerWatts\.Reading: -412\.5 W is not a power, PowerControl\[0\]\.PowerConsumedWatts: -412\.5 W is not a power/],
    ['a huge reading', (b: FakeBmc) => (b.powerReading = 1e12), /PowerWatts\.Reading: 1\.000e\+12 W is beyond the 100 kW/],
    ['a 503', (b: FakeBmc) => (b.powerStatus = 503), /HTTP 503 to GET \/redfish\/v1\/Chassis\/1U\/EnvironmentMetrics/],
  ] as const) {
    it(`redfish: ${what} from the BMC at start`, async () => {
      const b = await bmc();
      breakIt(b);
      const r = await runScaph(['--no-header', ...redfish(b), 'stdout', '-t', '1'], { timeoutMs: 30_000 });
      expectFailure(r, 1, message);
      expect(r.ms).toBeLessThan(20_000);
    });
  }
});

/**
 * `scaph json` for `seconds` at a 0.3 s step with JSON logs; once 4 reports are out, `during` breaks and
 * repairs the meter.
 */
async function throughAnOutage(args: readonly string[], seconds: number, during: () => Promise<{ brokeAt: number; repairedAt: number }>) {
  const run = startScaph(['--no-header', ...JSON_LOGS, ...args, 'json', '-t', String(seconds), '-s', '0.3'], { timeoutMs: 60_000 });
  await eventually(() => run.stdout.split('{"host"').length > 4, 20_000, 'four reports before the outage');
  const { brokeAt, repairedAt } = await during();
  const r = await run.done;
  expectClean(r);
  const reports = JSON.parse(r.stdout) as Report[];
  return { r, reports, lines: logLines(r.stderr), brokeAt, repairedAt };
}

function saidOnce(lines: readonly LogLine[], pattern: RegExp): LogLine {
  const said = lines.filter((l) => pattern.test(l.msg));
  expect(said, `${pattern}`).toHaveLength(1);
  return said[0] as LogLine;
}

describe('hostile content while scaph runs: never published, said once, resumes', () => {
  it('hwmon: the meter turns to NaN, negative, huge, then vanishes, then is sane again', async () => {
    const t = hwmon();
    const { reports, lines, brokeAt, repairedAt } = await throughAnOutage(['--sensor', 'hwmon', '--hwmon-path', t.hwmonPath], 8, async () => {
      const brokeAt = Date.now();
      for (const value of ['NaN', '-312500000', '900000000000000']) {
        t.corrupt('hwmon1', 'power1', value);
        await sleep(600);
      }
      t.repair('hwmon1', 'power1');
      t.vanish('hwmon1');
      await sleep(700);
      t.restore('hwmon1');
      return { brokeAt, repairedAt: Date.now() };
    });
    // Every report published is the meter's true figure: no NaN, no 0 W, no garbage, no stale repeat.
    for (const x of reports) expect(x.host.consumption).toBe(312_500_000);
    const during = reports.filter((x) => x.host.timestamp * 1000 > brokeAt + 350 && x.host.timestamp * 1000 < repairedAt);
    expect(during).toEqual([]);
    expect(reports.filter((x) => x.host.timestamp * 1000 < brokeAt).length).toBeGreaterThanOrEqual(3);
    expect(reports.filter((x) => x.host.timestamp * 1000 > repairedAt).length).toBeGreaterThanOrEqual(3);
    expect(String(saidOnce(lines, /no sample this step/)['err'])).toMatch(/host power cannot be measured: .*hwmon1\/power1_average: not a number: "NaN"/);
    expect(saidOnce(lines, /publishing resumes/)['skippedSteps']).toBeGreaterThanOrEqual(6);
  });

  for (const [what, breakIt, said] of [
    ['answers 503', (b: FakeBmc) => (b.powerStatus = 503), /HTTP 503/],
    ['hangs', (b: FakeBmc) => (b.powerMisbehaviour = { kind: 'hang' }), /no answer within|aborted|timeout/i],
    ['answers 50 MB', (b: FakeBmc) => (b.powerMisbehaviour = { kind: 'huge', bytes: 50 * 1024 * 1024 }), /more than the 4 MiB/],
    ['gives a NaN reading', (b: FakeBmc) => (b.powerMisbehaviour = { kind: 'garbage', body: '{"PowerWatts":{"Reading":NaN}}' }), /not JSON/],
    ['refuses the session (401) and a new one', (b: FakeBmc) => (b.powerStatus = 401), /HTTP 401/],
  ] as const) {
    it(`redfish: a BMC that ${what} for a while: no reading older than two intervals published, said once, resumes`, async () => {
      const b = await bmc();
      const { reports, lines, brokeAt, repairedAt } = await throughAnOutage(redfish(b, '--redfish-interval', '1'), 10, async () => {
        const brokeAt = Date.now();
        breakIt(b);
        await sleep(3500);
        b.powerStatus = null;
        b.powerMisbehaviour = null;
        return { brokeAt, repairedAt: Date.now() };
      });
      for (const x of reports) expect(x.host.consumption).toBe(412_500_000);
      // The last good reading came at most one interval before the break: none is used two intervals after it.
      const stale = reports.filter((x) => x.host.timestamp * 1000 > brokeAt + 2000 + 400 && x.host.timestamp * 1000 < repairedAt);
      expect(stale).toEqual([]);
      expect(reports.filter((x) => x.host.timestamp * 1000 < brokeAt).length).toBeGreaterThanOrEqual(3);
      expect(reports.some((x) => x.host.timestamp * 1000 > repairedAt)).toBe(true);
      expect(String(saidOnce(lines, /the BMC stopped giving its power reading/)['err'])).toMatch(said);
      saidOnce(lines, /the BMC gives its power reading again/);
      expect(String(saidOnce(lines, /no sample this step/)['err'])).toMatch(/the newest power reading of the BMC at .* is [\d.]+ s old, more than two poll intervals \(2 s\): not published/);
      saidOnce(lines, /publishing resumes/);
      // The password file's content is never in a log line.
      expect(readFileSync(passwordFile, 'utf8').trim()).toBe(PASSWORD);
      expect(lines.some((l) => JSON.stringify(l).includes(PASSWORD))).toBe(false);
    }, 40_000);
  }
});
