/**
 * OTLP's messages as OpenTelemetry's own generated code reads and writes them: the protobufjs static
 * module OpenTelemetry JS generated from opentelemetry-proto and shipped in @opentelemetry/otlp-transformer
 * up to 0.217.0 (`build/src/generated/root.js`, an internal path: package.json pins that exact version
 * under the alias `otlp-proto-generated`). The test receiver (otlp-receiver.ts) decodes every request with
 * it, so what scaph's hand-written wire sends is checked against code scaph did not write.
 *
 * google.rpc.Status and google.rpc.RetryInfo (the gRPC error details OTLP uses for throttling) are not in
 * that module; they are declared here with protobufjs' reflection, from googleapis' google/rpc/status.proto
 * (code = 1, message = 2, details = 3) and error_details.proto (RetryInfo.retry_delay = 1), with
 * google.protobuf.Any (type_url = 1, value = 2) and Duration (seconds = 1, nanos = 2).
 */
import { createRequire } from 'node:module';
import protobuf from 'protobufjs';

interface MessageType<T> {
  decode(bytes: Uint8Array): T;
  encode(message: T): { finish(): Uint8Array };
  toObject(message: T, options: Record<string, unknown>): unknown;
  fromObject(object: unknown): T;
}

interface GeneratedRoot {
  opentelemetry: {
    proto: {
      collector: { metrics: { v1: { ExportMetricsServiceRequest: MessageType<object>; ExportMetricsServiceResponse: MessageType<object> } } };
    };
  };
}

const require = createRequire(import.meta.url);
const generated = require('otlp-proto-generated/build/src/generated/root.js') as GeneratedRoot;
const service = generated.opentelemetry.proto.collector.metrics.v1;

/** The gRPC method of OTLP metrics (metrics_service.proto: service MetricsService, rpc Export). */
export const EXPORT_METHOD = '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export';

export type AttributeValue = string | number | boolean;

/** One data point as decoded, with its metric's description: what tests compare. */
export interface DecodedPoint {
  readonly metric: string;
  readonly description: string;
  readonly unit: string;
  readonly type: 'gauge' | 'sum' | 'other';
  /** Sums only: 1 delta, 2 cumulative. */
  readonly temporality: number | null;
  readonly isMonotonic: boolean | null;
  /** ns since the epoch, exact. */
  readonly startTimeUnixNano: bigint;
  readonly timeUnixNano: bigint;
  /** The time in ms (ns / 10^6, exact for whole ms). */
  readonly timeMs: number;
  readonly valueType: 'int' | 'double' | 'none';
  readonly value: number;
  readonly flags: number;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
}

export interface DecodedRequest {
  readonly resources: ReadonlyArray<Readonly<Record<string, AttributeValue>>>;
  readonly scopes: ReadonlyArray<{ readonly name: string; readonly version: string }>;
  readonly points: readonly DecodedPoint[];
  /** Metric messages as they came (a name may come once per request, or more: the test says). */
  readonly metricNames: readonly string[];
}

interface AnyValueObject {
  stringValue?: string;
  intValue?: string;
  doubleValue?: number;
  boolValue?: boolean;
}
interface KeyValueObject {
  key: string;
  value?: AnyValueObject;
}
interface NumberPointObject {
  attributes?: KeyValueObject[];
  startTimeUnixNano?: string;
  timeUnixNano?: string;
  asDouble?: number;
  asInt?: string;
  flags?: number;
}
interface MetricObject {
  name: string;
  description?: string;
  unit?: string;
  gauge?: { dataPoints?: NumberPointObject[] };
  sum?: { dataPoints?: NumberPointObject[]; aggregationTemporality?: number; isMonotonic?: boolean };
  histogram?: object;
}
interface RequestObject {
  resourceMetrics?: Array<{
    resource?: { attributes?: KeyValueObject[] };
    scopeMetrics?: Array<{ scope?: { name?: string; version?: string }; metrics?: MetricObject[] }>;
  }>;
}

function attributeValue(v: AnyValueObject | undefined): AttributeValue {
  if (v?.stringValue !== undefined) return v.stringValue;
  if (v?.intValue !== undefined) return Number(v.intValue);
  if (v?.doubleValue !== undefined) return v.doubleValue;
  if (v?.boolValue !== undefined) return v.boolValue;
  return '';
}

function attributes(list: KeyValueObject[] | undefined): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const kv of list ?? []) out[kv.key] = attributeValue(kv.value);
  return out;
}

/** Decodes an ExportMetricsServiceRequest with OpenTelemetry's generated code; throws on bytes it refuses. */
export function decodeExportRequest(bytes: Uint8Array): DecodedRequest {
  const message = service.ExportMetricsServiceRequest.decode(bytes);
  const object = service.ExportMetricsServiceRequest.toObject(message, { longs: String, enums: Number, arrays: true }) as RequestObject;
  const resources: Array<Record<string, AttributeValue>> = [];
  const scopes: Array<{ name: string; version: string }> = [];
  const points: DecodedPoint[] = [];
  const metricNames: string[] = [];
  for (const rm of object.resourceMetrics ?? []) {
    resources.push(attributes(rm.resource?.attributes));
    for (const sm of rm.scopeMetrics ?? []) {
      scopes.push({ name: sm.scope?.name ?? '', version: sm.scope?.version ?? '' });
      for (const m of sm.metrics ?? []) {
        metricNames.push(m.name);
        const data = m.gauge ?? m.sum;
        const type = m.gauge ? 'gauge' : m.sum ? 'sum' : 'other';
        for (const p of data?.dataPoints ?? []) {
          const time = BigInt(p.timeUnixNano ?? '0');
          points.push({
            metric: m.name,
            description: m.description ?? '',
            unit: m.unit ?? '',
            type,
            temporality: m.sum ? (m.sum.aggregationTemporality ?? 0) : null,
            isMonotonic: m.sum ? (m.sum.isMonotonic ?? false) : null,
            startTimeUnixNano: BigInt(p.startTimeUnixNano ?? '0'),
            timeUnixNano: time,
            timeMs: Number(time / 1_000_000n),
            valueType: p.asInt !== undefined ? 'int' : p.asDouble !== undefined ? 'double' : 'none',
            value: p.asInt !== undefined ? Number(p.asInt) : (p.asDouble ?? Number.NaN),
            flags: p.flags ?? 0,
            attributes: attributes(p.attributes),
          });
        }
      }
    }
  }
  return { resources, scopes, points, metricNames };
}

/** An ExportMetricsServiceResponse, with a partial_success when `rejected` is given. */
export function encodeExportResponse(rejected?: { readonly points: number; readonly message: string }): Buffer {
  const object = rejected ? { partialSuccess: { rejectedDataPoints: rejected.points, errorMessage: rejected.message } } : {};
  const message = service.ExportMetricsServiceResponse.fromObject(object);
  return Buffer.from(service.ExportMetricsServiceResponse.encode(message).finish());
}

/** Decodes an ExportMetricsServiceResponse (what the official exporters and scaph read back). */
export function decodeExportResponse(bytes: Uint8Array): { readonly rejectedDataPoints: number; readonly errorMessage: string } | null {
  const object = service.ExportMetricsServiceResponse.toObject(service.ExportMetricsServiceResponse.decode(bytes), { longs: String }) as {
    partialSuccess?: { rejectedDataPoints?: string; errorMessage?: string };
  };
  if (!object.partialSuccess) return null;
  return { rejectedDataPoints: Number(object.partialSuccess.rejectedDataPoints ?? 0), errorMessage: object.partialSuccess.errorMessage ?? '' };
}

const rpc = protobuf.Root.fromJSON({
  nested: {
    google: {
      nested: {
        protobuf: {
          nested: {
            Any: { fields: { type_url: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } },
            Duration: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
          },
        },
        rpc: {
          nested: {
            Status: { fields: { code: { type: 'int32', id: 1 }, message: { type: 'string', id: 2 }, details: { rule: 'repeated', type: 'google.protobuf.Any', id: 3 } } },
            RetryInfo: { fields: { retry_delay: { type: 'google.protobuf.Duration', id: 1 } } },
          },
        },
      },
    },
  },
});
const StatusType = rpc.lookupType('google.rpc.Status');
const RetryInfoType = rpc.lookupType('google.rpc.RetryInfo');

/**
 * A google.rpc.Status: the body of an OTLP/HTTP error answer, and gRPC's `grpc-status-details-bin`. With
 * `retryDelayMs`, it carries a RetryInfo detail (OTLP's throttling signal).
 */
export function encodeStatus(code: number, message: string, retryDelayMs?: number): Buffer {
  const details =
    retryDelayMs === undefined
      ? []
      : [
          {
            type_url: 'type.googleapis.com/google.rpc.RetryInfo',
            value: RetryInfoType.encode(
              RetryInfoType.fromObject({ retry_delay: { seconds: Math.floor(retryDelayMs / 1000), nanos: (retryDelayMs % 1000) * 1_000_000 } }),
            ).finish(),
          },
        ];
  return Buffer.from(StatusType.encode(StatusType.fromObject({ code, message, details })).finish());
}
