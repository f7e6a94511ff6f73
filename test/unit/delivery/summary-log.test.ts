import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createPushExporter } from '../../../src/delivery/push-exporter.js';
import { DELIVERY_SUMMARY_EVERY_MS, deliverySummaryEveryMs } from '../../../src/delivery/summary-log.js';
import { FakeTransport } from '../../support/fakes/fake-transport.js';
import { syntheticSample } from '../../support/fixtures/synthetic-sample.js';

const T0 = Date.parse('2026-03-01T12:00:00Z');

class TargetedTransport extends FakeTransport {
  readonly target = 'http://127.0.0.1:9/api/v1/write';
}

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
  return { logger, lines };
}

describe('the delivery summary log', () => {
  it('says once that the backend took the first batch, then summarises each period; a period with failures is a warning', async () => {
    let now = T0;
    const { logger, lines } = capture();
    const t = new TargetedTransport();
    const ex = createPushExporter(t, { logger, backoff: { minDelayMs: 5, maxDelayMs: 5 }, summaryEveryMs: 600_000, now: () => now });
    await ex.start();
    const step = async (i: number): Promise<void> => {
      now = T0 + i * 60_000;
      ex.export(syntheticSample({ timestampMs: now }));
      await ex.idle();
    };
    for (let i = 0; i < 10; i++) await step(i); // minutes 0..9: no summary yet
    const first = lines.filter((l) => l['msg'] === 'first delivery accepted by the backend');
    expect(first).toEqual([expect.objectContaining({ level: 30, transport: 'fake', target: 'http://127.0.0.1:9/api/v1/write', samples: 1 })]);
    expect(first[0]?.['series']).toBeGreaterThan(5);
    expect(lines.filter((l) => l['msg'] === 'delivery summary')).toEqual([]);

    await step(10); // minute 10: the first period is over
    const summaries = (): Array<Record<string, unknown>> => lines.filter((l) => String(l['msg']).startsWith('delivery summary'));
    expect(summaries()).toEqual([
      expect.objectContaining({ level: 30, transport: 'fake', target: 'http://127.0.0.1:9/api/v1/write', periodS: 600, sent: 10, retried: 0, failedAttempts: 0, dropped: 0, queued: 1, sentTotal: 10 }),
    ]);
    expect(summaries()[0]).not.toHaveProperty('droppedBy');
    expect(summaries()[0]).not.toHaveProperty('spooled');

    // The next period: one batch refused (dropped), one retried before it went.
    t.script.push({ kind: 'drop', reason: 'http_400', error: 'HTTP 400: out of bounds' }, { kind: 'retry', error: 'HTTP 503' });
    for (let i = 11; i < 20; i++) await step(i);
    expect(summaries()).toHaveLength(1);
    await step(20);
    expect(summaries()).toHaveLength(2);
    expect(summaries()[1]).toMatchObject({ level: 40, periodS: 600, sent: 9, retried: 1, failedAttempts: 2, dropped: 1, droppedBy: { http_400: 1 }, sentTotal: 19 });
    // Only one "first delivery" line in the whole run.
    expect(lines.filter((l) => l['msg'] === 'first delivery accepted by the backend')).toHaveLength(1);

    // At stop: what happened since the last summary.
    await step(21);
    await ex.stop(1000);
    expect(summaries()[2]).toMatchObject({ msg: 'delivery summary at stop', level: 30, periodS: 60, sent: 2, dropped: 0, queued: 0, sentTotal: 21 });
  });

  it('says nothing at stop when nothing happened since the last summary', async () => {
    let now = T0;
    const { logger, lines } = capture();
    const ex = createPushExporter(new FakeTransport(), { logger, summaryEveryMs: 1000, now: () => now });
    await ex.start();
    ex.export(syntheticSample({ timestampMs: now }));
    await ex.idle();
    now += 1000;
    ex.export(syntheticSample({ timestampMs: now }));
    await ex.idle();
    expect(lines.filter((l) => l['msg'] === 'delivery summary')).toHaveLength(1);
    // The summary came before the second sample was sent: that one is said at stop.
    await ex.stop(1000);
    expect(lines.filter((l) => l['msg'] === 'delivery summary at stop')).toEqual([expect.objectContaining({ sent: 1, sentTotal: 2 })]);
    const quiet = capture();
    const idle = createPushExporter(new FakeTransport(), { logger: quiet.logger, now: () => now });
    await idle.start();
    await idle.stop(100);
    expect(quiet.lines).toEqual([]);
  });

  it('comes every 10 minutes; $SCAPH_TEST_DELIVERY_SUMMARY_MS shortens it for tests, nonsense is ignored', () => {
    expect(DELIVERY_SUMMARY_EVERY_MS).toBe(600_000);
    expect(deliverySummaryEveryMs({})).toBe(600_000);
    expect(deliverySummaryEveryMs({ SCAPH_TEST_DELIVERY_SUMMARY_MS: '1500' })).toBe(1500);
    for (const bad of ['', 'soon', '0', '5', '-100', 'Infinity']) expect(deliverySummaryEveryMs({ SCAPH_TEST_DELIVERY_SUMMARY_MS: bad }), bad).toBe(600_000);
  });
});
