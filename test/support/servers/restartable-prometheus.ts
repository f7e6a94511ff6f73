import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A free 127.0.0.1 port (bound then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A real Prometheus (remote-write receiver on) that a test can stop and start again on the same port and
 * TSDB, to play a backend outage. Data written before the stop survives it (WAL).
 */
export class RestartablePrometheus {
  readonly dir = mkdtempSync(join(tmpdir(), 'scaph-prom-'));
  private proc: ChildProcess | null = null;
  private stderr = '';

  private constructor(readonly port: number) {
    writeFileSync(join(this.dir, 'prometheus.yml'), 'global:\n  scrape_interval: 15s\nscrape_configs: []\n');
  }

  static async create(): Promise<RestartablePrometheus> {
    return new RestartablePrometheus(await freePort());
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.stderr = '';
    const proc = spawn('prometheus', [
      `--config.file=${join(this.dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(this.dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${this.port}`,
      '--web.enable-remote-write-receiver',
      '--log.level=warn',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.proc = proc;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`prometheus exited (${proc.exitCode}): ${this.stderr}`);
      try {
        if ((await fetch(`${this.baseUrl}/-/ready`)).ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`prometheus not ready after 30 s: ${this.stderr}`);
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    this.proc = null;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  }

  /** Raw stored points of `selector` over the last `rangeS` seconds: [timestampMs, value]. */
  async rawPoints(selector: string, rangeS: number): Promise<Array<[number, number]>> {
    const url = new URL('/api/v1/query', this.baseUrl);
    url.searchParams.set('query', `${selector}[${rangeS}s]`);
    const body = (await (await fetch(url)).json()) as { status: string; data: { result: Array<{ values: Array<[number, string]> }> } };
    if (body.status !== 'success') throw new Error(`query failed: ${JSON.stringify(body)}`);
    return body.data.result.flatMap((r) => r.values.map(([t, v]): [number, number] => [Math.round(t * 1000), Number(v)]));
  }
}
