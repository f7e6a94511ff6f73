/**
 * The agent under soak: `scaph run -c` started as installed (bin.js's shebang flags), one spool per push
 * exporter that every run of the agent shares, and a json exporter, last, listing each sample taken:
 * listed there, a sample is already in every spool. Each run of the agent writes its own list, so a
 * SIGKILL and a restart (which truncates json output) lose none of them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../paths.js';
import { agentArgv } from '../steady/agent-command.js';
import { rssMbOf } from '../steady/agent-usage.js';
import type { SoakBackend } from './backends.js';

const AGENT_SCRIPT = join(REPO_ROOT, 'dist', 'src', 'bin.js');

export interface RssPoint {
  /** ms since the soak started. */
  readonly atMs: number;
  /** Which run of the agent (0, 1, 2: restarted after each SIGKILL). */
  readonly run: number;
  readonly rssMb: number;
}

export class SoakAgent {
  private child: ChildProcess | null = null;
  private runs = 0;
  readonly rss: RssPoint[] = [];
  private readonly sampledFiles: string[] = [];

  constructor(
    private readonly workDir: string,
    private readonly backends: readonly SoakBackend[],
    private readonly stepS: number,
    private readonly startedAt: number,
  ) {}

  get running(): boolean {
    return this.child !== null;
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Starts a run of the agent with its own sampled-list file. */
  start(): void {
    const run = this.runs++;
    const sampled = join(this.workDir, `sampled-${run}.json`);
    this.sampledFiles.push(sampled);
    const config = join(this.workDir, `scaph-${run}.toml`);
    // 0600: it holds the Warp 10 token (scaph warns about a secret others may read).
    writeFileSync(config, this.config(sampled), { mode: 0o600 });
    const log = createWriteStream(join(this.workDir, `agent-${run}.log`));
    const child = spawn(process.execPath, agentArgv(AGENT_SCRIPT, ['--no-header', 'run', '-c', config]), {
      stdio: ['ignore', 'ignore', 'pipe'],
      // JSON lines: logSummary() groups them by message.
      env: { ...process.env, SCAPH_LOG_LEVEL: 'warn', SCAPH_LOG_FORMAT: 'json' },
    });
    child.stderr?.pipe(log);
    child.once('exit', (code, signal) => {
      if (this.child === child) {
        this.child = null;
        process.stderr.write(`soak: agent run ${run} exited unexpectedly (code ${code}, signal ${signal})\n`);
      }
    });
    this.child = child;
  }

  /** SIGKILL: nothing flushed, nothing closed (the json list ends mid-array). */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** SIGTERM: the queues flush within their deadline; what is left stays in the spools. */
  async stop(): Promise<number | null> {
    const child = this.child;
    await this.signal('SIGTERM');
    return child?.exitCode ?? null;
  }

  probeRss(): void {
    const pid = this.pid;
    if (pid === null) return;
    try {
      this.rss.push({ atMs: Date.now() - this.startedAt, run: this.runs - 1, rssMb: rssMbOf(pid) });
    } catch {
      // Exited between the check and the read.
    }
  }

  /** Every sample any run of the agent took (ms). */
  sampled(): number[] {
    return this.sampledFiles.filter((f) => existsSync(f)).flatMap(readSampled);
  }

  /** Warnings and errors the agent logged, by message, over every run. */
  logSummary(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let run = 0; run < this.runs; run++) {
      const file = join(this.workDir, `agent-${run}.log`);
      if (!existsSync(file)) continue;
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        if (!line.startsWith('{')) continue;
        const msg = (JSON.parse(line) as { msg?: string }).msg ?? '?';
        out[msg] = (out[msg] ?? 0) + 1;
      }
    }
    return out;
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
  }

  private config(sampled: string): string {
    // Every exporter takes every sample (its own step is the sensor's, not its subcommand's default).
    const exporters = this.backends.map((b, i) => `[[exporter]]\n${b.exporterToml}\nspool_dir = "${join(this.workDir, `spool-${i}`)}"\nstep = ${this.stepS}\n`);
    return [`[sensor]\nkind = "estimate"\nstep = ${this.stepS}\n`, ...exporters, `[[exporter]]\ntype = "json"\nfile = "${sampled}"\nstep = ${this.stepS}\n`].join('\n');
  }
}

/** Host timestamps (ms) of a json exporter's output, closed or cut by a SIGKILL. */
function readSampled(file: string): number[] {
  let text = readFileSync(file, 'utf8').trim();
  if (text === '' || text === '[') return [];
  if (!text.endsWith(']')) text = `${text.slice(0, text.lastIndexOf('}') + 1)}\n]`;
  return (JSON.parse(text) as Array<{ host: { timestamp: number } }>).map((r) => Math.round(r.host.timestamp * 1000));
}
