/**
 * The peer of the steady section: what a user would run instead of scaph to push per-process figures by
 * remote-write. Prometheus in agent mode (no TSDB, no queries: scrape and remote-write only) scraping
 * prometheus-node-exporter (rapl and cpu collectors only, on the synthetic powercap and procfs trees) and
 * prometheus-process-exporter (one group per process, on the synthetic procfs tree), remote-writing to a
 * VictoriaMetrics. Every program is the Debian package, with its defaults except where said below, on a
 * free 127.0.0.1 port.
 *
 * - node_exporter: `--collector.disable-defaults --collector.rapl --collector.cpu`, `--path.sysfs` on the
 *   powercap tree's root (it reads class/powercap/intel-rapl:N/{name,energy_uj,max_energy_range_uj}) and
 *   `--path.procfs` on the procfs tree (the cpu collector reads <procfs>/stat).
 * - process-exporter: `-procfs` on the tree, whose processes carry the files it reads besides stat
 *   (bench/sampling/peer-tree.ts), and a config naming each group `{{.Comm}}-{{.PID}}`.
 * - prometheus: `--enable-feature=agent`, scrape_interval = scrape_timeout = the step, one remote_write.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { onPath } from '../../test/support/servers/managed-server.js';
import { freePort } from '../../test/support/servers/free-port.js';
import { PROCESS_EXPORTER_BIN, PROCESS_EXPORTER_CONFIG } from '../sampling/process-exporter.js';
import { WatchedChild } from './child.js';

export const NODE_EXPORTER_BIN = 'prometheus-node-exporter';
export const PROMETHEUS_BIN = 'prometheus';
/** The job labels Prometheus gives the two scrape targets' series. */
export const STACK_JOBS = ['node', 'process'] as const;

const READY_TIMEOUT_MS = 30_000;

export interface PeerStackPlan {
  readonly procfsRoot: string;
  /** The directory that plays /sys: it holds class/powercap. */
  readonly sysfsRoot: string;
  readonly remoteWriteUrl: string;
  readonly stepMs: number;
  /** Where the configs and the agent's WAL go. */
  readonly workDir: string;
}

/** Why the stack cannot run here (a binary missing), or null. */
export function peerStackMissing(): string | null {
  const missing = [PROMETHEUS_BIN, NODE_EXPORTER_BIN, PROCESS_EXPORTER_BIN].filter((b) => onPath(b) === null);
  return missing.length === 0 ? null : `skipped: not on PATH: ${missing.join(', ')} (Debian packages: prometheus, prometheus-node-exporter, prometheus-process-exporter)`;
}

export class PeerStack {
  private constructor(readonly programs: readonly WatchedChild[]) {}

  /** Starts the two exporters, waits until they answer, then the agent, and waits until it is ready. */
  static async start(plan: PeerStackPlan): Promise<PeerStack> {
    const [nodePort, processPort, promPort] = [await freePort(), await freePort(), await freePort()];
    const processConfig = join(plan.workDir, 'process-exporter.yml');
    writeFileSync(processConfig, PROCESS_EXPORTER_CONFIG);
    const programs: WatchedChild[] = [];
    try {
      programs.push(
        WatchedChild.start('node_exporter', NODE_EXPORTER_BIN, [
          '--collector.disable-defaults', '--collector.rapl', '--collector.cpu',
          `--path.sysfs=${plan.sysfsRoot}`, `--path.procfs=${plan.procfsRoot}`,
          `--web.listen-address=127.0.0.1:${nodePort}`, '--log.level=warn',
        ]),
        WatchedChild.start('process-exporter', PROCESS_EXPORTER_BIN, [
          '-procfs', plan.procfsRoot, '-config.path', processConfig, '-web.listen-address', `127.0.0.1:${processPort}`,
        ]),
      );
      await Promise.all([
        waitAnswering(programs[0] as WatchedChild, `http://127.0.0.1:${nodePort}/metrics`),
        waitAnswering(programs[1] as WatchedChild, `http://127.0.0.1:${processPort}/`),
      ]);
      const promConfig = join(plan.workDir, 'prometheus.yml');
      writeFileSync(promConfig, prometheusConfig(plan, nodePort, processPort));
      const walDir = join(plan.workDir, 'agent-wal');
      mkdirSync(walDir, { recursive: true });
      const prometheus = WatchedChild.start('prometheus (agent)', PROMETHEUS_BIN, [
        '--enable-feature=agent', `--config.file=${promConfig}`, `--storage.agent.path=${walDir}`,
        `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn',
      ]);
      programs.unshift(prometheus);
      await waitAnswering(prometheus, `http://127.0.0.1:${promPort}/-/ready`);
      return new PeerStack(programs);
    } catch (err) {
      await Promise.all(programs.map((p) => p.stop()));
      throw err;
    }
  }

  /** Throws when one of the programs has exited. */
  check(): void {
    for (const p of this.programs) p.check();
  }

  /** Stops the agent first (it flushes its remote-write queue on SIGTERM), then the exporters. */
  async stop(): Promise<void> {
    const [agent, ...exporters] = this.programs;
    await agent?.stop();
    await Promise.all(exporters.map((p) => p.stop()));
  }
}

function prometheusConfig(plan: PeerStackPlan, nodePort: number, processPort: number): string {
  const interval = `${plan.stepMs}ms`;
  return [
    'global:',
    `  scrape_interval: ${interval}`,
    `  scrape_timeout: ${interval}`,
    'scrape_configs:',
    `  - job_name: ${STACK_JOBS[0]}`,
    '    static_configs:',
    `      - targets: ["127.0.0.1:${nodePort}"]`,
    `  - job_name: ${STACK_JOBS[1]}`,
    '    static_configs:',
    `      - targets: ["127.0.0.1:${processPort}"]`,
    'remote_write:',
    `  - url: "${plan.remoteWriteUrl}"`,
    '',
  ].join('\n');
}

async function waitAnswering(program: WatchedChild, url: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = '';
  while (Date.now() < deadline) {
    program.check();
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(100);
  }
  throw new Error(`${program.what} did not answer ${url} within ${READY_TIMEOUT_MS} ms (last: ${last}): ${program.stderr()}`);
}
