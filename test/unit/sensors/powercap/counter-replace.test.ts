import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { EnergyCounterFile } from '../../../../src/sensors/powercap/counter.js';

it('an open energy_uj counter sees a file replaced by rename (how scaph qemu updates guest trees)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'scaph-counter-'));
  try {
    const path = join(dir, 'energy_uj');
    writeFileSync(path, '100\n');
    const counter = new EnergyCounterFile(path);
    expect(await counter.read()).toEqual({ ok: true, valueUj: 100 });
    writeFileSync(`${path}.tmp`, '250\n');
    renameSync(`${path}.tmp`, path);
    expect(await counter.read()).toEqual({ ok: true, valueUj: 250 });
    writeFileSync(`${path}.tmp`, '900\n');
    renameSync(`${path}.tmp`, path);
    expect(await counter.read()).toEqual({ ok: true, valueUj: 900 });
    await counter.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
