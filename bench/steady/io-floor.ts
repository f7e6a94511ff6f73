/**
 * The steady-state baseline: the least a Node.js agent must do per step for the same job as `scaph run`
 * in the steady section, and nothing more. Started the same way as the agent (same node binary, same
 * flags), against the same procfs tree and the same four backends, and measured the same way.
 *
 * Each step it
 * - lists the tree and reads every <pid>/stat through an fd kept open (scaph's own read path), without
 *   parsing;
 * - snappy-compresses scaph's remote-write protobuf of that tree (the protocol requires it) and POSTs it;
 * - POSTs scaph's Warp 10 body (already gzipped, as scaph sends it) and writes scaph's Riemann frames,
 *   waiting for one ack per frame;
 * - gzips scaph's OTLP request at the agent's level (the agent's default compression: optional in OTLP,
 *   but what the agent sends) and POSTs it.
 * The bytes are encoded once, before the first step, by floor-payloads.ts. So the figure is the cost of the I/O
 * and the protocols' mandatory compression alone: no parsing, power model, metrics or encoding.
 *
 *   node <flags> io-floor.js PAYLOAD_DIR
 * PAYLOAD_DIR/floor.json names the tree, step, backends and payload files (see FloorConfig). On SIGTERM it
 * writes `io-floor: N steps completed` to stderr and exits 0; a backend's non-2xx answer ends it with exit 1.
 */
import { readFileSync, openSync, readSync, readdirSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import snappy from 'snappy';
import { FrameReader } from '../../src/exporters/riemann/proto.js';
import { FLOOR_CONFIG_FILE, OTLP_FILE, REMOTE_WRITE_FILE, RIEMANN_FILE, WARP10_FILE, type FloorConfig } from './floor-config.js';

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function post(url: string, body: Buffer, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Counts the Msgs Riemann answers on the connection; `expect` resolves once n more have come. */
function riemannAcks(socket: Socket): { expect: (n: number) => Promise<void> } {
  const reader = new FrameReader();
  let waiting = 0;
  let wake: (() => void) | null = null;
  socket.on('data', (chunk: Buffer) => {
    waiting -= reader.push(chunk).length;
    if (waiting === 0 && wake) {
      const w = wake;
      wake = null;
      w();
    }
  });
  return {
    expect: (n) =>
      new Promise((resolve) => {
        waiting += n;
        wake = resolve;
      }),
  };
}

async function main(dir: string): Promise<void> {
  const config = JSON.parse(readFileSync(join(dir, FLOOR_CONFIG_FILE), 'utf8')) as FloorConfig;
  const writeRequest = readFileSync(join(dir, REMOTE_WRITE_FILE));
  const warp10Body = readFileSync(join(dir, WARP10_FILE));
  const riemannBytes = readFileSync(join(dir, RIEMANN_FILE));
  const otlpRequest = config.otlpUrl === null ? null : readFileSync(join(dir, OTLP_FILE));
  const otlpHeaders = { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' };
  const socket = connect(config.riemannPort, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.setNoDelay(true);
  const acks = riemannAcks(socket);
  const fds = new Map<string, number>();
  const buf = Buffer.allocUnsafe(4096);
  const remoteWriteHeaders = { 'content-encoding': 'snappy', 'content-type': 'application/x-protobuf', 'x-prometheus-remote-write-version': '0.1.0' };
  const warp10Headers = { 'x-warp10-token': config.warp10Token, 'content-type': config.warp10Gzipped ? 'application/gzip' : 'text/plain; charset=utf-8' };

  let completed = 0;
  const step = async (): Promise<void> => {
    for (const name of readdirSync(config.procfsRoot)) {
      const c = name.charCodeAt(0);
      if (c < 0x30 || c > 0x39) continue;
      let fd = fds.get(name);
      if (fd === undefined) {
        fd = openSync(`${config.procfsRoot}/${name}/stat`, 'r');
        fds.set(name, fd);
      }
      readSync(fd, buf, 0, buf.length, 0);
    }
    const riemann = acks.expect(config.riemannFrames);
    socket.write(riemannBytes);
    const statuses = await Promise.all([
      post(config.remoteWriteUrl, snappy.compressSync(writeRequest, { copyOutputData: true }), remoteWriteHeaders),
      post(config.warp10Url, warp10Body, warp10Headers),
      ...(config.otlpUrl === null || otlpRequest === null ? [] : [post(config.otlpUrl, gzipSync(otlpRequest, { level: config.otlpGzipLevel }), otlpHeaders)]),
      riemann.then(() => 200),
    ]);
    const failed = statuses.find((s) => s < 200 || s >= 300);
    if (failed !== undefined) throw new Error(`a backend answered HTTP ${failed}`);
    completed += 1;
  };
  // Told on stop, so the bench can check the floor did its steps (nothing is written while measuring).
  process.on('SIGTERM', () => {
    process.stderr.write(`io-floor: ${completed} steps completed\n`);
    process.exit(0);
  });
  await step();
  setInterval(() => {
    step().catch((err: unknown) => {
      process.stderr.write(`io-floor: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
  }, config.stepMs);
}

const dir = process.argv[2];
if (dir === undefined) {
  process.stderr.write('usage: io-floor.js PAYLOAD_DIR\n');
  process.exit(2);
}
main(dir).catch((err: unknown) => {
  process.stderr.write(`io-floor: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
