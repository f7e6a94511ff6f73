/**
 * A protocol-faithful Warp 10 ingress for tests: `POST /api/v0/update` and a minimal `GET /api/v0/fetch`.
 *
 * Behaves as Warp 10 does (docs/protocols.md, from Warp 10's ingress): 403 without a valid
 * `X-Warp10-Token`; a body with `Content-Type: application/gzip` is gunzipped, while a `Content-Encoding: gzip` header is ignored (so
 * such a body fails to parse, as on Warp 10); every line goes through the strict GTS grammar in
 * gts-parse.ts: a parse error answers 400 "Parse error at index N in '<line>'", a stray `%` answers 500.
 * Like Warp 10, a request is not atomic: lines before the failing one are stored. Error bodies are HTML.
 * Tests can inject statuses (500, 429…), stop the server and restart it on the same port.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { GtsParseError, parseGtsLine, percentDecode, PercentDecodeError, type GtsPoint } from './gts-parse.js';

export type { GtsPoint } from './gts-parse.js';

export interface Warp10ServerOptions {
  readonly writeTokens?: readonly string[];
  readonly readTokens?: readonly string[];
  /** 0 (default) = a free port. */
  readonly port?: number;
}

/** What the server saw of one update request (after any gunzip). */
export interface UpdateRequest {
  readonly status: number;
  readonly token: string | undefined;
  readonly contentType: string | undefined;
  readonly contentEncoding: string | undefined;
  readonly gzipped: boolean;
  readonly wireBytes: number;
  readonly text: string;
  readonly stored: number;
  readonly error: string | null;
}

interface Injection {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
}

export class Warp10TestServer {
  readonly points: GtsPoint[] = [];
  readonly requests: UpdateRequest[] = [];
  private readonly injections: Injection[] = [];
  private server: Server | null = null;
  private portNumber = 0;

  private constructor(
    private readonly writeTokens: ReadonlySet<string>,
    private readonly readTokens: ReadonlySet<string>,
  ) {}

  static async start(options: Warp10ServerOptions = {}): Promise<Warp10TestServer> {
    const s = new Warp10TestServer(new Set(options.writeTokens ?? ['write-token']), new Set(options.readTokens ?? ['read-token']));
    await s.listen(options.port ?? 0);
    return s;
  }

  get port(): number {
    return this.portNumber;
  }

  get url(): string {
    return `http://127.0.0.1:${this.portNumber}`;
  }

  get running(): boolean {
    return this.server !== null;
  }

  /** The next `count` update requests get `status` (after the token check, before parsing: nothing stored). */
  inject(status: number, count = 1, headers: Readonly<Record<string, string>> = {}): void {
    for (let i = 0; i < count; i++) this.injections.push({ status, headers });
  }

  /** Points of one series (exact class, and every given label equal), in arrival order. */
  series(className: string, labels: Readonly<Record<string, string>> = {}): GtsPoint[] {
    return this.points.filter((p) => p.className === className && Object.entries(labels).every(([k, v]) => p.labels[k] === v));
  }

  /** Stops listening and drops open connections (an outage); data is kept. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** Listens again on the same port. */
  async restart(): Promise<void> {
    if (this.server) return;
    await this.listen(this.portNumber);
  }

  private async listen(port: number): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.portNumber = (server.address() as AddressInfo).port;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'POST' && url.pathname === '/api/v0/update') return this.update(req, body, res);
    if (req.method === 'GET' && url.pathname === '/api/v0/fetch') return this.fetch(req, url, res);
    reply(res, 404, 'Not Found');
  }

  private update(req: IncomingMessage, wire: Buffer, res: ServerResponse): void {
    const token = headerOf(req, 'x-warp10-token');
    const contentType = headerOf(req, 'content-type');
    const contentEncoding = headerOf(req, 'content-encoding');
    const gzipped = (contentType ?? '').toLowerCase().startsWith('application/gzip');
    let injectionHeaders: Readonly<Record<string, string>> = {};
    const record = (status: number, text: string, stored: number, error: string | null): void => {
      this.requests.push({ status, token, contentType, contentEncoding, gzipped, wireBytes: wire.length, text, stored, error });
      reply(res, status, error ?? '', injectionHeaders);
    };
    if (token === undefined || !this.writeTokens.has(token)) return record(403, '', 0, 'Invalid token.');
    const injection = this.injections.shift();
    if (injection) {
      injectionHeaders = injection.headers;
      return record(injection.status, '', 0, `Injected HTTP ${injection.status}`);
    }
    let text: string;
    try {
      text = (gzipped ? gunzipSync(wire) : wire).toString('utf8');
    } catch (err) {
      return record(500, '', 0, `Not in GZIP format: ${(err as Error).message}`);
    }
    const { stored, status, error } = this.ingest(text);
    record(status, text, stored, error);
  }

  /** Stores lines until the first bad one (Warp 10 is not atomic either). */
  private ingest(text: string): { stored: number; status: number; error: string | null } {
    const nowUs = Date.now() * 1000;
    let previous: GtsPoint | null = null;
    let stored = 0;
    for (const rawLine of text.split('\n')) {
      const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
      if (line === '' || line.startsWith('#')) continue;
      try {
        previous = parseGtsLine(line, previous, nowUs);
      } catch (err) {
        if (err instanceof GtsParseError) return { stored, status: 400, error: err.message };
        if (err instanceof PercentDecodeError) return { stored, status: 500, error: err.message };
        throw err;
      }
      this.points.push(previous);
      stored++;
    }
    return { stored, status: 200, error: null };
  }

  /** Minimal fetch: `selector=class{k=v,…}` exact match, answered in GTS input format, oldest first. */
  private fetch(req: IncomingMessage, url: URL, res: ServerResponse): void {
    const token = headerOf(req, 'x-warp10-token') ?? url.searchParams.get('token') ?? undefined;
    if (token === undefined || !this.readTokens.has(token)) return reply(res, 403, 'Invalid token.');
    const selector = url.searchParams.get('selector') ?? '';
    const brace = selector.indexOf('{');
    const className = percentDecode(brace === -1 ? selector : selector.slice(0, brace));
    const labels: Record<string, string> = {};
    if (brace !== -1) {
      for (const pair of selector.slice(brace + 1, selector.lastIndexOf('}')).split(',')) {
        const eq = pair.indexOf('=');
        if (eq > 0) labels[percentDecode(pair.slice(0, eq))] = percentDecode(pair.slice(eq + 1));
      }
    }
    const lines = this.series(className, labels)
      .slice()
      .sort((a, b) => a.timestampUs - b.timestampUs)
      .map((p) => `${p.timestampUs}// ${encodeURIComponent(p.className)}{${encodePairs(p.labels)}} ${p.raw}`);
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=UTF-8' });
    res.end(lines.join('\n') + (lines.length > 0 ? '\n' : ''));
  }
}

function encodePairs(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join(',');
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Jetty-style HTML error page, as Warp 10 sends; 200 has an empty body. */
function reply(res: ServerResponse, status: number, message: string, headers: Readonly<Record<string, string>> = {}): void {
  if (status === 200) {
    res.writeHead(200, headers);
    res.end();
    return;
  }
  const html = `<html>\n<head>\n<title>Error ${status} ${escapeHtml(message)}</title>\n</head>\n<body><h2>HTTP ERROR ${status} ${escapeHtml(message)}</h2>\n</body>\n</html>\n`;
  res.writeHead(status, { 'Content-Type': 'text/html;charset=iso-8859-1', ...headers });
  res.end(html);
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
