import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonCommand } from '../../../src/exporters/json/command.js';
import { checkSummary, runFromConfig } from '../../../src/agent/run-command.js';
import type { SensorRequest } from '../../../src/agent/sensor.js';
import { ConfigError, loadRunConfig } from '../../../src/config/run-config.js';
import { silentLogger } from '../../../src/core/log.js';
import type { Sensor } from '../../../src/core/sensor.js';
import { syntheticSample } from '../../support/fixtures/synthetic-sample.js';
import { built, fakePushCommand } from '../../support/fakes/fake-push-command.js';
import { RUN_GLOBALS } from '../../support/fixtures/run-globals.js';

const dir = mkdtempSync(join(tmpdir(), 'scaph-run-'));
const commands = [jsonCommand, fakePushCommand('remote-write'), fakePushCommand('riemann')];
const globals = RUN_GLOBALS;

/** A sensor whose samples carry the wall clock of the reading, like the machine sensor. */
function clockSensor(taken: number[]): Sensor {
  return {
    kind: 'synthetic',
    start: async () => undefined,
    read: async () => {
      const s = syntheticSample({ timestampMs: Date.now() });
      taken.push(s.timestampMs);
      return s;
    },
  };
}

describe('scaph run', () => {
  it('one dead backend does not slow a live one: every sample reaches the live one on time', async () => {
    const path = join(dir, 'two.toml');
    writeFileSync(
      path,
      `[sensor]\nkind = "estimate"\nstep = "100ms"\n\n[[exporter]]\ntype = "remote-write"\nurl = "dead"\nmode = "hang"\nstep = "100ms"\n\n[[exporter]]\ntype = "riemann"\nurl = "live"\nstep = "100ms"\n`,
    );
    const taken: number[] = [];
    let setup: SensorRequest | null = null;
    await runFromConfig(path, false, globals, silentLogger(), {
      commands,
      createSensor: async (s) => {
        setup = s;
        return clockSensor(taken);
      },
    }, { durationMs: 3000, stopDeadlineMs: 500 });
    expect(setup).toMatchObject({ kind: 'estimate', powercapPath: '/sys/class/powercap', procfsPath: '/proc', qemu: false, withContainers: false });
    const live = built.get('live');
    const dead = built.get('dead');
    expect(taken.length).toBeGreaterThanOrEqual(20);
    // The live backend acknowledged every sample the loop took, in order.
    expect(live?.transport.delivered).toEqual(taken);
    // Its delivery core says so in the self-metrics ending its last batch: every sample before those of that batch was acknowledged.
    const last = live?.transport.batches.at(-1) ?? [];
    const sentBefore = last.at(-1)?.metrics.find((m) => m.name === 'scaph_delivery_samples_sent_total')?.value;
    expect(sentBefore).toBe(taken.length - (last.length - 1));
    // ...each one within a step or so of its reading (generous: a loaded 2-core box), not after the dead one's timeout.
    const latenciesMs = live!.transport.attempts.map((a) => performance.timeOrigin + a.atMs - (a.timestamps[0] as number));
    expect(latenciesMs.length).toBeGreaterThan(0);
    expect(Math.max(...latenciesMs)).toBeLessThan(1000);
    // The dead backend never answered: its one request hung until shutdown; nothing was sent.
    expect(dead?.transport.attempts).toHaveLength(1);
    expect(dead?.transport.delivered).toEqual([]);
  });

  it('--check prints a summary and the resolved paths, and starts nothing; a bad file throws every problem', async () => {
    const path = join(dir, 'check.toml');
    writeFileSync(path, `[sensor]\nstep = 2\n[[exporter]]\ntype = "remote-write"\nurl = "x"\nstep = 10\nspool_dir = "${dir}/spool"\n[[exporter]]\ntype = "json"\n`);
    const printed: string[] = [];
    let sensors = 0;
    await runFromConfig(path, true, globals, silentLogger(), {
      commands,
      print: (l) => printed.push(l),
      createSensor: async () => {
        sensors += 1;
        return clockSensor([]);
      },
    });
    expect(sensors).toBe(0);
    expect(printed).toEqual([
      `${path}: OK: sensor from the command line every 2 s ([sensor] step); 2 exporters: remote-write every 10 s (step; spool ${dir}/spool), json every 2 s (default)\n` +
        `  exporter[0].spool_dir = ${dir}/spool`,
    ]);
    expect(checkSummary(loadRunConfig(path, { commands }))).toBe(printed[0]);
    const bad = join(dir, 'bad.toml');
    writeFileSync(bad, `[[exporter]]\ntype = "remote-write"\nca = "${dir}/missing-ca.pem"\n`);
    await expect(runFromConfig(bad, true, globals, silentLogger(), { commands, createSensor: async () => clockSensor([]) })).rejects.toThrow(ConfigError);
  });
});
