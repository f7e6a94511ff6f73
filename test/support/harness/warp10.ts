import { Writable } from 'node:stream';
import { Command } from 'commander';
import { pino } from 'pino';
import { commandPlan, type CommandPlan } from '../fixtures/command-plan.js';
import { warp10Command } from '../../../src/exporters/warp10/command.js';
import type { Logger } from '../../../src/core/log.js';
import type { ProcessSample, Sample } from '../../../src/core/sample.js';
import type { Sensor } from '../../../src/core/sensor.js';
import type { PushExporter } from '../../../src/delivery/push-exporter.js';
import { makeSample } from './warp10-fixtures.js';

/** A logger that keeps every line (parsed) so tests can count and search them. */
export function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>>; raw: string[] } {
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      const text = chunk.toString('utf8');
      raw.push(text);
      lines.push(JSON.parse(text) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines, raw };
}

/** A sensor that returns made-up samples stamped with the wall clock, and remembers every timestamp. */
export class FakeSensor implements Sensor {
  readonly kind = 'fake';
  readonly timestamps: number[] = [];
  constructor(private readonly processes: readonly ProcessSample[]) {}
  async start(): Promise<void> {}
  async read(): Promise<Sample> {
    const n = this.timestamps.length;
    const ts = Date.now();
    this.timestamps.push(ts);
    // Host power encodes the sample's rank, so order and completeness can be checked on the server.
    return makeSample(ts, this.processes, 40_000_000 + n);
  }
}

/** Parses `argv` as the warp10 subcommand does and builds the plan, with a capturing logger. */
export async function planFor(argv: readonly string[], logger: Logger, hostname = 'box'): Promise<CommandPlan> {
  return commandPlan(warp10Command, argv, { logger, hostname, version: '0.1.0-test' });
}

export function asPush(plan: CommandPlan): PushExporter {
  const e = plan.exporter as Partial<PushExporter>;
  if (typeof e.idle !== 'function' || e.stats === undefined) throw new Error('warp10 exporter is not a push exporter');
  return plan.exporter as PushExporter;
}
