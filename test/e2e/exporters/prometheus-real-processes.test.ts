/**
 * A real run: the machine sensor over /proc (with processes named with quotes, backslashes, newlines
 * and non-UTF-8 bytes) and a synthetic powercap tree at a known wattage, the scheduler, and the
 * exporter; promtool checks the output and a real Prometheus scrapes it.
 */
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/core/log.js';
import { MetricsView } from '../../../src/core/metrics-view.js';
import { Scheduler } from '../../../src/agent/scheduler.js';
import { PrometheusExporter } from '../../../src/exporters/prometheus/exporter.js';
import { MachineSensor } from '../../../src/sensors/machine-sensor.js';
import type { PowerReadContext, PowerSource } from '../../../src/sensors/power-source.js';
import { PowercapSource } from '../../../src/sensors/powercap/source.js';
import { createPowercapTree, type PowercapTree } from '../../support/fixtures/powercap-tree.js';
import { spawnWeirdProcesses, type WeirdProcesses } from '../../support/fixtures/weird-processes.js';
import { waitFor } from '../../support/servers/free-port.js';
import { startScrapingPrometheus } from '../../support/servers/prometheus-scrape.js';
import { promtoolCheckMetrics, remarkKinds } from '../../support/servers/promtool.js';

const STEP_MS = 500;
// package 41.5 W + dram 8.5 W: host = 50 W exactly.
const HOST_UW = 50_000_000;

let tree: PowercapTree;
let weird: WeirdProcesses;
let exporter: PrometheusExporter;
let scheduler: Scheduler;

/** Moves the fixture's fake clock by exactly one step before each reading: power is then exact. */
function steppedSource(inner: PowercapSource, t: PowercapTree): PowerSource {
  return {
    kind: inner.kind,
    start: () => inner.start(),
    read: (ctx: PowerReadContext) => {
      t.advance(STEP_MS);
      return inner.read(ctx);
    },
  };
}

beforeAll(async () => {
  weird = await spawnWeirdProcesses();
  tree = createPowercapTree([
    { path: 'intel-rapl:0', name: 'package-0', powerW: 41.5 },
    { path: 'intel-rapl:0/intel-rapl:0:0', name: 'core', powerW: 30 },
    { path: 'intel-rapl:0/intel-rapl:0:2', name: 'dram', powerW: 8.5 },
  ]);
  const logger = silentLogger();
  const source = steppedSource(new PowercapSource({ powercapPath: tree.powercapPath, logger, now: tree.now }), tree);
  const sensor = new MachineSensor({ powerSource: source, procfsPath: '/proc', hostname: hostname(), logger });
  await sensor.start();
  exporter = new PrometheusExporter({ address: '127.0.0.1', port: 0, suffix: 'metrics', view: new MetricsView({ maxCmdlineLength: 256, version: '0.1.0' }), logger });
  await exporter.start();
  scheduler = new Scheduler(sensor, [exporter], { stepMs: STEP_MS, durationMs: null, logger });
  scheduler.start();
  await waitFor(async () => ((await exporter.render('text')) === null ? null : true), 10_000, 'the first sample');
});

afterAll(async () => {
  scheduler?.stop();
  await scheduler?.done;
  await exporter?.stop(1000);
  weird?.stop();
  tree?.close();
});

describe('prometheus exporter on a real run', () => {
  it('passes promtool check metrics with odd process names (lint remarks only, no parse error)', async () => {
    const res = await fetch(`http://127.0.0.1:${exporter.port}/metrics`);
    const body = Buffer.from(await res.arrayBuffer());
    const text = body.toString('utf8');
    // The body is valid UTF-8 (non-UTF-8 bytes became U+FFFD) and every odd process is in it.
    expect(Buffer.from(text, 'utf8').equals(body)).toBe(true);
    for (const pid of weird.pids) expect(text).toContain(`scaph_process_power_consumption_microwatts{pid="${pid}",`);
    expect(text).toContain(`exe="we\\"ird\\\\name"`);
    expect(text).toContain(`exe="new\\nline"`);
    expect(text).toContain(`cmdline="argv0 \\"q\\" \\\\ back\\nnew \uFFFD\uFFFD end 300"`);
    expect(text).toContain(`scaph_host_power_microwatts{value_source="powercap_rapl_pkg"} ${HOST_UW}\n`);
    const check = await promtoolCheckMetrics(body);
    expect(check.errors).toEqual([]);
    expect(check.code).toBe(3);
    expect(remarkKinds(check.remarks)).toEqual(['counter metrics should have "_total" suffix', 'use base unit "joules" instead of "microjoules"']);
  });

  it('is scraped by a real Prometheus that answers PromQL with the host power and the odd labels intact', async () => {
    const prom = await startScrapingPrometheus(`127.0.0.1:${exporter.port}`);
    try {
      const host = await waitFor(async () => {
        const r = await prom.query('scaph_host_power_microwatts');
        return r.length > 0 ? r : null;
      }, 30_000, 'scaph_host_power_microwatts in Prometheus');
      expect(host).toHaveLength(1);
      expect(Number(host[0]?.value[1])).toBe(HOST_UW);
      expect(host[0]?.metric['value_source']).toBe('powercap_rapl_pkg');
      const pidRegex = weird.pids.join('|');
      const procs = await prom.query(`scaph_process_power_consumption_microwatts{pid=~"${pidRegex}"}`);
      const exes = new Map(procs.map((p) => [Number(p.metric['pid']), p.metric['exe']]));
      expect(exes).toEqual(weird.expectedExe);
      const up = await prom.query('up{job="scaph"}');
      expect(up[0]?.value[1]).toBe('1');
    } finally {
      await prom.stop();
    }
  });
});
