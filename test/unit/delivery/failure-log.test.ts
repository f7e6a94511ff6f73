import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { FailureLog } from '../../../src/delivery/failure-log.js';
import { DeliveryStats } from '../../../src/delivery/stats.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

describe('FailureLog', () => {
  it('logs each distinct error once per period and one summary per period while failing', () => {
    let now = 0;
    const { logger, lines } = capture();
    const stats = new DeliveryStats('remote-write');
    const log = new FailureLog(logger, stats, { repeatEveryMs: 60_000, summaryEveryMs: 60_000 }, () => now);
    for (let i = 0; i < 100; i++) {
      now = i * 1000; // 100 attempts over 99 s
      log.failure('ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9', 'retry');
      if (i % 10 === 0) log.failure('HTTP 400: out of bounds', 'drop', 'http_400');
    }
    const perError = lines.filter((l) => l['error'] === 'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9');
    expect(perError.map((l) => l['level'])).toEqual([40, 40]); // at 0 s and 60 s
    const rejected = lines.filter((l) => l['error'] === 'HTTP 400: out of bounds');
    expect(rejected.map((l) => l['reason'])).toEqual(['http_400', 'http_400']);
    const summaries = lines.filter((l) => l['msg'] === 'delivery failing: summary');
    expect(summaries.length).toBe(1); // first one after a minute of failing
    expect(summaries[0]?.['failingForMs']).toBe(60_000);
    now = 120_000;
    log.success();
    expect(lines.at(-1)?.['msg']).toBe('delivery recovered');
    expect(lines.at(-1)?.['failedForMs']).toBe(120_000);
  });

  it('never logs the request headers or secrets: only the error text it is given', () => {
    const { logger, lines } = capture();
    const log = new FailureLog(logger, new DeliveryStats('remote-write'));
    log.failure('HTTP 401: unauthorized', 'drop', 'http_401');
    expect(Object.keys(lines[0] ?? {}).sort()).toEqual(['error', 'hostname', 'level', 'msg', 'pid', 'reason', 'time', 'transport']);
  });
});
