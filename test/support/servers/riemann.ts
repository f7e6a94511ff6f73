/**
 * A protocol-faithful Riemann server for tests (docs/protocols.md, from Riemann's own transport): TCP or
 * TLS (TLS always asks for a client certificate signed by its CA, as Riemann does), 4-byte big-endian length + Msg in
 * both directions, one ack Msg per request Msg in order (ok=true, or ok=false + error when told to
 * fail), closes the connection without replying on malformed bytes, stores every event it accepts and
 * answers simple queries. It can be stopped and started again on the same port.
 */
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { decodeMsg, encodeFrame, FrameReader, type RiemannEvent, type RiemannMsg } from '../../../src/exporters/riemann/proto.js';

export interface RiemannServerTls {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

export interface RiemannServerOptions {
  /** null = plain TCP. */
  readonly tls?: RiemannServerTls | null;
  /** 0 = any free port on 127.0.0.1. */
  readonly port?: number;
}

/** Which metric field the event carried on the wire (what Riemann would read first). */
export type MetricField = 'metric_sint64' | 'metric_d' | 'metric_f' | null;

export interface StoredEvent extends RiemannEvent {
  readonly metricField: MetricField;
  /** metric_sint64, else metric_d, else metric_f, as the server reads it. */
  readonly metric: number | null;
  readonly receivedAtMs: number;
}

/** Given a request Msg carrying events, the error text to answer ok=false with, or null to accept it. */
export type RejectRule = (msg: RiemannMsg) => string | null;

export class FakeRiemannServer {
  /** Every event accepted, in arrival order. */
  readonly events: StoredEvent[] = [];
  /** Counters a test can assert on. */
  readonly counts = { connections: 0, messages: 0, acksOk: 0, acksFailed: 0, malformed: 0, tlsRejected: 0, queries: 0 };
  /** Error text per TLS handshake the server refused (e.g. no or unknown client certificate). */
  readonly tlsErrors: string[] = [];
  reject: RejectRule | null = null;
  /** Request ordinals (1 = first Msg this server got) at which it drops the connection without a reply or storing. */
  readonly hangUpAt = new Set<number>();
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private boundPort: number;

  private constructor(private readonly options: RiemannServerOptions) {
    this.boundPort = options.port ?? 0;
  }

  static async start(options: RiemannServerOptions = {}): Promise<FakeRiemannServer> {
    const s = new FakeRiemannServer(options);
    await s.listen();
    return s;
  }

  get port(): number {
    return this.boundPort;
  }

  get running(): boolean {
    return this.server !== null;
  }

  /** Starts listening again on the same port after stop(). */
  async restart(): Promise<void> {
    if (!this.server) await this.listen();
  }

  /** Stops listening and drops every open connection at once (like a killed server). */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Resolves once `predicate` holds for the stored events (polls), or rejects after timeoutMs. */
  async waitFor(predicate: (events: readonly StoredEvent[]) => boolean, timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!predicate(this.events)) {
      if (Date.now() > until) throw new Error(`fake Riemann: condition not met within ${timeoutMs} ms (${this.events.length} events stored)`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private async listen(): Promise<void> {
    const tls = this.options.tls ?? null;
    const server = tls
      ? createTlsServer({ ca: tls.ca, cert: tls.cert, key: tls.key, requestCert: true, rejectUnauthorized: true }, (s) => this.accept(s))
      : createTcpServer((s) => this.accept(s));
    if (tls) {
      server.on('tlsClientError', (err: Error) => {
        this.counts.tlsRejected += 1;
        this.tlsErrors.push(err.message);
      });
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.boundPort, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    if (address && typeof address === 'object') this.boundPort = address.port;
    this.server = server;
  }

  private accept(socket: Socket): void {
    this.counts.connections += 1;
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const reader = new FrameReader();
    socket.on('data', (chunk: Buffer) => {
      let bodies: Buffer[];
      try {
        bodies = reader.push(chunk);
        for (const body of bodies) {
          if (socket.destroyed) break;
          this.handle(socket, decodeMsg(body));
        }
      } catch {
        // Riemann closes the connection without a reply when it cannot decode a frame.
        this.counts.malformed += 1;
        socket.destroy();
      }
    });
  }

  private handle(socket: Socket, msg: RiemannMsg): void {
    this.counts.messages += 1;
    if (this.hangUpAt.has(this.counts.messages)) {
      socket.destroy();
      return;
    }
    if (msg.query) {
      this.counts.queries += 1;
      let events: RiemannEvent[];
      try {
        events = this.query(msg.query.string ?? '');
      } catch (err) {
        socket.write(encodeFrame({ ok: false, error: (err as Error).message }));
        return;
      }
      socket.write(encodeFrame({ ok: true, events }));
      return;
    }
    const error = this.reject?.(msg) ?? null;
    if (error !== null) {
      this.counts.acksFailed += 1;
      socket.write(encodeFrame({ ok: false, error }));
      return;
    }
    const now = Date.now();
    for (const e of msg.events ?? []) this.events.push(stored(e, now));
    this.counts.acksOk += 1;
    socket.write(encodeFrame({ ok: true }));
  }

  /** The latest event per (host, service) matching a query (see matchQuery), as Riemann's index answers. */
  private query(text: string): RiemannEvent[] {
    const match = compileQuery(text);
    const index = new Map<string, StoredEvent>();
    for (const e of this.events) index.set(`${e.host ?? ''}\u0000${e.service ?? ''}`, e);
    return [...index.values()].filter(match).map(({ metricField: _f, metric: _m, receivedAtMs: _r, ...e }) => e);
  }
}

function stored(e: RiemannEvent, receivedAtMs: number): StoredEvent {
  const metricField: MetricField =
    e.metricSint64 !== undefined ? 'metric_sint64' : e.metricD !== undefined ? 'metric_d' : e.metricF !== undefined ? 'metric_f' : null;
  const metric = e.metricSint64 ?? e.metricD ?? e.metricF ?? null;
  return { ...e, metricField, metric, receivedAtMs };
}

const CLAUSE = /^\s*(host|service|state|description)\s*(=~|=)\s*"((?:[^"\\]|\\.)*)"\s*$/;

/**
 * A small subset of Riemann's query language, enough for tests and riemann-client: `true`, and
 * clauses `field = "v"` / `field =~ "pat%tern"` (% = any run of characters) joined by `and`.
 */
export function compileQuery(text: string): (e: RiemannEvent) => boolean {
  if (text.trim() === 'true') return () => true;
  const tests = text.split(/\band\b/).map((clause) => {
    const m = CLAUSE.exec(clause);
    if (!m) throw new Error(`fake Riemann: unsupported query clause "${clause.trim()}"`);
    const field = m[1] as 'host' | 'service' | 'state' | 'description';
    const value = (m[3] ?? '').replace(/\\(.)/g, '$1');
    if (m[2] === '=') return (e: RiemannEvent) => e[field] === value;
    const re = new RegExp(`^${value.split('%').map(escapeRegExp).join('.*')}$`);
    return (e: RiemannEvent) => re.test(e[field] ?? '');
  });
  return (e) => tests.every((t) => t(e));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
