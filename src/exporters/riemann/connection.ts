/**
 * One TCP or TLS connection to a Riemann server, opened on demand and kept between sends. Requests are
 * pipelined: every frame written gets exactly one reply Msg, matched first-in first-out. When anything
 * goes wrong (closed, reset, malformed reply, abort) the socket is destroyed and every waiting request
 * fails, so a late reply can never be matched to the wrong request; the next request reconnects.
 */
import { isIP, connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { TlsOptions } from '../../net/tls.js';
import { decodeMsg, FrameReader, MalformedFrameError, type RiemannMsg } from './proto.js';

export interface RiemannEndpoint {
  readonly host: string;
  readonly port: number;
  /** null = plain TCP. */
  readonly tls: TlsOptions | null;
  readonly connectTimeoutMs: number;
}

/** The connection ended before every request was answered. `cause` holds the socket error, if any. */
export class RiemannConnectionLostError extends Error {
  constructor(
    message: string,
    options?: { cause?: unknown },
    /**
     * A TLS connection closed by the server before its first reply. Servers that check the client
     * certificate after the handshake (node:tls, some proxies) close without a TLS alert: the closest
     * hint we get that our client certificate was refused.
     */
    readonly closedBeforeFirstTlsReply = false,
  ) {
    super(message, options);
    this.name = 'RiemannConnectionLostError';
  }
}

export class RiemannConnectTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(endpoint: RiemannEndpoint) {
    super(`connecting to ${endpoint.host}:${endpoint.port} took longer than ${endpoint.connectTimeoutMs} ms`);
    this.name = 'RiemannConnectTimeoutError';
  }
}

interface Waiter {
  resolve(msg: RiemannMsg): void;
  reject(err: Error): void;
}

export class RiemannConnection {
  private socket: Socket | null = null;
  private waiters: Waiter[] = [];
  /** How many connections were established (tests and logs). */
  connects = 0;

  constructor(readonly endpoint: RiemannEndpoint) {}

  /**
   * Writes the frames back to back and calls `onReply(i, msg)` for each reply, in order. Resolves when
   * all are answered; rejects (after destroying the socket) when the connection fails or `signal` aborts.
   */
  async request(frames: readonly Buffer[], signal: AbortSignal, onReply: (index: number, msg: RiemannMsg) => void): Promise<void> {
    signal.throwIfAborted();
    const socket = this.socket ?? (await this.connect(signal));
    const onAbort = (): void => this.fail(socket, signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const replies = frames.map(() => new Promise<RiemannMsg>((resolve, reject) => this.waiters.push({ resolve, reject })));
      // All replies fail together; only the one awaited reports, the others must not go unhandled.
      for (const r of replies) r.catch(() => undefined);
      for (const frame of frames) socket.write(frame);
      for (let i = 0; i < replies.length; i++) onReply(i, await (replies[i] as Promise<RiemannMsg>));
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Closes the connection; waiting requests fail. */
  close(): void {
    if (this.socket) this.fail(this.socket, new RiemannConnectionLostError('connection closed by scaph'));
  }

  private connect(signal: AbortSignal): Promise<Socket> {
    const e = this.endpoint;
    const socket = e.tls
      ? tlsConnect({
          host: e.host,
          port: e.port,
          ...(e.tls.ca === undefined ? {} : { ca: e.tls.ca }),
          ...(e.tls.cert === undefined ? {} : { cert: e.tls.cert }),
          ...(e.tls.key === undefined ? {} : { key: e.tls.key }),
          rejectUnauthorized: e.tls.rejectUnauthorized,
          // SNI takes names only; for an IP address node checks the certificate's IP entries against host.
          ...(isIP(e.host) ? {} : { servername: e.host }),
        })
      : tcpConnect({ host: e.host, port: e.port });
    return new Promise<Socket>((resolve, reject) => {
      const timer = setTimeout(() => socket.destroy(new RiemannConnectTimeoutError(e)), e.connectTimeoutMs);
      timer.unref();
      const onAbort = (): void => void socket.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      const settle = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        socket.off('error', onError);
        socket.off(e.tls ? 'secureConnect' : 'connect', onConnect);
      };
      const onError = (err: Error): void => {
        settle();
        socket.on('error', () => undefined);
        socket.destroy();
        reject(err);
      };
      const onConnect = (): void => {
        settle();
        this.adopt(socket);
        resolve(socket);
      };
      socket.once('error', onError);
      socket.once(e.tls ? 'secureConnect' : 'connect', onConnect);
    });
  }

  /** Wires a connected socket: replies go to the oldest waiter; any failure fails them all. */
  private adopt(socket: Socket): void {
    this.connects += 1;
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    const reader = new FrameReader();
    let replies = 0;
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const body of reader.push(chunk)) {
          const msg = decodeMsg(body);
          replies += 1;
          const waiter = this.waiters.shift();
          if (!waiter) throw new MalformedFrameError('the server sent a reply nobody asked for');
          waiter.resolve(msg);
        }
      } catch (err) {
        this.fail(socket, new RiemannConnectionLostError(`malformed reply from the Riemann server: ${(err as Error).message}`, { cause: err }));
      }
    });
    socket.on('error', (err: Error) => this.fail(socket, err));
    socket.on('close', () => {
      const lost = new RiemannConnectionLostError(
        'the Riemann server closed the connection before answering',
        undefined,
        this.endpoint.tls !== null && replies === 0,
      );
      this.fail(socket, lost);
    });
  }

  private fail(socket: Socket, err: Error): void {
    socket.destroy();
    // A socket already failed (its close event comes after its error) must not fail the next one's requests.
    if (this.socket !== socket) return;
    this.socket = null;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(err);
  }
}
