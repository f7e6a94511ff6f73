/**
 * Remote-write 2.0 against the 1.x receivers of this machine, as a user would meet them: the built scaph
 * (`scaph run`, a remote-write exporter with `protocol_version = "2.0"`, the key of --protocol-version, and a
 * json exporter listing every sample taken) pushes for 60 s to a real Prometheus 2.42 and a real
 * VictoriaMetrics 1.79, each stopped for 15 s in the middle. Both answer a 2.0 body with 204, no
 * X-Prometheus-Remote-Write-*-Written header, and store nothing: scaph must send those samples again as
 * 1.0 at once, keep to 1.0 (trying 2.0 again every 20 s here: the recheck finds 1.x again, quietly), and
 * every step must be stored exactly once with its value, queried back; the log says it once.
 */
import { describe, expect, it } from 'vitest';
import { startScaph } from '../../support/fixtures/run-scaph.js';
import { eventually, jsonHostPowers, jsonReportTimes, JSON_LOGS, logLines, runConfig, saying, sleep, tempDir } from '../../support/harness/bad-input.js';
import type { ManagedServer } from '../../support/servers/managed-server.js';
import { promRawSamples, startPrometheus } from '../../support/servers/prometheus.js';
import { startVictoriaMetrics, vmExport } from '../../support/servers/victoria-metrics.js';
import { readFileSync } from 'node:fs';

const RUN_MS = 60_000;
const OUTAGE_AT_MS = 20_000;
const OUTAGE_MS = 15_000;
const STEP = '500ms';

interface Stored {
  readonly timestampMs: number;
  readonly value: number;
}

/** Runs scaph against `server` for RUN_MS with an outage; returns what was taken and what the backend holds, per point. */
async function sixtySeconds(server: ManagedServer, instance: string, stored: () => Promise<Stored[]>): Promise<void> {
  const { config, sampled } = runConfig(
    tempDir('scaph-rw2-'),
    `type = "remote-write"\nurl = "${server.baseUrl}/api/v1/write"\nprotocol_version = "2.0"\nprotocol_recheck = 20\nlabel = { instance = "${instance}" }`,
    STEP,
  );
  const started = Date.now();
  // -vv: the rechecks that find 1.x again are said at debug level only; the test counts them.
  const scaph = startScaph(['--no-header', ...JSON_LOGS, '-vv', 'run', '-c', config], { timeoutMs: RUN_MS + 60_000 });
  let log = '';
  try {
    await sleep(OUTAGE_AT_MS);
    const before = (await stored()).length;
    await server.stop();
    const downAt = Date.now();
    await sleep(OUTAGE_MS);
    await server.start();
    const outageMs = Date.now() - downAt;
    await sleep(Math.max(0, started + RUN_MS - Date.now()));
    const run = await scaph.stop();
    log = run.stderr;
    expect(run.timedOut, log).toBe(false);
    expect(run.code, log).toBe(0);

    const taken = jsonReportTimes(sampled);
    const powers = jsonHostPowers(readFileSync(sampled, 'utf8')).map((h) => h.consumption);
    await eventually(() => taken.length > 0, 1000, 'samples');
    let points: Stored[] = [];
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      points = await stored();
      if (points.length >= taken.length) break;
      await sleep(500);
    }
    const duringOutage = taken.filter((t) => t >= downAt && t <= downAt + outageMs).length;
    console.info(
      `${server.name}: ${taken.length} steps taken in ${Math.round((Date.now() - started) / 1000)} s, ${duringOutage} during the ${outageMs} ms outage, ` +
        `${before} stored before it; ${points.length} points stored; fallback lines: ${saying(log, /does not take remote-write 2\.0/).length} warning, ` +
        `${saying(log, /still takes remote-write 1\.0 only/).length} at debug (rechecks)`,
    );
    expect(before).toBeGreaterThan(10);
    expect(duringOutage).toBeGreaterThanOrEqual(OUTAGE_MS / 500 - 4);
    // Every step, once, in order, with its value: nothing of the 2.0 requests the backend dropped is missing.
    expect(points.map((p) => p.timestampMs)).toEqual(taken);
    expect(points.map((p) => p.value)).toEqual(powers);
    // One line says it, with what to change; the rechecks (every 20 s) that found 1.x again said nothing more.
    const fallback = saying(log, /does not take remote-write 2\.0/);
    const rechecks = saying(log, /still takes remote-write 1\.0 only/);
    expect(rechecks.length).toBeGreaterThanOrEqual(1);
    expect(rechecks.every((l) => l.level === 20)).toBe(true);
    expect(fallback).toHaveLength(1);
    expect(fallback[0]?.level).toBe(40);
    expect(fallback[0]?.msg).toMatch(/answered HTTP 204 without X-Prometheus-Remote-Write-Samples-Written/);
    expect(fallback[0]?.msg).toMatch(/set --protocol-version 1\.0 \(protocol_version = "1\.0"\)/);
    // Nothing given up on: no error line, and the summary at stop counts no drop.
    expect(logLines(log).filter((l) => l.level >= 50)).toEqual([]);
    const atStop = saying(log, /delivery summary at stop/).filter((l) => l['transport'] === 'remote-write');
    expect(atStop.map((l) => l['dropped'])).toEqual([0]);
  } finally {
    await scaph.stop('SIGKILL');
    if (log === '') process.stderr.write(scaph.stderr);
  }
}

describe.concurrent('remote-write --protocol-version 2.0 to 1.x receivers for 60 s with an outage: every step stored once', () => {
  it('a real Prometheus 2.42 (--web.enable-remote-write-receiver)', async () => {
    const prom = await startPrometheus();
    try {
      await sixtySeconds(prom, 'rw2-prometheus', async () =>
        (await promRawSamples(prom, 'scaph_host_power_microwatts{instance="rw2-prometheus"}', Date.now() + 1000, 600)).flatMap((s) => s.points),
      );
    } finally {
      await prom.dispose();
    }
  }, 180_000);

  it('a real VictoriaMetrics 1.79', async () => {
    const vm = await startVictoriaMetrics();
    try {
      await sixtySeconds(vm, 'rw2-victoria', async () => (await vmExport(vm, 'scaph_host_power_microwatts{instance="rw2-victoria"}')).flatMap((s) => s.points));
    } finally {
      await vm.dispose();
    }
  }, 180_000);
});
