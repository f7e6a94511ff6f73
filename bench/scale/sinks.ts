/**
 * Backends for the scale section's Riemann and Warp 10 traffic that only count what they take. The test
 * servers (test/support/servers) decode and keep every event and line: at 10,000 processes a run sends
 * ~50,000 events a step to each, which they would hold by the million, in the bench's own process, beside
 * the agent it measures. These answer as the real servers do, so the agent's transports and the I/O floor
 * work unchanged:
 * - Riemann: a TCP server reading length-prefixed frames (4-byte big-endian length, then a Msg) and
 *   answering each with Msg{ok: true}, in order (the protocol: docs/protocols.md);
 * - Warp 10: POST /api/v0/update with a known X-Warp10-Token is answered 200 once its body is read, a
 *   wrong token 403 ("Invalid token."), anything else 404.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/** A whole Riemann frame of Msg{ok: true}: length 2, then field 2 (ok) = 1. */
const OK_FRAME = Buffer.from([0, 0, 0, 2, 0x10, 0x01]);
const HEADER_BYTES = 4;

export class RiemannSink {
  /** Msgs (frames) taken and acknowledged. */
  frames = 0;
  bytes = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: Server) {}

  static async start(): Promise<RiemannSink> {
    const server = createTcpServer();
    const sink = new RiemannSink(server);
    server.on('connection', (socket) => sink.accept(socket));
    await listen(server);
    return sink;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Counts the frames of the stream without keeping them: only the rest of the current frame and a partial header are tracked. */
  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let header = Buffer.alloc(0);
    let left = 0;
    socket.on('data', (chunk: Buffer) => {
      this.bytes += chunk.length;
      let at = 0;
      let acks = 0;
      while (at < chunk.length) {
        if (left > 0) {
          const take = Math.min(left, chunk.length - at);
          left -= take;
          at += take;
          if (left === 0) acks++;
          continue;
        }
        const need = HEADER_BYTES - header.length;
        header = Buffer.concat([header, chunk.subarray(at, at + need)]);
        at += Math.min(need, chunk.length - at);
        if (header.length < HEADER_BYTES) break;
        left = header.readUInt32BE(0);
        header = Buffer.alloc(0);
        if (left === 0) acks++;
      }
      if (acks > 0) {
        this.frames += acks;
        socket.write(acks === 1 ? OK_FRAME : Buffer.concat(Array.from({ length: acks }, () => OK_FRAME)));
      }
    });
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export class Warp10Sink {
  /** Update requests answered 200. */
  updates = 0;
  bytes = 0;

  private constructor(
    private readonly server: HttpServer,
    readonly token: string,
  ) {}

  static async start(token: string): Promise<Warp10Sink> {
    const server = createHttpServer();
    const sink = new Warp10Sink(server, token);
    server.on('request', (req, res) => {
      req.on('data', (chunk: Buffer) => (sink.bytes += chunk.length));
      req.on('end', () => {
        const ok = req.method === 'POST' && req.url === '/api/v0/update';
        const status = !ok ? 404 : req.headers['x-warp10-token'] === token ? 200 : 403;
        if (status === 200) sink.updates += 1;
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 403 ? 'Invalid token.' : '');
      });
    });
    await listen(server);
    return sink;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function listen(server: Server | HttpServer): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}
