import { startManagedServer, type ManagedServer } from './managed-server.js';

/** A real Pushgateway (Debian's prometheus-pushgateway), persisting nothing. */
export function startPushgateway(): Promise<ManagedServer> {
  return startManagedServer({
    name: 'pushgateway',
    binary: 'prometheus-pushgateway',
    binaryArgs: (port) => [`--web.listen-address=127.0.0.1:${port}`, '--persistence.file=', '--log.level=warn'],
    readyPath: '/-/ready',
    image: 'prom/pushgateway:v1.5.1',
    containerPort: 9091,
    containerDataDir: '/data',
    containerArgs: () => ['--persistence.file='],
  });
}

export interface PgMetric {
  readonly labels: Record<string, string>;
  readonly value: string;
}

export interface PgGroup {
  readonly labels: Record<string, string>;
  /** family name → its metrics */
  readonly families: Map<string, PgMetric[]>;
}

/** Every group the Pushgateway holds, from its /api/v1/metrics JSON API. */
export async function pushgatewayGroups(server: ManagedServer): Promise<PgGroup[]> {
  const res = await fetch(`${server.baseUrl}/api/v1/metrics`);
  const body = (await res.json()) as { status: string; data: Array<Record<string, unknown> & { labels: Record<string, string> }> };
  if (body.status !== 'success') throw new Error(`pushgateway api: ${JSON.stringify(body)}`);
  return body.data.map((g) => {
    const families = new Map<string, PgMetric[]>();
    for (const [key, v] of Object.entries(g)) {
      if (key === 'labels' || typeof v !== 'object' || v === null || !('metrics' in v)) continue;
      families.set(key, (v as { metrics: PgMetric[] }).metrics);
    }
    return { labels: g.labels, families };
  });
}
