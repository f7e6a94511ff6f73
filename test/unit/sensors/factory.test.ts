import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/core/errors.js';
import { silentLogger } from '../../../src/core/log.js';
import { createPowerSource, createSensor } from '../../../src/sensors/factory.js';
import { captureLogger } from '../../support/fakes/log-capture.js';
import { HwmonTree, POWER_METER_ONLY } from '../../support/fixtures/hwmon-tree.js';
import { createPowercapTree } from '../../support/fixtures/powercap-tree.js';
import { CgroupfsTree } from '../../support/fixtures/cgroupfs-tree.js';
import { estimateSensorOptions } from '../../support/fixtures/run-globals.js';

const base = estimateSensorOptions('/proc', 'h', { containers: { resolveSync: () => null, sweep: () => 0 } });

describe('createSensor with --containers and --cgroupfs-path', () => {
  it('refuses a path that is not a cgroup v2 mount (exit 2, naming the path and the fix)', async () => {
    const typo = join(mkdtempSync(join(tmpdir(), 'scaph-cg-')), 'sys/fs/cgrup');
    const err = await createSensor({ ...base, cgroupfsPath: typo }, silentLogger()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    expect((err as Error).message).toContain(typo);
    expect((err as Error).message).toMatch(/cgroup\.controllers/);
  });

  it('takes a real cgroup2 mount', async () => {
    const tree = new CgroupfsTree();
    const sensor = await createSensor({ ...base, cgroupfsPath: tree.root }, silentLogger());
    expect(sensor.kind).toBe('estimate');
    await sensor.close?.();
    tree.cleanup();
  });
});

describe('createPowerSource with a platform meter', () => {
  const CONTEXT = { cpuBusyFraction: 0.5, intervalNs: 1_000_000_000n, cpuCount: 2 } as const;

  it('hwmon without readable RAPL: host power from the meter, no sockets, said at info', async () => {
    const tree = new HwmonTree(POWER_METER_ONLY);
    const { logger, lines } = captureLogger();
    try {
      const source = await createPowerSource({ ...base, kind: 'hwmon', hwmonPath: tree.hwmonPath, powercapPath: '/nonexistent' }, logger);
      await source.start();
      expect(source.kind).toBe('hwmon');
      const r = await source.read(CONTEXT);
      expect(r.valueSource).toBe('hwmon_power_meter');
      expect(r.hostPowerUw).toBe(312.5e6);
      expect(r.sockets).toEqual([]);
      expect(r.outsideRaplPowerUw).toBeUndefined();
      expect(lines.find((l) => /no readable RAPL under \/nonexistent: host power from the hwmon meter/.test(l.msg))).toMatchObject({ level: 30, rapl: 'missing' });
      await source.close?.();
    } finally {
      tree.close();
    }
  });

  it('hwmon with a RAPL tree: sockets from RAPL beside the meter', async () => {
    const tree = new HwmonTree(POWER_METER_ONLY);
    const rapl = createPowercapTree('amd', { clock: 'real' });
    try {
      const source = await createPowerSource({ ...base, kind: 'hwmon', hwmonPath: tree.hwmonPath, powercapPath: rapl.powercapPath }, silentLogger());
      await source.start();
      await new Promise((r) => setTimeout(r, 200));
      const r = await source.read(CONTEXT);
      expect(r.sockets.map((s) => s.id)).toEqual([0]);
      expect(r.outsideRaplPowerUw).toBeGreaterThan(0);
      await source.close?.();
    } finally {
      tree.close();
      rapl.close();
    }
  });

  for (const [what, over, env, message] of [
    ['no URL', {}, {}, /--sensor redfish needs the BMC's address: --redfish-url https:\/\/<bmc> \(redfish_url in \[sensor\]\)/],
    ['a URL with credentials in it', { redfishUrl: 'https://root:calvin@bmc' }, {}, /--redfish-url holds a user or password/],
    ['no user', { redfishUrl: 'https://bmc' }, {}, /needs a BMC user: --redfish-user <name>/],
    ['no password', { redfishUrl: 'https://bmc', redfishUser: 'monitor' }, {}, /needs the BMC password: in a file given to --redfish-password-file .* or in \$SCAPH_REDFISH_PASSWORD/],
    ['a CA and --redfish-insecure', { redfishUrl: 'https://bmc', redfishUser: 'monitor', redfishCa: '/etc/ssl/bmc.pem', redfishInsecure: true }, { SCAPH_REDFISH_PASSWORD: 'x' }, /--redfish-ca and --redfish-insecure contradict each other/],
  ] as const) {
    it(`redfish with ${what}: a usage error (exit 2) saying what to give`, async () => {
      const err = await createPowerSource({ ...base, kind: 'redfish', ...over }, silentLogger(), env).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UsageError);
      expect((err as UsageError).exitCode).toBe(2);
      expect((err as Error).message).toMatch(message);
    });
  }

  it('redfish: a password file that does not exist is named', async () => {
    const err = await createPowerSource({ ...base, kind: 'redfish', redfishUrl: 'https://bmc', redfishUser: 'u', redfishPasswordFile: '/nonexistent/bmc-password' }, silentLogger(), {}).catch((e: unknown) => e);
    expect((err as Error).message).toBe('Redfish password file "/nonexistent/bmc-password" does not exist: check the path');
  });
});
