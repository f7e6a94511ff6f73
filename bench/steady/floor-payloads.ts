/**
 * Writes what the I/O floor sends: one sample of the steady section's procfs tree, read by scaph's sensor
 * and encoded by scaph's own encoders with the agent's settings, so the floor moves the agent's bytes.
 */
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/core/log.js';
import { MetricsView } from '../../src/core/metrics-view.js';
import type { QueuedSample } from '../../src/delivery/transport.js';
import { RIEMANN_DEFAULTS } from '../../src/exporters/riemann/transport.js';
import { RiemannWireEncoder } from '../../src/exporters/riemann/wire.js';
import { WriteRequestEncoder } from '../../src/exporters/remote-write/wire.js';
import { Warp10Transport } from '../../src/exporters/warp10/transport.js';
import { OtlpMetricsEncoder } from '../../src/exporters/otlp/wire.js';
import { GZIP_LEVEL } from '../../src/exporters/otlp/transport.js';
import { resourceAttributes } from '../../src/exporters/otlp/resource.js';
import { readMachineId } from '../../src/core/machine-id.js';
import { VERSION } from '../../src/core/version.js';
import { createSensor } from '../../src/sensors/factory.js';
import { estimateSensorOptions } from '../../test/support/fixtures/run-globals.js';
import { FLOOR_CONFIG_FILE, OTLP_FILE, REMOTE_WRITE_FILE, RIEMANN_FILE, WARP10_FILE, type FloorConfig } from './floor-config.js';

export interface FloorBackends {
  readonly remoteWriteUrl: string;
  readonly warp10BaseUrl: string;
  readonly warp10Token: string;
  readonly riemannPort: number;
  /** Absent: the floor sends no OTLP request (its agent has no OTLP exporter). */
  readonly otlpUrl?: string;
}

/** Writes floor.json and the payloads into `dir`; returns the config (for the log). */
export async function writeFloorPayloads(dir: string, procfsRoot: string, stepMs: number, b: FloorBackends): Promise<FloorConfig> {
  const host = hostname();
  const logger = silentLogger();
  const sensor = await createSensor(estimateSensorOptions(procfsRoot, host), logger);
  const sample = await sensor.read();
  await sensor.close?.();
  const entry: QueuedSample = { timestampMs: sample.timestampMs, startMs: sample.timestampMs - sample.intervalMs, metrics: new MetricsView().metrics(sample), vanished: [], endedProcesses: [] };

  writeFileSync(join(dir, REMOTE_WRITE_FILE), new WriteRequestEncoder({ job: 'scaph', instance: host, extraLabels: {} }).encode([entry]));
  const frames = new RiemannWireEncoder({ hostname: host, ttlS: RIEMANN_DEFAULTS.ttlS, tags: [] }, RIEMANN_DEFAULTS.maxEventsPerMsg).encode([entry]);
  writeFileSync(join(dir, RIEMANN_FILE), Buffer.concat(frames.map((f) => f.bytes)));
  const warp10 = new Warp10Transport({ baseUrl: b.warp10BaseUrl, writeToken: b.warp10Token, host, logger }).encode([entry]);
  writeFileSync(join(dir, WARP10_FILE), warp10.body);
  if (b.otlpUrl !== undefined) {
    const resource = resourceAttributes({}, { hostname: host, version: VERSION, machineId: readMachineId() });
    writeFileSync(join(dir, OTLP_FILE), new OtlpMetricsEncoder({ naming: 'scaph', resource, scopeVersion: VERSION }).encode([entry]));
  }

  const config: FloorConfig = {
    procfsRoot,
    stepMs,
    remoteWriteUrl: b.remoteWriteUrl,
    warp10Url: new URL('/api/v0/update', b.warp10BaseUrl).href,
    warp10Token: b.warp10Token,
    warp10Gzipped: warp10.gzipped,
    riemannPort: b.riemannPort,
    riemannFrames: frames.length,
    otlpUrl: b.otlpUrl ?? null,
    otlpGzipLevel: GZIP_LEVEL,
  };
  writeFileSync(join(dir, FLOOR_CONFIG_FILE), JSON.stringify(config));
  return config;
}
