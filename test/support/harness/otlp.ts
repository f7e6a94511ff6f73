/**
 * Drives `scaph run` with OTLP exporters against the test receiver (servers/otlp-receiver.ts) and a json
 * exporter listing every sample taken, and reads back what arrived: the points of each protocol, by metric
 * and time, next to what the json reports say was sampled.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MACHINE_ID_FILE_ENV } from '../../../src/core/machine-id.js';
import { HOSTNAME_ENV } from '../../../src/core/hostname.js';
import { startScaph, type ScaphProcess } from '../fixtures/run-scaph.js';
import type { DecodedPoint } from '../servers/otlp-proto.js';
import type { OtlpReceiver } from '../servers/otlp-receiver.js';
import { JSON_LOGS } from './bad-input.js';

export const OTLP_HOSTNAME = 'otlp-e2e-node';
export const OTLP_MACHINE_ID = '0123456789abcdef0123456789abcdef';

/** One json report: its time (ms) and the processes it lists with their power (µW). */
export interface JsonReport {
  readonly timestampMs: number;
  readonly hostPowerUw: number;
  readonly consumers: ReadonlyArray<{ readonly pid: number; readonly consumption: number }>;
}

/** The json exporter's reports, even from a run killed mid-array. */
export function jsonReports(file: string): JsonReport[] {
  let text = readFileSync(file, 'utf8').trim();
  if (!text.endsWith(']')) text = `${text.replace(/,$/, '')}\n]`;
  const reports = JSON.parse(text) as Array<{ host: { timestamp: number; consumption: number }; consumers: Array<{ pid: number; consumption: number }> }>;
  return reports.map((r) => ({ timestampMs: Math.round(r.host.timestamp * 1000), hostPowerUw: r.host.consumption, consumers: r.consumers }));
}

export interface OtlpRun {
  readonly scaph: ScaphProcess;
  /** The json exporter's file: every sample taken. */
  readonly sampled: string;
}

/**
 * `scaph run` on the estimate sensor at `step`: the given [[exporter]] tables (TOML lines each), then a json
 * exporter listing every sample; host name and machine id fixed, JSON logs.
 */
export function otlpRun(dir: string, exporters: readonly string[], step = '250ms', env: NodeJS.ProcessEnv = {}): OtlpRun {
  const sampled = join(dir, 'sampled.json');
  const config = join(dir, 'scaph.toml');
  const machineId = join(dir, 'machine-id');
  writeFileSync(machineId, `${OTLP_MACHINE_ID}\n`);
  const tables = exporters.map((e) => `[[exporter]]\n${e}\n${/^step\s*=/m.test(e) ? '' : `step = "${step}"\n`}`).join('\n');
  writeFileSync(config, `[sensor]\nkind = "estimate"\nstep = "${step}"\n\n${tables}\n[[exporter]]\ntype = "json"\nfile = "${sampled}"\nstep = "${step}"\n`);
  const scaph = startScaph(['--no-header', ...JSON_LOGS, 'run', '-c', config], {
    timeoutMs: 120_000,
    env: { [HOSTNAME_ENV]: OTLP_HOSTNAME, [MACHINE_ID_FILE_ENV]: machineId, ...env },
  });
  return { scaph, sampled };
}

/** The accepted points of one metric that came over `protocol`, in arrival order. */
export function pointsOf(receiver: OtlpReceiver, protocol: 'http' | 'grpc', metric: string): DecodedPoint[] {
  return receiver.requests.filter((r) => r.protocol === protocol && r.accepted && r.request).flatMap((r) => r.request?.points.filter((p) => p.metric === metric) ?? []);
}

/** How many times each time (ms) came, among points. */
export function countByTime(points: readonly DecodedPoint[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const p of points) out.set(p.timeMs, (out.get(p.timeMs) ?? 0) + 1);
  return out;
}

/** The latest value of a self-metric series among the accepted requests of `protocol` (labels as attributes). */
export function lastSelfMetric(receiver: OtlpReceiver, protocol: 'http' | 'grpc', metric: string, attributes: Readonly<Record<string, string>>): number | undefined {
  const points = pointsOf(receiver, protocol, metric).filter((p) => Object.entries(attributes).every(([k, v]) => p.attributes[k] === v));
  return points.at(-1)?.value;
}
