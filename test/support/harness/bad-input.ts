/**
 * Shared by the bad-input suite (docs/development.md): temp dirs, assertions on how a run ended, a
 * remote-write receiver with scripted answers, and the "sampled vs arrived" bookkeeping.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import snappy from 'snappy';
import { afterAll, expect } from 'vitest';
import { decodeWriteRequest } from '../oracles/remote-write.js';
import { startScaph, type ScaphRun, type ScaphRunOptions } from '../fixtures/run-scaph.js';
import { RestartableHttpServer } from '../servers/restartable-http.js';

export const HOST_SERIES = 'scaph_host_power_microwatts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fresh temp directory, removed after the file's tests. */
export function tempDir(prefix = 'scaph-bad-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/**
 * The run ended by itself (no hang) with `code`, and its stderr ends with one `scaph: …` line matching
 * every pattern, without a stack trace.
 */
export function expectFailure(r: ScaphRun, code: number, ...patterns: RegExp[]): void {
  expect(r.timedOut, `hung:\n${r.stderr}`).toBe(false);
  expect(r.code, r.stderr).toBe(code);
  const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('scaph: ') || l.startsWith('error: '));
  expect(lines.length, r.stderr).toBeGreaterThanOrEqual(1);
  const message = lines.join('\n');
  for (const p of patterns) expect(message).toMatch(p);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stderr).not.toMatch(/unexpected error/);
}

/** Ended by itself with exit 0, no stack trace. */
export function expectClean(r: ScaphRun): void {
  expect(r.timedOut, `hung:\n${r.stderr}`).toBe(false);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

/** pino lines of a run's stderr. */
export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

/** A line of the text log format (the default): its level word first. */
const TEXT_LOG_LINE = /^(<\d>)?(TRACE|DEBUG|INFO |WARN |ERROR|FATAL) /m;

/**
 * The log lines of a run started with `--log-format json` (JSON_LOGS), whose fields a test reads. A run
 * logging text would give no line and let an assertion of "no such line" pass for nothing: refused.
 */
export function logLines(stderr: string): LogLine[] {
  if (TEXT_LOG_LINE.test(stderr)) throw new Error(`logLines() reads JSON log lines: start the run with JSON_LOGS (--log-format json). stderr:\n${stderr}`);
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

/** Global flags that make a run log JSON lines, for tests that read the lines' fields (logLines, saying). */
export const JSON_LOGS = ['--log-format', 'json'] as const;

/** The log lines of a run whose message matches. */
export function saying(stderr: string, pattern: RegExp): LogLine[] {
  return logLines(stderr).filter((l) => pattern.test(l.msg));
}

/** Host timestamps (ms) of the reports in a json exporter's file, even when the run was killed mid-array. */
export function jsonReportTimes(file: string): number[] {
  let text = readFileSync(file, 'utf8').trim();
  if (!text.endsWith(']')) text = `${text.replace(/,$/, '')}\n]`;
  const reports = JSON.parse(text) as Array<{ host: { timestamp: number } }>;
  return reports.map((r) => Math.round(r.host.timestamp * 1000));
}

/** Host power values of a json exporter's output (µW), in order. */
export function jsonHostPowers(text: string): Array<{ consumption: number; value_source: string }> {
  return (JSON.parse(text) as Array<{ host: { consumption: number; value_source: string } }>).map((r) => r.host);
}

/** What of `sampled` did not arrive. */
export function missing(sampled: readonly number[], arrived: ReadonlySet<number>): number[] {
  return sampled.filter((t) => !arrived.has(t));
}

export interface ScriptedAnswer {
  readonly status: number;
  /** Response headers, or made when the request is answered (a date a few seconds ahead of that moment). */
  readonly headers?: Readonly<Record<string, string>> | ((nowMs: number) => Readonly<Record<string, string>>);
  readonly body?: string;
  /** Never answer (the connection stays open until the client gives up). */
  readonly hang?: boolean;
  /** Reset the connection instead of answering. */
  readonly reset?: boolean;
}

/**
 * A remote-write receiver on 127.0.0.1: decodes every request (snappy + protobuf) and keeps the host
 * power timestamps of the requests it answered 2xx; each request takes the next scripted answer, then
 * `fallback` (204).
 */
export class RemoteWriteReceiver {
  readonly script: ScriptedAnswer[] = [];
  fallback: ScriptedAnswer = { status: 204 };
  /** Host power samples stored (answered 2xx), by timestamp ms. */
  readonly stored = new Map<number, number>();
  /** The timestamps (ms) of every host power sample stored, in arrival order: one sent twice is there twice. */
  readonly hostPoints: number[] = [];
  /** Latest value of every self-metric series stored, by `name{k="v",…}` (labels sorted, job/instance left out). */
  readonly selfMetrics = new Map<string, number>();
  readonly requests: Array<{ readonly status: number; readonly headers: IncomingHttpHeaders; readonly atMs: number }> = [];
  private readonly http = new RestartableHttpServer((req, res, body) => {
    const answer = this.script.shift() ?? this.fallback;
    this.requests.push({ status: answer.status, headers: req.headers, atMs: Date.now() });
    if (answer.hang) return;
    if (answer.reset) {
      req.socket.destroy();
      return;
    }
    if (answer.status >= 200 && answer.status < 300) this.store(body);
    const headers = typeof answer.headers === 'function' ? answer.headers(Date.now()) : answer.headers;
    res.writeHead(answer.status, { 'content-type': 'text/plain', ...(headers ?? {}) }).end(answer.body ?? '');
  });

  static async start(port = 0): Promise<RemoteWriteReceiver> {
    const r = new RemoteWriteReceiver();
    await r.http.listen(port);
    return r;
  }

  get port(): number {
    return this.http.port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.http.port}/api/v1/write`;
  }

  async stop(): Promise<void> {
    await this.http.stop();
  }

  async restart(): Promise<void> {
    await this.http.restart();
  }

  private store(body: Buffer): void {
    const request = decodeWriteRequest(snappy.uncompressSync(body) as Buffer);
    for (const series of request.timeseries) {
      const name = series.labels.find((l) => l.name === '__name__')?.value ?? '';
      if (name === HOST_SERIES) {
        for (const s of series.samples) {
          this.stored.set(Number(s.timestamp), s.value);
          this.hostPoints.push(Number(s.timestamp));
        }
      }
      if (name.startsWith('scaph_delivery_')) {
        const labels = series.labels
          .filter((l) => l.name !== '__name__' && l.name !== 'job' && l.name !== 'instance')
          .map((l) => `${l.name}="${l.value}"`)
          .sort()
          .join(',');
        const last = series.samples[series.samples.length - 1];
        if (last) this.selfMetrics.set(`${name}{${labels}}`, last.value);
      }
    }
  }
}

/** `Mon Dec  7 06:36:02 2026`: RFC 9110's asctime-date, which is GMT although it names no zone. */
export function asctimeDate(ms: number): string {
  const d = new Date(ms);
  const [day, month] = [d.toUTCString().slice(0, 3), d.toUTCString().slice(8, 11)];
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${day} ${month} ${String(d.getUTCDate()).padStart(2, ' ')} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

/** Polls `condition` every 50 ms until it holds (a throw counts as not yet), or throws naming `what` after `timeoutMs`. */
export async function eventually(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  const holds = (): boolean => {
    try {
      return condition();
    } catch {
      return false;
    }
  };
  while (!holds()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A `scaph run` config: [sensor] estimate at `step`, the push exporter given as TOML lines, then a json
 * exporter (last, so a sample listed there is already in every spool) listing each sample taken; both
 * exporters take every sample (their own step is `step` too, not their subcommand's default).
 */
export function runConfig(dir: string, exporterToml: string, step = '250ms'): { readonly config: string; readonly sampled: string } {
  const id = Math.random().toString(36).slice(2);
  const sampled = join(dir, `sampled-${id}.json`);
  const config = join(dir, `scaph-${id}.toml`);
  // The exporter takes every sample unless its lines give a step of their own.
  const exporterStep = /^step\s*=/m.test(exporterToml) ? '' : `step = "${step}"\n`;
  writeFileSync(config, `[sensor]\nkind = "estimate"\nstep = "${step}"\n[[exporter]]\n${exporterToml}\n${exporterStep}[[exporter]]\ntype = "json"\nfile = "${sampled}"\nstep = "${step}"\n`);
  return { config, sampled };
}

/** Timestamps (ms) of the host power events a Riemann test server stored. */
export function riemannHostTimes(events: ReadonlyArray<{ service?: string; timeMicros?: number }>): Set<number> {
  const out = new Set<number>();
  for (const e of events) if (e.service === HOST_SERIES && e.timeMicros !== undefined) out.add(Math.round(e.timeMicros / 1000));
  return out;
}

/** What a `scaph run` did around a reload its config made it refuse. */
export interface RefusedReload {
  readonly run: ScaphRun;
  /** The error lines saying a reload was refused. */
  readonly refused: LogLine[];
  /** The agent was still running after the SIGHUP (no exit, no restart needed). */
  readonly aliveAfter: boolean;
  readonly sampled: number[];
  /** Samples taken after the SIGHUP, by the config that kept running. */
  readonly sampledAfter: number;
  /** What of the sampled steps did not reach the receiver. */
  readonly missing: number[];
}

/**
 * `scaph run` pushing to a remote-write receiver (a json exporter listing every sample taken), whose
 * config `breakIt` spoils while it runs (given the config path and its directory), then SIGHUP: resolves
 * once the agent said why it refuses and took 4 more samples, and was stopped (SIGTERM).
 */
export async function refusedReload(breakIt: (config: string, dir: string) => void, options: { readonly dir?: string } & Pick<ScaphRunOptions, 'as'> = {}): Promise<RefusedReload> {
  const dir = options.dir ?? tempDir('scaph-reload-');
  const receiver = await RemoteWriteReceiver.start();
  const { config, sampled } = runConfig(dir, `type = "remote-write"\nurl = "${receiver.url}"`);
  const agent = startScaph(['--no-header', ...JSON_LOGS, 'run', '-c', config], { timeoutMs: 60_000, ...(options.as ? { as: options.as } : {}) });
  try {
    await eventually(() => jsonReportTimes(sampled).length >= 4, 15_000, 'samples before the reload');
    breakIt(config, dir);
    const before = jsonReportTimes(sampled).length;
    agent.child.kill('SIGHUP');
    await eventually(() => saying(agent.stderr, /config not reloaded/).length >= 1, 15_000, 'the line refusing the reload');
    await eventually(() => jsonReportTimes(sampled).length >= before + 4, 15_000, 'samples after the reload');
    const aliveAfter = agent.child.exitCode === null && agent.child.signalCode === null;
    await sleep(500);
    const run = await agent.stop();
    const taken = jsonReportTimes(sampled);
    return {
      run,
      refused: saying(run.stderr, /config not reloaded/),
      aliveAfter,
      sampled: taken,
      sampledAfter: taken.length - before,
      missing: missing(taken, new Set(receiver.stored.keys())),
    };
  } finally {
    await agent.stop('SIGKILL');
    await receiver.stop();
  }
}
