import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './free-port.js';

export interface PromVectorItem {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

export interface RunningPrometheus {
  readonly url: string;
  /** Instant query; the result vector. */
  query(promql: string): Promise<PromVectorItem[]>;
  stop(): Promise<void>;
}

/** Starts Debian's prometheus on a free loopback port, scraping `target` (host:port) every second. */
export async function startScrapingPrometheus(target: string, metricsPath = '/metrics'): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'scaph-prom-'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      'scrape_configs:',
      '  - job_name: scaph',
      `    metrics_path: ${metricsPath}`,
      '    static_configs:',
      `      - targets: ["${target}"]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  const child: ChildProcess = spawn(
    'prometheus',
    [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(async () => ((await fetch(`${url}/-/ready`)).ok ? true : null), 30_000, 'prometheus to be ready');
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\nprometheus log:\n${log}`);
  }
  return {
    url,
    stop,
    async query(promql: string): Promise<PromVectorItem[]> {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await res.json()) as { status: string; data?: { result: PromVectorItem[] }; error?: string };
      if (body.status !== 'success' || !body.data) throw new Error(`query ${promql} failed: ${body.error ?? res.status}`);
      return body.data.result;
    },
  };
}
