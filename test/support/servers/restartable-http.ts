/**
 * An HTTP server on 127.0.0.1 that a test can stop and start again on the same port (a backend outage),
 * handing each request with its whole body to the test server built on it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type BodyHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

export class RestartableHttpServer {
  private server: Server | null = null;
  private portNumber = 0;

  constructor(private readonly onRequest: BodyHandler) {}

  /** The port it listens on (kept across a stop, for restart). */
  get port(): number {
    return this.portNumber;
  }

  /** Listens on `port` (0: a free one). */
  async listen(port = 0): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.onRequest(req, res, Buffer.concat(chunks)));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.portNumber = (server.address() as AddressInfo).port;
  }

  /** Closes it and every open connection (a client sees the backend gone). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Listens again on the same port, after stop. */
  async restart(): Promise<void> {
    if (!this.server) await this.listen(this.portNumber);
  }
}
