import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../src/core/log.js';
import { QemuExporter, QemuExportPathError, VM_MAX_ENERGY_RANGE_UJ, safeDirName } from '../../../../src/exporters/qemu/exporter.js';
import { makeProcess, makeSample } from '../../../support/fixtures/sample.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'scaph-qemu-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const read = (...p: string[]): string => readFileSync(join(dir, ...p), 'utf8');

function vmSample(intervalMs: number, vm1Powers: number[], vm100Power: number) {
  return makeSample({
    intervalMs,
    processes: [
      ...vm1Powers.map((powerUw, i) => makeProcess({ pid: 100 + i, exe: 'qemu-system-x86_64', vmName: 'vm1', powerUw })),
      makeProcess({ pid: 200, exe: 'qemu-system-x86_64', vmName: 'vm100', powerUw: vm100Power }),
      makeProcess({ pid: 300, exe: 'bash', powerUw: 9_000_000 }),
    ],
  });
}

async function started(): Promise<QemuExporter> {
  const e = new QemuExporter({ path: dir, logger: silentLogger() });
  await e.start();
  return e;
}

describe('QemuExporter', () => {
  it('writes one powercap tree per VM whose counters grow by attributed energy (power × interval)', async () => {
    const e = await started();
    // vm1: two processes, 3 W + 1.5 W over 2 s = 9 J; vm100: 2 W over 2 s = 4 J.
    e.export(vmSample(2000, [3_000_000, 1_500_000], 2_000_000));
    await e.flushed();
    expect(readdirSync(dir).sort()).toEqual(['vm1', 'vm100']);
    expect(read('vm1', 'intel-rapl:0', 'name')).toBe('package-0\n');
    expect(read('vm1', 'intel-rapl:0:0', 'name')).toBe('core\n');
    expect(read('vm1', 'intel-rapl:0', 'max_energy_range_uj')).toBe(`${VM_MAX_ENERGY_RANGE_UJ}\n`);
    expect(read('vm1', 'intel-rapl:0', 'energy_uj')).toBe('9000000\n');
    expect(read('vm1', 'intel-rapl:0:0', 'energy_uj')).toBe('9000000\n');
    expect(read('vm100', 'intel-rapl:0', 'energy_uj')).toBe('4000000\n');
    // 5 s at 4.5 W more = 22.5 J (Scaphandre would have added 4.5: its "energy" is the power).
    e.export(vmSample(5000, [3_000_000, 1_500_000], 2_000_000));
    await e.flushed();
    expect(read('vm1', 'intel-rapl:0', 'energy_uj')).toBe('31500000\n');
    expect(read('vm100', 'intel-rapl:0', 'energy_uj')).toBe('14000000\n');
    // Fractions of a µJ are carried, not lost: 3 × 0.5 µJ = 1.5 µJ.
    e.export(vmSample(1, [500], 0));
    e.export(vmSample(1, [500], 0));
    e.export(vmSample(1, [500], 0));
    await e.flushed();
    expect(read('vm1', 'intel-rapl:0', 'energy_uj')).toBe('31500001\n');
    // Only the final files: no temp file left behind.
    expect(readdirSync(join(dir, 'vm1', 'intel-rapl:0')).sort()).toEqual(['energy_uj', 'max_energy_range_uj', 'name']);
    await e.stop(1000);
  });

  it('a VM absent from a sample keeps its counter; it resumes when the VM is back', async () => {
    const e = await started();
    e.export(vmSample(1000, [1_000_000], 1_000_000));
    e.export(makeSample({ intervalMs: 1000, processes: [makeProcess({ pid: 300 })] }));
    e.export(vmSample(1000, [1_000_000], 0));
    await e.flushed();
    expect(read('vm1', 'intel-rapl:0', 'energy_uj')).toBe('2000000\n');
    expect(read('vm100', 'intel-rapl:0', 'energy_uj')).toBe('1000000\n');
  });

  it('continues a tree left by an earlier run instead of restarting at 0 (which a guest would read as a wrap)', async () => {
    mkdirSync(join(dir, 'vm1', 'intel-rapl:0'), { recursive: true });
    writeFileSync(join(dir, 'vm1', 'intel-rapl:0', 'energy_uj'), '123456789\n');
    const e = await started();
    e.export(vmSample(1000, [2_000_000], 0));
    await e.flushed();
    expect(read('vm1', 'intel-rapl:0', 'energy_uj')).toBe('125456789\n');
    expect(read('vm1', 'intel-rapl:0:0', 'energy_uj')).toBe('125456789\n');
  });

  it('rebuilds a tree someone removed, keeping the counter', async () => {
    const e = await started();
    e.export(vmSample(1000, [2_000_000], 0));
    await e.flushed();
    rmSync(join(dir, 'vm1'), { recursive: true });
    e.export(vmSample(1000, [2_000_000], 0));
    await e.flushed();
    e.export(vmSample(1000, [2_000_000], 0));
    await e.flushed();
    expect(read('vm1', 'intel-rapl:0', 'name')).toBe('package-0\n');
    expect(read('vm1', 'intel-rapl:0', 'energy_uj')).toBe('6000000\n');
    // Half a tree removed: rebuilt without counting the surviving counter twice.
    rmSync(join(dir, 'vm1', 'intel-rapl:0:0'), { recursive: true });
    e.export(vmSample(1000, [2_000_000], 0));
    await e.flushed();
    e.export(vmSample(1000, [2_000_000], 0));
    await e.flushed();
    expect(read('vm1', 'intel-rapl:0', 'energy_uj')).toBe('10000000\n');
    expect(read('vm1', 'intel-rapl:0:0', 'energy_uj')).toBe('10000000\n');
  });

  it('wraps modulo max_energy_range_uj + 1, like RAPL', async () => {
    mkdirSync(join(dir, 'vm1', 'intel-rapl:0'), { recursive: true });
    writeFileSync(join(dir, 'vm1', 'intel-rapl:0', 'energy_uj'), `${VM_MAX_ENERGY_RANGE_UJ - 999_999}\n`);
    const e = await started();
    e.export(vmSample(1000, [3_000_000], 0));
    await e.flushed();
    // 1_000_000 µJ reach range + 1 ≡ 0; 2_000_000 µJ remain.
    expect(read('vm1', 'intel-rapl:0', 'energy_uj')).toBe('2000000\n');
  });

  it('skips VM names that cannot be a directory, and names a path it cannot create', async () => {
    expect(safeDirName('../etc')).toBeNull();
    expect(safeDirName('..')).toBeNull();
    expect(safeDirName('')).toBeNull();
    expect(safeDirName('vm 1,x')).toBe('vm 1,x');
    const e = await started();
    e.export(makeSample({ processes: [makeProcess({ pid: 1, vmName: 'a/b' }), makeProcess({ pid: 2, vmName: '..' })] }));
    await e.flushed();
    expect(readdirSync(dir)).toEqual([]);
    writeFileSync(join(dir, 'file'), '');
    const bad = new QemuExporter({ path: join(dir, 'file', 'sub'), logger: silentLogger() });
    await expect(bad.start()).rejects.toThrow(QemuExportPathError);
    await expect(bad.start()).rejects.toThrow(/--path/);
  });
});
