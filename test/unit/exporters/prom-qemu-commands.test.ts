import { Command } from 'commander';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CommandContext, ExporterCommandSpec } from '../../../src/exporters/command.js';
import { commandPlan, type CommandPlan } from '../../support/fixtures/command-plan.js';
import { prometheusPushCommand } from '../../../src/exporters/pushgateway/command.js';
import { prometheusCommand } from '../../../src/exporters/prometheus/command.js';
import { qemuCommand } from '../../../src/exporters/qemu/command.js';
import { UsageError } from '../../../src/core/errors.js';
import { silentLogger } from '../../../src/core/log.js';
import { PrometheusExporter } from '../../../src/exporters/prometheus/exporter.js';
import { PushgatewayTransport } from '../../../src/exporters/pushgateway/transport.js';
import { makeSample } from '../../support/fixtures/sample.js';

const ctx: CommandContext = { logger: silentLogger(), hostname: 'node/7', version: '1.2.3' };

function plan(spec: ExporterCommandSpec, args: string[]): Promise<CommandPlan> {
  return commandPlan(spec, args, ctx);
}

describe('prometheus command', () => {
  it('defaults: port 8080 on ::, /metrics, 5 s step, run until stopped', async () => {
    const p = await plan(prometheusCommand, []);
    expect(p.exporter).toBeInstanceOf(PrometheusExporter);
    expect((p.exporter as PrometheusExporter).port).toBe(8080);
    expect(p.stepMs).toBe(5000);
    expect(p.durationMs).toBeNull();
    expect(p.qemu).toBe(false);
  });

  it('serves on the given address, port and suffix, with --qemu labels and the cmdline cap', async () => {
    const p = await plan(prometheusCommand, ['-a', '127.0.0.1', '-p', '0', '-s', '/x/m/', '-q', '--max-cmdline-length', '5', '--step', '1.5']);
    expect(p.stepMs).toBe(1500);
    expect(p.qemu).toBe(true);
    const e = p.exporter as PrometheusExporter;
    await e.start();
    try {
      e.export(makeSample());
      const text = await (await fetch(`http://127.0.0.1:${e.port}/x/m`)).text();
      expect(text).toContain('cmdline="/usr…"');
      expect(text).toContain('scaph_self_version{version="1.2.3"} 1');
    } finally {
      await e.stop(1000);
    }
  });

  it('rejects a bad suffix or port with a usage error', async () => {
    await expect(plan(prometheusCommand, ['--suffix', 'a b'])).rejects.toThrow(UsageError);
    // scaph 0.1's `-s 5` meant the step: refused with the new spelling rather than served at /5.
    await expect(plan(prometheusCommand, ['-s', '5'])).rejects.toThrow(/-s\/--suffix is the metrics path .* use --step 5/);
    await expect(plan(prometheusCommand, ['--suffix', '2.5'])).rejects.toThrow(/--step 2.5/);
    await expect(plan(prometheusCommand, ['-p', '70000'])).rejects.toThrow(/TCP port/);
  });
});

describe('prometheus-push command', () => {
  it('builds the group URL from host, port, scheme, suffix, job and the host name', async () => {
    const p = await plan(prometheusPushCommand, []);
    expect(p.stepMs).toBe(30_000);
    expect((p.transport as PushgatewayTransport).endpoint.url.href).toBe('http://localhost:9091/metrics/job/scaphandre/instance@base64/bm9kZS83');
    await p.exporter.stop(100);
    const q = await plan(prometheusPushCommand, ['-H', '::1', '-p', '9999', '-S', 'https', '--suffix', 'pg', '-j', 'power', '--no-tls-check', '--delete-on-exit', '-s', '10']);
    const f = q.transport as PushgatewayTransport;
    expect(f.endpoint.url.href).toBe('https://[::1]:9999/pg/job/power/instance@base64/bm9kZS83');
    expect(f.closeShare).toBe(0.5);
    expect(q.stepMs).toBe(10_000);
    await q.exporter.stop(100);
    await expect(plan(prometheusPushCommand, ['-S', 'ftp'])).rejects.toThrow(/http or https/);
  });
});

describe('qemu command', () => {
  it('asks the sensor for VM names and writes under --path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scaph-qemucmd-'));
    try {
      const p = await plan(qemuCommand, ['--path', join(dir, 'trees'), '-s', '2']);
      expect(p.qemu).toBe(true);
      expect(p.stepMs).toBe(2000);
      await p.exporter.start();
      expect(statSync(join(dir, 'trees')).isDirectory()).toBe(true);
      await p.exporter.stop(100);
      expect((await plan(qemuCommand, [])).stepMs).toBe(5000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
