/**
 * SIGHUP for `scaph run`, sent to this very process (vitest runs each file in a forked child): the latch
 * must catch it, or the child dies, which fails the file loudly.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Hangups } from '../../../src/agent/hangups.js';
import { runFromConfig } from '../../../src/agent/run-command.js';
import type { Sensor } from '../../../src/core/sensor.js';
import { jsonCommand } from '../../../src/exporters/json/command.js';
import { built, fakePushCommand } from '../../support/fakes/fake-push-command.js';
import { captureLogger } from '../../support/fakes/log-capture.js';
import { RUN_GLOBALS } from '../../support/fixtures/run-globals.js';
import { syntheticSample } from '../../support/fixtures/synthetic-sample.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('Hangups', () => {
  it('keeps a SIGHUP that comes before its handler, hands it over, then calls the handler on each one', async () => {
    const listeners = process.listenerCount('SIGHUP');
    const hangups = new Hangups();
    // Node delivers a signal on a later turn of the event loop (a loaded machine: after a timer due since):
    // a listener added after the latch's sees each one once the latch has.
    const delivered = (): Promise<void> => new Promise((r) => process.once('SIGHUP', () => r()));
    let seen = delivered();
    process.kill(process.pid, 'SIGHUP');
    await seen;
    let calls = 0;
    hangups.handle(() => (calls += 1));
    expect(calls).toBe(1);
    seen = delivered();
    process.kill(process.pid, 'SIGHUP');
    await seen;
    expect(calls).toBe(2);
    hangups.dispose();
    expect(process.listenerCount('SIGHUP')).toBe(listeners);
  });

  it('scaph run: a SIGHUP while the agent is still starting is applied once it runs, not fatal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scaph-hangups-'));
    const file = join(dir, 'scaph.toml');
    const toml = (label: string): string =>
      `[sensor]\nkind = "estimate"\nstep = "100ms"\n[[exporter]]\ntype = "remote-write"\nurl = "early-hup"\nstep = "100ms"\nlabel = { n = "${label}" }\n`;
    writeFileSync(file, toml('1'));
    const log = captureLogger();
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    await runFromConfig(
      file,
      false,
      RUN_GLOBALS,
      log.logger,
      {
        commands: [jsonCommand, fakePushCommand('remote-write')],
        // The sensor is being built (the slow part of a start on a busy host) when the reload comes.
        createSensor: async () => {
          writeFileSync(file, toml('2'));
          process.kill(process.pid, 'SIGHUP');
          await sleep(100);
          const sensor: Sensor = { kind: 'synthetic', start: async () => undefined, read: async () => syntheticSample({ timestampMs: Date.now() }) };
          return sensor;
        },
      },
      { durationMs: 1500, stopDeadlineMs: 300 },
    );
    const reloaded = log.lines.filter((l) => /^config reloaded/.test(l.msg));
    expect(reloaded).toHaveLength(1);
    expect(reloaded[0]?.msg).toMatch(/0 exporters kept, 1 rebuilt \(remote-write\[0\]\)/);
    expect(built.get('early-hup')?.opts['label']).toEqual({ n: '2' });
    expect(built.get('early-hup')?.transport.delivered.length).toBeGreaterThanOrEqual(5);
  });
});
