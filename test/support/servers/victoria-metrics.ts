import { startManagedServer, type ManagedServer } from './managed-server.js';

/** A real single-node VictoriaMetrics. */
export function startVictoriaMetrics(): Promise<ManagedServer> {
  return startManagedServer({
    name: 'victoria-metrics',
    binary: 'victoria-metrics',
    binaryArgs: (port, dataDir) => [`-httpListenAddr=127.0.0.1:${port}`, `-storageDataPath=${dataDir}`, '-loggerLevel=WARN'],
    readyPath: '/health',
    image: 'victoriametrics/victoria-metrics:v1.102.0',
    containerPort: 8428,
    containerDataDir: '/data',
    containerArgs: (dataDir) => ['-httpListenAddr=:8428', `-storageDataPath=${dataDir}`],
  });
}

export interface VmSeries {
  readonly labels: Record<string, string>;
  readonly points: Array<{ timestampMs: number; value: number }>;
}

/**
 * Raw samples of the series matching `selector` (VM's /api/v1/export), after flushing its buffers;
 * staleness markers as NaN.
 * VictoriaMetrics makes freshly ingested rows searchable asynchronously: when `minPoints` is given,
 * poll (up to 10 s) until the first series has that many points, then return what is there.
 */
export async function vmExport(server: ManagedServer, selector: string, minPoints = 0): Promise<VmSeries[]> {
  const end = Date.now() + 10_000;
  for (;;) {
    const rows = await vmExportOnce(server, selector);
    if ((rows[0]?.points.length ?? 0) >= minPoints || Date.now() > end) return rows;
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function vmExportOnce(server: ManagedServer, selector: string): Promise<VmSeries[]> {
  const res = await flushedQuery(server, '/api/v1/export', selector, 'export');
  const text = await res.text();
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => {
      // A staleness marker (a series' end) is stored and exported as null: it comes back as NaN.
      const row = JSON.parse(line) as { metric: Record<string, string>; values: Array<number | null>; timestamps: number[] };
      const points = row.timestamps.map((t, i) => ({ timestampMs: t, value: row.values[i] === null ? Number.NaN : Number(row.values[i]) }));
      points.sort((a, b) => a.timestampMs - b.timestampMs);
      return { labels: row.metric, points };
    });
}

/** VictoriaMetrics' default -search.maxSeries: /api/v1/series answers at most this many. */
const VM_MAX_SERIES = 30_000;

/**
 * How many distinct series match `selector` (VM's /api/v1/series over all time), after flushing its
 * buffers. Freshly ingested series become searchable asynchronously: poll (up to 10 s) until two reads a
 * second apart agree.
 */
export async function vmSeriesCount(server: ManagedServer, selector: string): Promise<number> {
  const end = Date.now() + 10_000;
  let last = -1;
  for (;;) {
    const count = await vmSeriesCountOnce(server, selector);
    if ((count === last && count > 0) || Date.now() > end) return count;
    last = count;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Whether any series matching `selector` is searchable yet (after flushing VM's buffers). */
export async function vmHasSeries(server: ManagedServer, selector: string): Promise<boolean> {
  return (await vmSeriesCountOnce(server, selector)) > 0;
}

async function vmSeriesCountOnce(server: ManagedServer, selector: string): Promise<number> {
  const res = await flushedQuery(server, '/api/v1/series', selector, 'series');
  const body = (await res.json()) as { data: unknown[] };
  if (body.data.length >= VM_MAX_SERIES) throw new Error(`victoria-metrics: ${selector} matches ${VM_MAX_SERIES} series or more, its -search.maxSeries: count with a narrower selector`);
  return body.data.length;
}

/** Flushes VictoriaMetrics' buffers, then asks `path` for every point of `selector` (all time); a non-2xx answer throws. */
async function flushedQuery(server: ManagedServer, path: string, selector: string, what: string): Promise<Response> {
  await fetch(new URL('/internal/force_flush', server.baseUrl));
  const url = new URL(path, server.baseUrl);
  url.searchParams.set('match[]', selector);
  url.searchParams.set('start', '0');
  url.searchParams.set('end', String(Math.ceil(Date.now() / 1000) + 3600));
  const res = await fetch(url);
  if (!res.ok) throw new Error(`victoria-metrics ${what} failed: HTTP ${res.status} ${await res.text()}`);
  return res;
}
