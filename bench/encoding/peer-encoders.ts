/**
 * The npm peers, driven the way a user of each package would: metrics in, wire bytes out, with the
 * network call stubbed so only the encoding is timed.
 * - prometheus-remote-write: pushTimeseries() with a fetch that answers at once (it builds the
 *   WriteRequest, verifies, encodes with protobufjs and snappy-compresses with snappyjs).
 * - riemann: the client's serializer (Serializer.serializeMessage) on Msgs of 500 events, the same
 *   batches scaph sends (the client itself sends one event per Msg, which would be slower still),
 *   plus the 4-byte frame header its TCP socket adds.
 * - @senx/warp10: Warp10.update() with its HTTP send stubbed (it formats the GTS lines and joins them).
 * - @opentelemetry/otlp-transformer: ProtobufMetricsSerializer.serializeRequest(), the serializer the
 *   official OTLP/HTTP and gRPC exporters call, given the SDK's ResourceMetrics built from the same metrics
 *   (one MetricData per family, a DataPoint per series, as a MeterProvider's collection hands them over).
 */
import { createRequire } from 'node:module';
import type { Metric } from '../../src/core/metric-families.js';
import { BENCH_OTLP_RESOURCE } from './scaph-encoders.js';
import type { QueuedSample } from '../../src/delivery/transport.js';
import { carriesAttribute } from '../../src/exporters/riemann/events.js';
import { BENCH_LABELS, type Encoder } from './scaph-encoders.js';

const require = createRequire(import.meta.url);

interface PromTimeseries {
  labels: Record<string, string>;
  samples: { value: number; timestamp: number }[];
}
interface PromRemoteWrite {
  pushTimeseries(
    timeseries: PromTimeseries[],
    options: { labels: Record<string, string>; url: string; fetch: (url: string, init: { body: ArrayBufferLike }) => Promise<FetchAnswer> },
  ): Promise<{ status: number }>;
}
interface FetchAnswer {
  status: number;
  statusText: string;
  text(): Promise<string>;
}
interface RiemannSerializer {
  serializeMessage(msg: { events: object[] }): Uint8Array;
}
interface Warp10DataPoint {
  timestamp: number;
  className: string;
  labels: Record<string, string>;
  value: number;
}
interface Warp10Client {
  update(token: string, points: Warp10DataPoint[]): Promise<{ count: number }>;
}
type Warp10Ctor = new (params: { endpoint: string; silent: boolean }) => Warp10Client;

/** Loads a CommonJS peer; a string says why it is skipped. */
function load<T>(id: string): T | string {
  try {
    return require(id) as T;
  } catch (err) {
    return `skipped: npm package ${id} not installed (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`;
  }
}

export const PEER_NAMES = { remoteWrite: 'prometheus-remote-write', riemann: 'riemann', warp10: '@senx/warp10', otlp: '@opentelemetry/otlp-transformer' } as const;

export function peerRemoteWrite(): Encoder | string {
  const lib = load<PromRemoteWrite>(PEER_NAMES.remoteWrite);
  if (typeof lib === 'string') return lib;
  let bytes = 0;
  const answer: FetchAnswer = { status: 200, statusText: 'OK', text: async () => '' };
  const options = {
    labels: { job: BENCH_LABELS.job, instance: BENCH_LABELS.instance },
    url: 'http://127.0.0.1:9/api/v1/write',
    fetch: async (_url: string, init: { body: ArrayBufferLike }) => {
      bytes = init.body.byteLength;
      return answer;
    },
  };
  return {
    name: PEER_NAMES.remoteWrite,
    encode: async (e: QueuedSample) => {
      const series = e.metrics.map((m) => ({
        labels: { __name__: m.name, ...m.labels },
        samples: [{ value: m.value, timestamp: e.timestampMs }],
      }));
      await lib.pushTimeseries(series, options);
      return bytes;
    },
  };
}

export function peerRiemann(maxEventsPerMsg: number): Encoder | string {
  const lib = load<RiemannSerializer>(`${PEER_NAMES.riemann}/riemann/serializer.js`);
  if (typeof lib === 'string') return lib;
  const toEvent = (m: Metric, time: number): object => ({
    host: BENCH_LABELS.instance,
    service: m.name,
    time,
    state: 'ok',
    description: m.help,
    tags: ['scaphandre'],
    ttl: 60,
    // The same events as scaph writes (cmdline on the process power event only), so both encode the same bytes.
    attributes: Object.entries(m.labels)
      .filter(([key]) => carriesAttribute(m.name, key))
      .map(([key, value]) => ({ key, value })),
    ...(m.kind === 'int' ? { metricSint64: m.value } : { metricD: m.value }),
  });
  return {
    name: PEER_NAMES.riemann,
    encode: (e: QueuedSample) => {
      const time = Math.floor(e.timestampMs / 1000);
      const events = e.metrics.map((m) => toEvent(m, time));
      let bytes = 0;
      for (let start = 0; start < events.length; start += maxEventsPerMsg) {
        const payload = Buffer.from(lib.serializeMessage({ events: events.slice(start, start + maxEventsPerMsg) }));
        const packet = Buffer.alloc(payload.length + 4);
        packet.writeUInt32BE(payload.length, 0);
        payload.copy(packet, 4, 0);
        bytes += packet.length;
      }
      return bytes;
    },
  };
}

export function peerWarp10(): Encoder | string {
  const lib = load<{ Warp10: Warp10Ctor }>(PEER_NAMES.warp10);
  if (typeof lib === 'string') return lib;
  const client = new lib.Warp10({ endpoint: 'http://127.0.0.1:9', silent: true });
  let bytes = 0;
  // Replace the HTTP call only: update() still builds every line and joins the body.
  Object.assign(client, {
    send: async (_options: unknown, data: string) => {
      bytes = data.length;
      return { headers: {}, body: '' };
    },
  });
  return {
    name: PEER_NAMES.warp10,
    encode: async (e: QueuedSample) => {
      const timestamp = Math.round(e.timestampMs * 1000);
      const points = e.metrics.map((m) => ({
        timestamp,
        className: m.name,
        labels: { ...m.labels, host: BENCH_LABELS.instance },
        value: m.value,
      }));
      await client.update('bench-token', points);
      return bytes;
    },
  };
}

type HrTime = [number, number];
interface OtelDataPoint {
  startTime: HrTime;
  endTime: HrTime;
  attributes: Record<string, string>;
  value: number;
}
interface OtelMetricData {
  descriptor: { name: string; description: string; unit: string; valueType: number };
  aggregationTemporality: number;
  dataPointType: number;
  dataPoints: OtelDataPoint[];
  isMonotonic?: boolean;
}
interface OtelSerializer {
  ProtobufMetricsSerializer: { serializeRequest(request: unknown): Uint8Array | undefined };
}
interface OtelResources {
  resourceFromAttributes(attributes: Record<string, string | number>): unknown;
}
/** sdk-metrics' enums, as numbers: DataPointType GAUGE = 2, SUM = 3; AggregationTemporality CUMULATIVE = 1; api ValueType INT = 0, DOUBLE = 1. */
const GAUGE = 2;
const SUM = 3;
const CUMULATIVE = 1;
const INT = 0;
const DOUBLE = 1;

function hrTime(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
}

export function peerOtlp(): Encoder | string {
  const lib = load<OtelSerializer>(PEER_NAMES.otlp);
  if (typeof lib === 'string') return lib;
  const resources = load<OtelResources>('@opentelemetry/resources');
  if (typeof resources === 'string') return resources;
  const resource = resources.resourceFromAttributes(Object.fromEntries(BENCH_OTLP_RESOURCE));
  const scope = { name: 'scaph', version: 'bench' };
  return {
    name: PEER_NAMES.otlp,
    encode: (e: QueuedSample) => {
      const endTime = hrTime(e.timestampMs);
      const startTime = hrTime(e.startMs ?? e.timestampMs);
      const byName = new Map<string, OtelMetricData>();
      const metrics: OtelMetricData[] = [];
      for (const m of e.metrics) {
        let data = byName.get(m.name);
        if (data === undefined) {
          const counter = m.type === 'counter';
          data = {
            descriptor: { name: m.name, description: m.help, unit: '', valueType: m.kind === 'int' ? INT : DOUBLE },
            aggregationTemporality: CUMULATIVE,
            dataPointType: counter ? SUM : GAUGE,
            dataPoints: [],
            ...(counter ? { isMonotonic: true } : {}),
          };
          byName.set(m.name, data);
          metrics.push(data);
        }
        data.dataPoints.push({ startTime, endTime, attributes: m.labels, value: m.value });
      }
      const bytes = lib.ProtobufMetricsSerializer.serializeRequest({ resource, scopeMetrics: [{ scope, metrics }] });
      return bytes?.length ?? 0;
    },
  };
}
