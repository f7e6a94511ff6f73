/**
 * A fake grid carbon intensity provider on 127.0.0.1 (a free port), answering as the two APIs scaph reads
 * (src/carbon/providers.ts names their documentation): Electricity Maps' `GET
 * /v3/carbon-intensity/latest?zone=…` (token in `auth-token`) and the GB Carbon Intensity API's `GET
 * /intensity`. Tests set the value it gives and make it misbehave: down (connections refused: the server
 * closed), slow (never answers), a status (401 without the right token, 500, …), garbage (not JSON), a
 * zone it does not know (Electricity Maps' 400 with an error message), or stale (a period hours ago).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type ProviderMode = 'ok' | 'slow' | 'garbage' | 'unknown-zone' | 'stale' | { readonly status: number };

export interface ProviderRequestSeen {
  readonly path: string;
  readonly token: string | undefined;
  readonly atMs: number;
}

export interface FakeCarbonProvider {
  readonly url: string;
  readonly port: number;
  /** gCO2e/kWh it answers with in mode ok. */
  value: number;
  mode: ProviderMode;
  /** Zones Electricity Maps knows (others: 400). */
  zones: Set<string>;
  /** The token it accepts (null: any, or none). */
  token: string | null;
  readonly requests: ProviderRequestSeen[];
  /** Stops listening and drops every connection: requests are refused (restart() listens again on the same port). */
  down(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startFakeCarbonProvider(options: { value?: number; token?: string | null; zones?: readonly string[] } = {}): Promise<FakeCarbonProvider> {
  const sockets = new Set<Socket>();
  const fake = {
    value: options.value ?? 100,
    mode: 'ok' as ProviderMode,
    zones: new Set(options.zones ?? ['FR', 'DE', 'GB', 'DK-DK1']),
    token: options.token ?? null,
    requests: [] as ProviderRequestSeen[],
  };
  const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const token = req.headers['auth-token'];
    fake.requests.push({ path: `${url.pathname}${url.search}`, token: typeof token === 'string' ? token : undefined, atMs: Date.now() });
    const mode = fake.mode;
    if (mode === 'slow') return; // never answers: the client's deadline ends it
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (typeof mode === 'object') return json(mode.status, { error: `fake provider answers ${mode.status}` });
    if (mode === 'garbage') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('<html>upstream error</html>');
      return;
    }
    const periodMs = mode === 'stale' ? Date.now() - 24 * 3_600_000 : Date.now() - 60_000;
    if (url.pathname === '/v3/carbon-intensity/latest') {
      if (fake.token !== null && token !== fake.token) return json(401, { error: 'Invalid auth-token' });
      const zone = url.searchParams.get('zone') ?? '';
      if (mode === 'unknown-zone' || !fake.zones.has(zone)) return json(400, { error: `Zone '${zone}' does not exist.` });
      return json(200, {
        zone,
        carbonIntensity: fake.value,
        datetime: new Date(periodMs).toISOString(),
        updatedAt: new Date().toISOString(),
        emissionFactorType: 'lifecycle',
        isEstimated: false,
      });
    }
    if (url.pathname === '/intensity') {
      const from = new Date(periodMs).toISOString().replace(/:\d\d\.\d+Z$/, 'Z');
      return json(200, { data: [{ from, to: from, intensity: { forecast: fake.value + 1, actual: fake.value, index: 'moderate' } }] });
    }
    json(404, { error: 'not found' });
  };
  let server: Server = createServer(handler);
  const listen = async (port: number): Promise<number> => {
    server.on('connection', (s: Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return (server.address() as AddressInfo).port;
  };
  const port = await listen(0);
  const stop = async (): Promise<void> => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return Object.assign(fake, {
    url: `http://127.0.0.1:${port}`,
    port,
    down: stop,
    restart: async () => {
      server = createServer(handler);
      await listen(port);
    },
    close: async () => {
      if (server.listening) await stop();
    },
  });
}
