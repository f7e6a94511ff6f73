import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runFromConfig } from '../../../src/agent/run-command.js';
import type { SensorRequest } from '../../../src/agent/sensor.js';
import { agentHostname } from '../../../src/core/hostname.js';
import { silentLogger } from '../../../src/core/log.js';
import { syntheticSample } from '../../support/fixtures/synthetic-sample.js';
import { built, fakePushCommand } from '../../support/fakes/fake-push-command.js';
import { RUN_GLOBALS } from '../../support/fixtures/run-globals.js';

const dir = mkdtempSync(join(tmpdir(), 'scaph-hostname-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the host name on every series', () => {
  it('is $SCAPH_HOSTNAME when set (a pod is named after itself, not its node), else the OS host name', () => {
    expect(agentHostname({ SCAPH_HOSTNAME: 'node-a' })).toBe('node-a');
    expect(agentHostname({ SCAPH_HOSTNAME: ' node-a\n' })).toBe('node-a');
    expect(agentHostname({ SCAPH_HOSTNAME: '' })).toBe(hostname());
    expect(agentHostname({})).toBe(hostname());
  });

  it('scaph run hands it to the sensor and to every exporter', async () => {
    const path = join(dir, 'run.toml');
    writeFileSync(path, '[sensor]\nkind = "estimate"\nstep = "50ms"\n\n[[exporter]]\ntype = "remote-write"\nurl = "hostname-test"\n');
    let setup: SensorRequest | null = null;
    const hostnames: string[] = [];
    const command = fakePushCommand('remote-write');
    const spy = { ...command, create: async (...args: Parameters<typeof command.create>) => {
      hostnames.push(args[1].hostname);
      return command.create(...args);
    } };
    await runFromConfig(path, false, RUN_GLOBALS, silentLogger(), {
      commands: [spy],
      env: { SCAPH_HOSTNAME: 'node-a' },
      createSensor: async (s) => {
        setup = s;
        return { kind: 'synthetic', start: async () => undefined, read: async () => syntheticSample({ timestampMs: Date.now() }) };
      },
    }, { durationMs: 200, stopDeadlineMs: 200 });
    expect(hostnames).toEqual(['node-a']);
    expect(setup).toMatchObject({ hostname: 'node-a' });
    expect(built.get('hostname-test')?.transport.delivered.length).toBeGreaterThan(0);
  });
});
