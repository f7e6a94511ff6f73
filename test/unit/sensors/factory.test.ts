import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/core/errors.js';
import { silentLogger } from '../../../src/core/log.js';
import { createSensor } from '../../../src/sensors/factory.js';
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
