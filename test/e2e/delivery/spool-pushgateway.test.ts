import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFromConfig } from '../../../src/agent/run-command.js';
import { silentLogger } from '../../../src/core/log.js';
import type { Sensor } from '../../../src/core/sensor.js';
import { RUN_GLOBALS } from '../../support/fixtures/run-globals.js';
import { syntheticSample } from '../../support/fixtures/synthetic-sample.js';
import { FaultProxy } from '../../support/servers/fault-proxy.js';
import type { ManagedServer } from '../../support/servers/managed-server.js';
import { pushgatewayGroups, startPushgateway } from '../../support/servers/pushgateway.js';

const HOST = 'spool-host';
const JOB = 'spool-test';
const powerAt = (timestampMs: number): number => (timestampMs % 1_000_000) * 10;

let pg: ManagedServer;
let proxy: FaultProxy;
const dir = mkdtempSync(join(tmpdir(), 'scaph-pg-spool-'));

beforeAll(async () => {
  pg = await startPushgateway();
  proxy = new FaultProxy(pg.baseUrl);
  await proxy.start();
}, 120_000);

afterAll(async () => {
  await proxy?.close();
  await pg?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** Samples whose host power tells when they were taken; `taken` lists them in order. */
function clockSensor(taken: number[]): Sensor {
  return {
    kind: 'synthetic',
    start: async () => undefined,
    read: async () => {
      const t = Date.now();
      taken.push(t);
      return syntheticSample({ timestampMs: t, socketPowersUw: [powerAt(t)] });
    },
  };
}

/** A sensor with nothing to say: every reading fails, so a run delivers only what its spool replays. */
const silentSensor: Sensor = {
  kind: 'synthetic',
  start: async () => undefined,
  read: async () => {
    throw new Error('no reading (test)');
  },
};

async function hostPower(): Promise<number | null> {
  const g = (await pushgatewayGroups(pg)).find((x) => x.labels['job'] === JOB && x.labels['instance'] === HOST);
  const value = g?.families.get('scaph_host_power_microwatts')?.[0]?.value;
  return value === undefined ? null : Number(value);
}

/** The host power a push's body (text exposition) carries, or null. */
function pushedHostPower(body: Buffer | undefined): number | null {
  const m = /^scaph_host_power_microwatts(?:\{[^}]*\})? (\S+)/m.exec(body?.toString('utf8') ?? '');
  return m ? Number(m[1]) : null;
}

describe('prometheus-push with spool_dir (scaph run)', () => {
  it('goes through the delivery core: the sample unsent at stop stays in the spool and the next run pushes it', async () => {
    const spool = join(dir, 'spool');
    const config = join(dir, 'scaph.toml');
    writeFileSync(
      config,
      `[sensor]\nstep = "100ms"\n\n[[exporter]]\ntype = "prometheus-push"\nhost = "127.0.0.1"\nport = ${new URL(proxy.url).port}\njob = "${JOB}"\nspool_dir = "${spool}"\nstep = "100ms"\n`,
    );
    const deps = { env: { SCAPH_HOSTNAME: HOST } };

    // The Pushgateway answers 503 throughout the first run: nothing arrives, the spool keeps the latest.
    proxy.fallback = { kind: 'status', status: 503 };
    const taken: number[] = [];
    await runFromConfig(config, false, RUN_GLOBALS, silentLogger(), { ...deps, createSensor: async () => clockSensor(taken) }, { durationMs: 1200, stopDeadlineMs: 300 });
    expect(taken.length).toBeGreaterThan(3);
    expect(proxy.requests.length).toBeGreaterThan(0);
    expect(proxy.requests.every((r) => r.status === 503)).toBe(true);
    expect(readdirSync(spool).some((f) => f.endsWith('.seg'))).toBe(true);
    expect(await hostPower()).toBeNull();

    // Backend back, and a run that samples nothing: what arrives first is the first run's last sample, from
    // the spool. Then, as every reading of this run fails, the group is pushed without figures (issue 27: a
    // figure that cannot be measured is not left in the Pushgateway as current).
    proxy.fallback = { kind: 'pass' };
    const before = proxy.requests.length;
    await runFromConfig(config, false, RUN_GLOBALS, silentLogger(), { ...deps, createSensor: async () => silentSensor }, { durationMs: 1500, stopDeadlineMs: 1000 });
    const pushed = proxy.requests.slice(before).filter((r) => r.status !== null && r.status >= 200 && r.status < 300 && r.body.length > 0);
    expect(pushed.length).toBeGreaterThanOrEqual(2);
    expect(pushedHostPower(pushed[0]?.body)).toBe(powerAt(taken[taken.length - 1] as number));
    expect(pushedHostPower(pushed[pushed.length - 1]?.body)).toBeNull();
    expect(await hostPower()).toBeNull();
  });
});
