/** scaph's three push encoders, exactly as the transports call them before a send (no I/O here). */
import { silentLogger } from '../../src/core/log.js';
import type { QueuedSample } from '../../src/delivery/transport.js';
import { RemoteWriteTransport } from '../../src/exporters/remote-write/transport.js';
import { RemoteWriteV2Transport } from '../../src/exporters/remote-write/transport-v2.js';
import { RequestV2Encoder } from '../../src/exporters/remote-write/wire-v2.js';
import { WriteRequestEncoder } from '../../src/exporters/remote-write/wire.js';
import { RIEMANN_DEFAULTS, RiemannTransport } from '../../src/exporters/riemann/transport.js';
import { Warp10Transport } from '../../src/exporters/warp10/transport.js';
import type { OtlpAttribute } from '../../src/core/otlp-names.js';
import { OtlpTransport } from '../../src/exporters/otlp/transport.js';

export interface Encoder {
  readonly name: string;
  /** Encodes one sample; returns the bytes written (what would go on the wire). */
  encode(entry: QueuedSample): number | Promise<number>;
  close?(): Promise<void>;
}

export const BENCH_LABELS = { job: 'scaph', instance: 'bench-host' } as const;

export function scaphRemoteWrite(): Encoder {
  const transport = new RemoteWriteTransport({
    url: 'http://127.0.0.1:9/api/v1/write', version: 'bench', timeoutMs: 1000, ...BENCH_LABELS, extraLabels: {},
  });
  return { name: 'remote-write', encode: (e) => transport.encode([e]).length, close: () => transport.close() };
}

/**
 * Remote-write 2.0 as `--protocol-version 2.0` encodes for a 2.0 receiver (symbols, metadata, start
 * timestamps of counters, snappy), with no request sent.
 */
export function scaphRemoteWriteV2(): Encoder {
  const transport = new RemoteWriteV2Transport({
    url: 'http://127.0.0.1:9/api/v1/write', version: 'bench', timeoutMs: 1000, ...BENCH_LABELS, extraLabels: {},
    logger: silentLogger(), recheckMs: null, countersStartMs: Date.now() - 3_600_000,
  });
  return { name: 'remote-write 2.0', encode: (e) => transport.encode([e]).body.length, close: () => transport.close() };
}

/** The protobuf bytes of one sample before snappy, for 1.0 and 2.0. */
export function remoteWriteProtobufBytes(entry: QueuedSample): { readonly v1: number; readonly v2: number } {
  return {
    v1: new WriteRequestEncoder({ ...BENCH_LABELS, extraLabels: {} }).encodeTransient([entry]).length,
    v2: new RequestV2Encoder({ ...BENCH_LABELS, extraLabels: {}, countersStartMs: Date.now() - 3_600_000 }).encodeTransient([entry]).length,
  };
}

export function scaphRiemann(): Encoder {
  const transport = new RiemannTransport({
    hostname: BENCH_LABELS.instance, ttlS: RIEMANN_DEFAULTS.ttlS, tags: [], host: '127.0.0.1', port: 9, tls: null,
    maxEventsPerMsg: RIEMANN_DEFAULTS.maxEventsPerMsg, connectTimeoutMs: 1000, logger: silentLogger(),
  });
  return {
    name: 'riemann',
    encode: (e) => transport.encode([e]).frames.reduce((sum, f) => sum + f.bytes.length, 0),
    close: () => transport.close(),
  };
}

/**
 * GTS lines, like @senx/warp10's formatting: gzip off (the transport gzips bodies above 16 KiB inside
 * encode, which the peer does not do at all; the steady-state section measures it with the rest).
 */
export function scaphWarp10(): Encoder {
  const transport = new Warp10Transport({
    baseUrl: 'http://127.0.0.1:9', writeToken: 'bench', host: BENCH_LABELS.instance, logger: silentLogger(),
    gzipThresholdBytes: Number.POSITIVE_INFINITY,
  });
  return { name: 'warp10', encode: (e) => transport.encode([e]).body.length, close: () => transport.close() };
}

/** The resource both OTLP encoders write (what `scaph otlp` puts there on a host). */
export const BENCH_OTLP_RESOURCE: readonly OtlpAttribute[] = [
  ['service.name', 'scaph'],
  ['service.version', 'bench'],
  ['service.instance.id', BENCH_LABELS.instance],
  ['host.name', BENCH_LABELS.instance],
  ['host.id', '0123456789abcdef0123456789abcdef'],
];

/**
 * The ExportMetricsServiceRequest as the OTLP/HTTP transport encodes it with --compression none (the bytes it
 * POSTs), like the peer's serializer: gzip off (the steady-state section measures it with the rest).
 */
export function scaphOtlp(): Encoder {
  const transport = new OtlpTransport({
    protocol: 'http/protobuf', url: 'http://127.0.0.1:9/v1/metrics', grpc: null, compression: 'none', headers: {}, auth: { kind: 'none' },
    tls: undefined, timeoutMs: 1000, version: 'bench', wire: { naming: 'scaph', resource: BENCH_OTLP_RESOURCE, scopeVersion: 'bench' },
  });
  return { name: 'otlp', encode: (e) => transport.encode([e]).length, close: () => transport.close() };
}
