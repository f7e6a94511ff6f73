/**
 * The peer: prometheus-process-exporter (Debian package) over the same procfs root, with a config
 * that makes every process its own group (scaph reports every process too). It collects on scrape,
 * so the time of one GET /metrics is its sampling step.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../test/support/servers/free-port.js';
import { elapsedNs, median, nowNs } from '../stats.js';

export const PROCESS_EXPORTER_BIN = 'prometheus-process-exporter';

/** Every process its own group (named after its comm and pid), as scaph reports every process. */
export const PROCESS_EXPORTER_CONFIG = 'process_names:\n  - name: "{{.Comm}}-{{.PID}}"\n    cmdline:\n    - ".*"\n';
const READY_TIMEOUT_MS = 15_000;

export class ProcessExporterPeer {
  private constructor(
    private readonly child: ChildProcess,
    private readonly url: string,
  ) {}

  /** Starts the exporter on a free loopback port; a string says why it is skipped. */
  static async start(root: string, workDir: string): Promise<ProcessExporterPeer | string> {
    const configPath = join(workDir, 'process-exporter.yml');
    writeFileSync(configPath, PROCESS_EXPORTER_CONFIG);
    const port = await freePort();
    const child = spawn(
      PROCESS_EXPORTER_BIN,
      ['-procfs', root, '-config.path', configPath, '-web.listen-address', `127.0.0.1:${port}`,
        '-threads=false', '-gather-smaps=false'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < 4000) stderr += chunk.toString();
    });
    const spawnError = new Promise<string>((resolve) => {
      child.once('error', (err: NodeJS.ErrnoException) =>
        resolve(err.code === 'ENOENT' ? `skipped: ${PROCESS_EXPORTER_BIN} not installed` : `skipped: ${err.message}`),
      );
      child.once('exit', (code) => resolve(`skipped: ${PROCESS_EXPORTER_BIN} exited ${code}: ${stderr.trim().slice(0, 200)}`));
    });
    const peer = new ProcessExporterPeer(child, `http://127.0.0.1:${port}/metrics`);
    const ready = await Promise.race([peer.waitReady(), spawnError]);
    if (ready !== true) {
      peer.stop();
      return typeof ready === 'string' ? ready : `skipped: ${PROCESS_EXPORTER_BIN} did not answer in ${READY_TIMEOUT_MS} ms`;
    }
    return peer;
  }

  private async waitReady(): Promise<boolean> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      try {
        const res = await fetch(this.url.replace('/metrics', '/'));
        await res.arrayBuffer();
        if (res.ok) return true;
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    return false;
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** Throws when the exporter has exited. */
  check(): void {
    if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`${PROCESS_EXPORTER_BIN} exited ${this.child.exitCode ?? this.child.signalCode}`);
  }

  /**
   * One scrape as Prometheus makes it (Accept-Encoding: gzip), the body drained but not decompressed;
   * resolves with the bytes received.
   */
  scrapeGzipped(): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = get(this.url, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.on('end', () => (res.statusCode === 200 ? resolve(bytes) : reject(new Error(`${PROCESS_EXPORTER_BIN} answered ${res.statusCode}`))));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
  }

  /** One scrape; returns its body so the caller can check the peer saw every process. */
  async scrape(): Promise<string> {
    const res = await fetch(this.url);
    const body = await res.text();
    if (!res.ok) throw new Error(`${PROCESS_EXPORTER_BIN} answered ${res.status}`);
    return body;
  }

  /** Median ns of `scrapes` timed scrapes after `warmups` untimed ones, and the groups it reported. */
  async measure(warmups: number, scrapes: number): Promise<{ medianNs: number; groups: number }> {
    let body = '';
    for (let i = 0; i < warmups; i++) body = await this.scrape();
    const times: number[] = [];
    for (let i = 0; i < scrapes; i++) {
      const start = nowNs();
      body = await this.scrape();
      times.push(elapsedNs(start));
    }
    return { medianNs: median(times), groups: countGroups(body) };
  }

  stop(): void {
    if (this.child.exitCode === null && this.child.pid !== undefined) this.child.kill('SIGTERM');
  }
}

/** The groups (here: processes) a scrape body reports. */
export function countGroups(body: string): number {
  let count = 0;
  let at = body.indexOf('\nnamedprocess_namegroup_num_procs{');
  while (at >= 0) {
    count++;
    at = body.indexOf('\nnamedprocess_namegroup_num_procs{', at + 1);
  }
  return count;
}
