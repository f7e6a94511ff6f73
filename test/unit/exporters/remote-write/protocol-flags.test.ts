import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../../src/core/errors.js';
import { silentLogger } from '../../../../src/core/log.js';
import { remoteWriteCommand, type RemoteWriteSettings } from '../../../../src/exporters/remote-write/command.js';
import { RemoteWriteTransport } from '../../../../src/exporters/remote-write/transport.js';
import { RemoteWriteV2Transport } from '../../../../src/exporters/remote-write/transport-v2.js';
import { commandPlan } from '../../../support/fixtures/command-plan.js';
import { syntheticSample } from '../../../support/fixtures/synthetic-sample.js';
import { RemoteWriteV2Receiver } from '../../../support/servers/remote-write-v2-receiver.js';

const ctx = { logger: silentLogger(), hostname: 'node-7', version: '9.9.9' };
const URL_ARGS = ['-u', 'http://127.0.0.1:9/api/v1/write'];

describe('scaph remote-write --protocol-version, --protocol-recheck', () => {
  it('default to 1.0 (2.0 is a release candidate) and a recheck after an hour', async () => {
    const plan = await commandPlan(remoteWriteCommand, URL_ARGS, ctx);
    expect((plan as unknown as RemoteWriteSettings).protocolVersion).toBe('1.0');
    expect((plan as unknown as RemoteWriteSettings).protocolRecheckMs).toBe(3_600_000);
    expect(plan.transport).toBeInstanceOf(RemoteWriteTransport);
    await plan.exporter.stop(100);
  });

  it.each([
    [['2.0'], '2.0', 3_600_000],
    [['2', '--protocol-recheck', '0'], '2.0', null],
    [['1', '--protocol-recheck', '600'], '1.0', 600_000],
  ])('--protocol-version %j', async (args, version, recheckMs) => {
    const [v, ...rest] = args;
    const plan = await commandPlan(remoteWriteCommand, [...URL_ARGS, '--protocol-version', v as string, ...rest], ctx);
    const s = plan as unknown as RemoteWriteSettings;
    expect([s.protocolVersion, s.protocolRecheckMs]).toEqual([version, recheckMs]);
    expect(plan.transport).toBeInstanceOf(version === '2.0' ? RemoteWriteV2Transport : RemoteWriteTransport);
    await plan.exporter.stop(100);
  });

  it.each([
    [['--protocol-version', '3.0'], /--protocol-version must be 1\.0 or 2\.0, got "3\.0"/],
    [['--protocol-version', '2.00'], /--protocol-version must be 1\.0 or 2\.0/],
    [['--protocol-version', ''], /--protocol-version must be 1\.0 or 2\.0, got ""/],
    [['--protocol-recheck', '1.5'], /--protocol-recheck must be a whole number from 0 to 2147483/],
    [['--protocol-recheck', '-1'], /--protocol-recheck must be a whole number/],
  ])('%j is a usage error naming the flag', async (args, message) => {
    const caught = await commandPlan(remoteWriteCommand, [...URL_ARGS, ...args], ctx).then(
      () => null,
      (err: unknown) => err,
    );
    expect(caught).toBeInstanceOf(UsageError);
    expect((caught as Error).message).toMatch(message);
  });

  it('2.0 built by the command: the counters start when this process started, and the samples arrive as 2.0', async () => {
    const receiver = await RemoteWriteV2Receiver.start('2.0');
    try {
      const plan = await commandPlan(remoteWriteCommand, ['-u', receiver.url, '--protocol-version', '2.0'], ctx);
      await plan.exporter.start();
      const t = Date.now();
      plan.exporter.export(syntheticSample({ timestampMs: t }));
      await plan.exporter.stop(5000);
      expect(receiver.violations).toEqual([]);
      expect(receiver.requests.map((r) => r.version)).toEqual(['2.0']);
      const energy = receiver.find('scaph_host_energy_microjoules')[0]?.samples[0];
      expect(energy?.startTimestamp).toBe(Math.floor(performance.timeOrigin));
      expect(energy?.timestamp).toBe(t);
      // The delivery counters are counters too, with the same start; the new one counts what was not written.
      expect(receiver.find('scaph_delivery_samples_sent_total')[0]?.samples[0]?.startTimestamp).toBe(Math.floor(performance.timeOrigin));
      expect(receiver.find('scaph_delivery_rejected_points_total')[0]?.samples[0]?.value).toBe(0);
    } finally {
      await receiver.stop();
    }
  });
});
