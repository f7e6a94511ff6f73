import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/core/log.js';
import type { Sample } from '../../../src/core/sample.js';
import type { PushExporter } from '../../../src/delivery/push-exporter.js';
import { prometheusPushCommand } from '../../../src/exporters/pushgateway/command.js';
import { groupingKeySegment, groupUrl } from '../../../src/exporters/pushgateway/transport.js';
import { commandPlan } from '../../support/fixtures/command-plan.js';
import { makeProcess, makeSample } from '../../support/fixtures/sample.js';
import type { ManagedServer } from '../../support/servers/managed-server.js';
import { pushgatewayGroups, startPushgateway, type PgGroup } from '../../support/servers/pushgateway.js';

let pg: ManagedServer;
beforeAll(async () => {
  pg = await startPushgateway();
});
afterAll(async () => {
  await pg?.dispose();
});

/** `scaph prometheus-push` to the test Pushgateway, as the agent builds it (the transport behind the delivery core); `instance` is the host name. */
async function exporterFor(job: string, instance: string, deleteOnExit: boolean): Promise<PushExporter> {
  const { hostname, port } = new URL(pg.baseUrl);
  const argv = ['-H', hostname, '-p', port, '-j', job, '--min-backoff', '0.1', '--max-backoff', '0.3', ...(deleteOnExit ? ['--delete-on-exit'] : [])];
  const plan = await commandPlan(prometheusPushCommand, argv, { logger: silentLogger(), hostname: instance, version: '0.1.0' });
  return plan.exporter as PushExporter;
}

async function group(job: string, instance: string): Promise<PgGroup | undefined> {
  return (await pushgatewayGroups(pg)).find((g) => g.labels['job'] === job && g.labels['instance'] === instance);
}

function withHostPower(powerUw: number, processes = makeSample().processes): Sample {
  return makeSample({ host: { ...makeSample().host, powerUw }, processes });
}

describe('grouping key', () => {
  it('encodes values with a slash, or empty, as url-safe base64', () => {
    expect(groupingKeySegment('job', 'scaphandre')).toBe('job/scaphandre');
    expect(groupingKeySegment('instance', 'a b?')).toBe('instance/a%20b%3F');
    expect(groupingKeySegment('job', 'team/scaph')).toBe('job@base64/dGVhbS9zY2FwaA');
    // url-safe alphabet: "??>" is "Pz8-" in base64url ("Pz8+" in plain base64).
    expect(groupingKeySegment('instance', '/??>')).toBe('instance@base64/Lz8_Pg');
    expect(groupingKeySegment('instance', '')).toBe('instance@base64/=');
    expect(groupUrl({ baseUrl: 'http://pg:9091/', suffix: 'metrics', job: 'j', instance: 'h/1' }).href).toBe('http://pg:9091/metrics/job/j/instance@base64/aC8x');
  });
});

describe('scaph prometheus-push against a real Pushgateway', () => {
  it('PUTs the latest sample into job/instance (slashes encoded); the next push replaces the group', async () => {
    const job = 'team/scaph';
    const instance = 'rack1/host7';
    const e = await exporterFor(job, instance, false);
    await e.start();
    const odd = makeProcess({ pid: 99, exe: 'we"ird\\name', cmdline: 'we"ird\\name\n--x', powerUw: 1_250_000 });
    e.export(withHostPower(77_000_000, [...makeSample().processes, odd]));
    await e.idle();
    expect(e.stats.sent).toBe(1);

    const g1 = await group(job, instance);
    expect(g1?.families.get('scaph_host_power_microwatts')).toEqual([{ labels: { instance, job, value_source: 'powercap_rapl_pkg' }, value: '7.7e+07' }]);
    const procs = g1?.families.get('scaph_process_power_consumption_microwatts') ?? [];
    expect(procs.map((p) => p.labels['pid']).sort()).toEqual(['1', '42', '7', '99']);
    expect(procs.find((p) => p.labels['pid'] === '99')?.labels).toMatchObject({ exe: 'we"ird\\name', cmdline: 'we"ird\\name\n--x' });
    // The delivery core's self-metrics ride along.
    expect(g1?.families.has('scaph_delivery_samples_sent_total')).toBe(true);

    // Also readable from the Pushgateway's own /metrics, with the job/instance labels.
    const text = await (await fetch(`${pg.baseUrl}/metrics`)).text();
    expect(text).toContain(`scaph_host_power_microwatts{instance="rack1/host7",job="team/scaph",value_source="powercap_rapl_pkg"} 7.7e+07`);

    // Process 99 ended: PUT replaces the group, its series are gone.
    e.export(withHostPower(66_000_000));
    await e.idle();
    const g2 = await group(job, instance);
    expect(g2?.families.get('scaph_host_power_microwatts')?.[0]?.value).toBe('6.6e+07');
    expect((g2?.families.get('scaph_process_power_consumption_microwatts') ?? []).map((p) => p.labels['pid']).sort()).toEqual(['1', '42', '7']);
    await e.stop(5000);
    // Without --delete-on-exit the group stays.
    expect(await group(job, instance)).toBeDefined();
  });

  it('keeps only the newest sample while the Pushgateway is down, and delivers it once it is back', async () => {
    const e = await exporterFor('outage', 'h1', false);
    await e.start();
    await pg.stop();
    try {
      e.export(withHostPower(1_000_000));
      e.export(withHostPower(2_000_000));
      e.export(withHostPower(3_000_000));
      await new Promise((r) => setTimeout(r, 800));
    } finally {
      await pg.start();
    }
    await e.idle();
    const g = await group('outage', 'h1');
    expect(g?.families.get('scaph_host_power_microwatts')?.[0]?.value).toBe('3e+06');
    expect(e.stats.sent).toBe(1);
    expect(e.stats.retried).toBeGreaterThanOrEqual(1);
    // The two older samples were replaced in the queue of one, never sent.
    expect(e.stats.droppedFor('queue_full')).toBe(2);
    await e.stop(5000);
  });

  it('deletes its group on stop with --delete-on-exit', async () => {
    const e = await exporterFor('bye', 'host/x', true);
    await e.start();
    e.export(withHostPower(5_000_000));
    await e.idle();
    expect(await group('bye', 'host/x')).toBeDefined();
    await e.stop(5000);
    expect(await group('bye', 'host/x')).toBeUndefined();
  });
});
