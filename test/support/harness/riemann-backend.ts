/**
 * Reading a Riemann server back through its own protocol (a query Msg), so one suite runs against the
 * fake server and against a real Riemann.
 */
import { RiemannConnection } from '../../../src/exporters/riemann/connection.js';
import { encodeFrame, type RiemannEvent } from '../../../src/exporters/riemann/proto.js';

/** The events of Riemann's index matching `query` (Riemann query language). */
export async function queryRiemann(host: string, port: number, query: string): Promise<RiemannEvent[]> {
  const conn = new RiemannConnection({ host, port, tls: null, connectTimeoutMs: 5000 });
  let events: RiemannEvent[] = [];
  try {
    await conn.request([encodeFrame({ query: { string: query } })], AbortSignal.timeout(10_000), (_i, msg) => {
      if (msg.ok !== true) throw new Error(`query "${query}" failed: ${msg.error ?? '(no error text)'}`);
      events = msg.events ?? [];
    });
  } finally {
    conn.close();
  }
  return events;
}

/** metric_sint64, else metric_d, else metric_f: what Riemann reads. */
export function metricOf(e: RiemannEvent): number | undefined {
  return e.metricSint64 ?? e.metricD ?? e.metricF;
}
