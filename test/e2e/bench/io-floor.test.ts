import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import snappy from 'snappy';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFloorPayloads } from '../../../bench/steady/floor-payloads.js';
import { OTLP_FILE, REMOTE_WRITE_FILE, type FloorConfig } from '../../../bench/steady/floor-config.js';
import { decodeExportRequest } from '../../support/servers/otlp-proto.js';
import { ProcfsTree, generateProcesses } from '../../support/fixtures/procfs-tree.js';
import { FakeRiemannServer } from '../../support/servers/riemann.js';
import { startRecordingHttpServer, type RecordingHttpServer } from '../../support/servers/recording-http.js';
import { Warp10TestServer } from '../../support/servers/warp10.js';
import { OtlpReceiver } from '../../support/servers/otlp-receiver.js';
import { waitFor } from '../../support/servers/free-port.js';
import { packageRoot } from '../../../src/core/package-file.js';

// The bench's baseline (bench/steady/io-floor.ts) runs from dist/, built by the test's pretest step.
const FLOOR = join(packageRoot(), 'dist', 'bench', 'steady', 'io-floor.js');

describe('the steady bench I/O floor', () => {
  let tree: ProcfsTree;
  let dir: string;
  let riemann: FakeRiemannServer;
  let warp10: Warp10TestServer;
  let sink: RecordingHttpServer;
  let otlp: OtlpReceiver;

  beforeEach(async () => {
    tree = ProcfsTree.create({ processes: generateProcesses(30), cpuCount: 2 });
    dir = mkdtempSync(join(tmpdir(), 'scaph-io-floor-'));
    [riemann, warp10, sink, otlp] = await Promise.all([
      FakeRiemannServer.start(),
      Warp10TestServer.start({ writeTokens: ['right'] }),
      startRecordingHttpServer(),
      OtlpReceiver.start({ http: true, grpc: false }),
    ]);
  });
  afterEach(async () => {
    sink.server.close();
    await Promise.all([riemann.stop(), warp10.stop(), otlp.stop()]);
    tree.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const payloads = (token: string): Promise<FloorConfig> =>
    writeFloorPayloads(dir, tree.root, 300, { remoteWriteUrl: `http://127.0.0.1:${sink.port}/api/v1/write`, warp10BaseUrl: warp10.url, warp10Token: token, riemannPort: riemann.port, otlpUrl: otlp.httpUrl });

  it("sends the agent's bytes to all four backends every step and reports its steps on SIGTERM", async () => {
    const config = await payloads('right');
    expect(config.riemannFrames).toBeGreaterThan(0);
    const floor = spawn(process.execPath, [FLOOR, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    floor.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    // Three steps' requests in (a loaded machine may take seconds to start it), then the stop.
    await waitFor(async () => (sink.requests.length >= 3 ? true : null), 30_000, 'three steps of the I/O floor', 50);
    const closed = once(floor, 'close');
    floor.kill('SIGTERM');
    const [code] = (await closed) as [number | null];
    expect(code, stderr).toBe(0);
    const steps = Number(/io-floor: (\d+) steps completed/.exec(stderr)?.[1]);
    expect(steps).toBeGreaterThanOrEqual(3);
    // Each completed step reached each backend: the same remote-write request, snappy-compressed each time …
    expect(sink.requests.length).toBeGreaterThanOrEqual(steps);
    const request = readFileSync(join(dir, REMOTE_WRITE_FILE));
    for (const { body } of sink.requests) expect(Buffer.from(snappy.uncompressSync(body) as Buffer).equals(request)).toBe(true);
    // … the host series on Riemann and Warp 10 once per step.
    expect(riemann.events.filter((e) => e.service === 'scaph_host_power_microwatts').length).toBeGreaterThanOrEqual(steps);
    expect(warp10.series('scaph_host_power_microwatts').length).toBeGreaterThanOrEqual(steps);
    // … and the same OTLP request, gzipped each time, decoded by the receiver as the agent's.
    const sent = decodeExportRequest(readFileSync(join(dir, OTLP_FILE)));
    expect(sent.points.length).toBeGreaterThan(5 * 30);
    expect(otlp.requests.filter((r) => r.accepted && r.headers['content-encoding'] === 'gzip').length).toBeGreaterThanOrEqual(steps);
    expect(otlp.requests[0]?.request?.points).toEqual(sent.points);
  });

  it('exits 1 with the status when a backend refuses, so the bench cannot time a floor that sends nothing', async () => {
    await payloads('wrong');
    const floor = spawn(process.execPath, [FLOOR, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    floor.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const [code] = (await once(floor, 'close')) as [number | null];
    expect(code).toBe(1);
    expect(stderr.trim()).toBe('io-floor: a backend answered HTTP 403');
  });
});
