/**
 * Runs the riemann subcommand the way the CLI does (commander parses the flags, riemannCommand.create
 * builds the plan) against a test backend, with a log capture and a sensor of known values.
 */
import { Command } from 'commander';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from '../../../src/core/log.js';
import type { Sample } from '../../../src/core/sample.js';
import type { Sensor } from '../../../src/core/sensor.js';
import { commandPlan, type CommandPlan } from '../fixtures/command-plan.js';
import { riemannCommand } from '../../../src/exporters/riemann/command.js';
import type { PushExporter } from '../../../src/delivery/push-exporter.js';
import { syntheticSample, type SyntheticProcess } from '../fixtures/synthetic-sample.js';

export const AGENT_HOSTNAME = 'scaph-under-test';

export const PROCESSES: readonly SyntheticProcess[] = [
  { pid: 1234, exe: 'firefox', powerUw: 1_500_000 },
  { pid: 99, exe: 'bash', powerUw: 250_000 },
];

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** A pino logger whose lines land in `lines` (parsed). */
export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

/** Parses `args` as the riemann subcommand's flags and builds its plan. */
export async function riemannPlan(args: readonly string[], logger: Logger, qemu = false): Promise<CommandPlan> {
  return commandPlan(riemannCommand, qemu ? [...args, '--qemu'] : args, { logger, hostname: AGENT_HOSTNAME, version: '9.9.9-test' });
}

/** The plan's exporter, as the delivery core's PushExporter (stats, idle). */
export function pushExporter(plan: CommandPlan): PushExporter {
  return plan.exporter as PushExporter;
}

/** Samples of known values stamped with the wall clock, like the machine sensor's. */
export class FakeSensor implements Sensor {
  readonly kind = 'fake';
  reads = 0;
  constructor(private readonly processes: readonly SyntheticProcess[] = PROCESSES) {}
  async start(): Promise<void> {}
  async read(): Promise<Sample> {
    this.reads += 1;
    return sampleAt(Date.now(), this.processes);
  }
}

/** Carries the agent's RSS as the machine sensor's samples do, so scaph_self_memory_bytes is among the events. */
export function sampleAt(timestampMs: number, processes: readonly SyntheticProcess[] = PROCESSES): Sample {
  return { ...syntheticSample({ timestampMs, processes }), agentRssBytes: 50_000_000 };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `predicate` holds, or fails after timeoutMs with `what`. */
export async function eventually(predicate: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > until) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(25);
  }
}
