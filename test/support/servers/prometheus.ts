import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startManagedServer, type ManagedServer } from './managed-server.js';

/** A real Prometheus with the remote-write receiver on (2.42 from Debian here). */
export function startPrometheus(): Promise<ManagedServer> {
  return startManagedServer({
    name: 'prometheus',
    binary: 'prometheus',
    async prepare(dataDir) {
      await writeFile(join(dataDir, 'prometheus.yml'), 'global:\n  scrape_interval: 15s\nscrape_configs: []\n');
    },
    binaryArgs: (port, dataDir) => [
      `--config.file=${join(dataDir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dataDir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-remote-write-receiver',
      '--log.level=warn',
    ],
    readyPath: '/-/ready',
    image: 'prom/prometheus:v2.53.0',
    containerPort: 9090,
    containerDataDir: '/data',
    containerArgs: (dataDir) => [
      `--config.file=${dataDir}/prometheus.yml`,
      `--storage.tsdb.path=${dataDir}/tsdb`,
      '--web.listen-address=0.0.0.0:9090',
      '--web.enable-remote-write-receiver',
    ],
  });
}

export interface PromPoint {
  readonly timestampMs: number;
  readonly value: number;
}

export interface PromSeries {
  readonly labels: Record<string, string>;
  readonly points: PromPoint[];
}

/** Raw stored samples of every series matching `selector` over the last `rangeS` seconds before `atMs`. */
export async function promRawSamples(server: ManagedServer, selector: string, atMs: number, rangeS: number): Promise<PromSeries[]> {
  const url = new URL('/api/v1/query', server.baseUrl);
  url.searchParams.set('query', `${selector}[${rangeS}s]`);
  url.searchParams.set('time', String(atMs / 1000));
  const res = await fetch(url);
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data: { resultType: string; result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> };
  };
  if (body.status !== 'success') throw new Error(`prometheus query failed: ${body.error}`);
  return body.data.result.map((r) => ({
    labels: r.metric,
    points: r.values.map(([t, v]) => ({ timestampMs: Math.round(t * 1000), value: Number(v) })),
  }));
}
